//! The rules a request must keep, each stated once: the OpenAPI schema of a
//! field and the server's check of it come from the same definition here,
//! so the document never allows what the server refuses, nor the reverse.
//!
//! Patterns use only `\xHH` escapes and ASCII classes, which every regex
//! dialect a client's tooling may use (ECMA-262, Python, Rust) reads alike.

use portcullis_core::{Error, Result};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// No control characters (Unicode Cc: U+0000-U+001F, U+007F-U+009F).
const NO_CONTROLS: &str = r"[^\x00-\x1F\x7F-\x9F]";
/// A name: one line, not blank (some character other than a space).
pub const TEXT_PATTERN: &str =
    r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
/// A note: any text but control characters other than tab and line breaks.
pub const NOTE_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
/// An identifier the caller chooses (user and account ids).
pub const IDENT_PATTERN: &str = r"^[A-Za-z0-9._:-]{1,64}$";
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
pub const CURRENCY_PATTERN: &str = r"^[A-Z]{3}$";

/// A name of 1 to `max` characters (counted as the schema counts: code
/// points, spaces included), one line, not blank. Kept without the spaces
/// around it.
pub fn text_schema(max: u64) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": TEXT_PATTERN })
}

pub fn check_text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let chars = raw.chars().count();
    if chars == 0 || chars > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{field} must be one line without control characters"),
        ));
    }
    let kept = raw.trim_matches(' ');
    if kept.is_empty() {
        return Err(Error::invalid(field, format!("{field} must not be blank")));
    }
    Ok(kept.to_owned())
}

pub fn note_schema(max: u64) -> Value {
    json!({ "type": "string", "maxLength": max, "pattern": NOTE_PATTERN })
}

pub fn check_note(field: &'static str, raw: &str, max: usize) -> Result<String> {
    if raw.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Error::invalid(
            field,
            format!("{field} must not hold control characters other than tabs and line breaks"),
        ));
    }
    Ok(raw.trim().to_owned())
}

pub fn ident_schema() -> Value {
    json!({ "type": "string", "pattern": IDENT_PATTERN })
}

pub fn check_ident(field: &'static str, raw: &str) -> Result<String> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(Error::invalid(
            field,
            format!("{field} must be 1 to 64 letters, digits, '-', '_', '.' or ':'"),
        ))
    }
}

pub fn date_schema() -> Value {
    json!({ "type": "string", "format": "date", "pattern": DATE_PATTERN })
}

/// A real calendar date as `YYYY-MM-DD` (RFC 3339 full-date).
pub fn check_date(field: &'static str, raw: &str) -> Result<(i64, u32, u32)> {
    portcullis_core::calendar::parse_date(raw)
        .filter(|_| raw.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .ok_or_else(|| Error::invalid(field, format!("{field} must be a real date as YYYY-MM-DD")))
}

pub fn currency_schema() -> Value {
    json!({ "type": "string", "pattern": CURRENCY_PATTERN })
}

pub fn check_currency(field: &'static str, raw: &str) -> Result<String> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(Error::invalid(
            field,
            format!("{field} must be a three-letter ISO 4217 code in capitals"),
        ))
    }
}

/// An integer field's bounds, for the schema and the check.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub min: i64,
    pub max: i64,
}

impl Range {
    pub fn schema(self) -> Value {
        json!({ "type": "integer", "minimum": self.min, "maximum": self.max })
    }

    pub fn check(self, field: &'static str, v: i64) -> Result<i64> {
        if (self.min..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(Error::invalid(
                field,
                format!("{field} must be from {} to {}", self.min, self.max),
            ))
        }
    }
}

/// An integer as JSON Schema means it: any number with no fractional part,
/// `3.0` included (serde alone refuses that one).
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        // Past 2^63 nothing fits; every field's own bounds are far inside.
        Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!(
            "{n} is not a whole number in range"
        ))),
    }
}

/// An optional string field: absent is fine, `null` is not (the schema
/// says string).
pub fn some_string<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// One line of at most `max` characters, possibly empty.
pub fn line_schema(max: u64) -> Value {
    json!({ "type": "string", "maxLength": max, "pattern": format!("^{NO_CONTROLS}*$") })
}

pub fn check_line(field: &'static str, raw: &str, max: usize) -> Result<String> {
    if raw.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{field} must be one line without control characters"),
        ));
    }
    Ok(raw.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's checks agree with the schema's patterns on the strings
    /// where dialects and trimming most often differ.
    #[test]
    fn checks_agree_with_patterns() {
        let text = regex::Regex::new(TEXT_PATTERN).unwrap();
        let ident = regex::Regex::new(IDENT_PATTERN).unwrap();
        for s in [
            "", " ", "a", " a ", "a\u{0}", "\u{85}", "\u{a0}", "é", "tab\t", "x\ny", "\u{feff}",
        ] {
            assert_eq!(check_text("f", s, 10).is_ok(), text.is_match(s), "{s:?}");
            assert_eq!(check_ident("f", s).is_ok(), ident.is_match(s), "{s:?}");
        }
        let note = regex::Regex::new(NOTE_PATTERN).unwrap();
        for s in ["", "a\nb", "a\tb", "a\u{0}", "\u{9f}", "é\r\n"] {
            assert_eq!(check_note("f", s, 10).is_ok(), note.is_match(s), "{s:?}");
        }
    }

    #[test]
    fn whole_numbers_as_json_schema_counts_them() {
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "whole")]
            n: i64,
        }
        let n = |s: &str| serde_json::from_str::<T>(s).map(|t| t.n).ok();
        assert_eq!(n(r#"{"n": 3}"#), Some(3));
        assert_eq!(n(r#"{"n": 3.0}"#), Some(3));
        assert_eq!(n(r#"{"n": -1e3}"#), Some(-1000));
        assert_eq!(n(r#"{"n": 3.5}"#), None);
        assert_eq!(n(r#"{"n": 1e30}"#), None);
        assert_eq!(n(r#"{"n": "3"}"#), None);
    }
}
