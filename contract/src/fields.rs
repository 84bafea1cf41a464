//! The rules a request's fields must keep, each stated once: the OpenAPI
//! schema of a field and the server's check of it come from the same
//! definition here, so the document never allows what the server refuses,
//! nor the reverse. A check's refusal is an [`Invalid`] worded for an
//! API's caller.
//!
//! Patterns use only `\xHH` escapes and ASCII classes, which every regex
//! dialect a client's tooling may use (ECMA-262, Python, Rust) reads alike.

use crate::Invalid;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// An identifier the caller chooses (user and account ids).
pub const IDENT_PATTERN: &str = r"^[A-Za-z0-9._:-]{1,64}$";
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
pub const CURRENCY_PATTERN: &str = r"^[A-Z]{3}$";

type Result<T> = std::result::Result<T, Invalid>;

// Names, notes and lines follow the rules of `crate::text` (the console's
// too); these word its faults for an API's caller.
use crate::text::TextFault;
pub use crate::text::{line_schema, note_schema, text_schema};

fn fault(field: &'static str, max: usize, f: TextFault) -> Invalid {
    Invalid::new(
        field,
        match f {
            TextFault::Blank => format!("{field} must not be blank"),
            TextFault::TooLong => format!("{field} must be at most {max} characters"),
            TextFault::Controls => format!("{field} must not hold control characters"),
        },
    )
}

pub fn check_text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    crate::text::check_text(raw, max)
        .map(str::to_owned)
        .map_err(|f| fault(field, max, f))
}

pub fn check_note(field: &'static str, raw: &str, max: usize) -> Result<String> {
    crate::text::check_note(raw, max)
        .map(str::to_owned)
        .map_err(|f| fault(field, max, f))
}

pub fn check_line(field: &'static str, raw: &str, max: usize) -> Result<String> {
    crate::text::check_line(raw, max)
        .map(str::to_owned)
        .map_err(|f| fault(field, max, f))
}

/// A rule as a schemars field schema, for `#[schemars(schema_with = …)]`:
/// the derived schemas take each field's rule from here.
fn field(v: Value) -> schemars::Schema {
    schemars::Schema::try_from(v).unwrap_or_default()
}

/// `text_schema(MAX)` for a derived schema.
pub fn text<const MAX: usize>(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    field(text_schema(MAX))
}

/// `note_schema(MAX)` for a derived schema.
pub fn note<const MAX: usize>(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    field(note_schema(MAX))
}

/// `line_schema(MAX)` for a derived schema.
pub fn line<const MAX: usize>(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    field(line_schema(MAX))
}

/// `date_schema()` for a derived schema.
pub fn date(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    field(date_schema())
}

/// `ident_schema()` for a derived schema.
pub fn ident(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    field(ident_schema())
}

/// `currency_schema()` for a derived schema.
pub fn currency(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    field(currency_schema())
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
        Err(Invalid::new(
            field,
            format!("{field} must be 1 to 64 letters, digits, '-', '_', '.' or ':'"),
        ))
    }
}

pub fn date_schema() -> Value {
    json!({ "type": "string", "format": "date", "pattern": DATE_PATTERN })
}

/// A real calendar date as `YYYY-MM-DD` (RFC 3339 full-date).
pub fn check_date(field: &'static str, raw: &str) -> Result<portcullis_calendar::Date> {
    portcullis_calendar::parse_date(raw)
        .ok_or_else(|| Invalid::new(field, format!("{field} must be a real date as YYYY-MM-DD")))
}

pub fn currency_schema() -> Value {
    json!({ "type": "string", "pattern": CURRENCY_PATTERN })
}

pub fn check_currency(field: &'static str, raw: &str) -> Result<String> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(Invalid::new(
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
            Err(Invalid::new(
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

/// An optional whole-number field: absent is fine, `null` is not (the
/// schema says integer). With `#[serde(default, deserialize_with = …)]`.
pub fn some_whole<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    whole(d).map(Some)
}

/// An optional field of any type: absent is fine, `null` is not.
pub fn some_value<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// An optional string field: absent is fine, `null` is not (the schema
/// says string).
pub fn some_string<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identifier check agrees with its pattern (names and notes: see
    /// `crate::text`).
    #[test]
    fn checks_agree_with_patterns() {
        let ident = regex::Regex::new(IDENT_PATTERN).unwrap();
        let longest = "x".repeat(64);
        let too_long = "x".repeat(65);
        for s in [
            "",
            "a b",
            "user-1",
            "\u{0}",
            "é",
            "a.b:c-d_e",
            &longest,
            &too_long,
        ] {
            assert_eq!(check_ident("f", s).is_ok(), ident.is_match(s), "{s:?}");
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
