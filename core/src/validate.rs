//! Normalising and checking what people type into forms.

use crate::error::{Error, Field, Result};

pub const EMAIL_MAX: usize = 254;
pub const ACCOUNT_NAME_MAX: usize = 80;

/// Trims and case-folds an email, then checks it has the shape
/// `local@domain.tld`. Deliverability is not our business here.
pub fn email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let bad = || Error::invalid("email", "Enter an email address like name@example.com.");
    if email.is_empty() || email.len() > EMAIL_MAX {
        return Err(bad());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.contains('@') {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Err(bad());
    }
    Ok(email)
}

/// An account (organisation) name: trimmed, 1 to 80 characters, no control
/// characters.
pub fn account_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid(
            "account_name",
            "Enter your organisation's name.",
        ));
    }
    if name.chars().count() > ACCOUNT_NAME_MAX {
        return Err(Error::invalid(
            "account_name",
            format!("Use at most {ACCOUNT_NAME_MAX} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "account_name",
            "The name cannot contain control characters.",
        ));
    }
    Ok(name.to_owned())
}

// The rules for names and notes, stated once: the management API's and the
// reference APIs' schemas carry these patterns, the console and every API
// check with the functions below, and a unit test holds the two together.
// Patterns use only `\xHH`/`\uHHHH` escapes and ASCII ranges, which every
// regex dialect a client's tooling may use (ECMA-262, Python, Rust) reads
// alike. Lengths count code points, spaces included, as JSON Schema does.

/// Unicode `White_Space` outside the control range (`char::is_whitespace`).
const SPACES: &str = r"\x20\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A name: one line without control characters (Unicode Cc), with some
/// character that is not white space.
pub fn text_pattern() -> String {
    format!(r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x1F\x7F-\x9F{SPACES}][^\x00-\x1F\x7F-\x9F]*$")
}

/// A note: any text but control characters other than tab and line breaks.
pub const NOTE_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";

/// One line, possibly empty: no control characters.
pub const LINE_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";

/// A name of 1 to `max` characters; kept without the white space around it.
pub fn text_schema(max: usize) -> serde_json::Value {
    serde_json::json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": text_pattern() })
}

/// A note of at most `max` characters; kept without the white space around it.
pub fn note_schema(max: usize) -> serde_json::Value {
    serde_json::json!({ "type": "string", "maxLength": max, "pattern": NOTE_PATTERN })
}

/// One line of at most `max` characters, possibly empty.
pub fn line_schema(max: usize) -> serde_json::Value {
    serde_json::json!({ "type": "string", "maxLength": max, "pattern": LINE_PATTERN })
}

/// Why a name or note breaks its rule; each audience words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFault {
    /// Empty, or only white space.
    Blank,
    TooLong,
    /// Control characters (for notes: other than tab and line breaks).
    Controls,
}

/// The rule of `text_pattern` and `text_schema(max)`; returns the name
/// trimmed.
pub fn check_text(raw: &str, max: usize) -> std::result::Result<&str, TextFault> {
    if raw.chars().count() > max {
        return Err(TextFault::TooLong);
    }
    if raw.chars().any(char::is_control) {
        return Err(TextFault::Controls);
    }
    match raw.trim() {
        "" => Err(TextFault::Blank),
        kept => Ok(kept),
    }
}

/// The rule of `NOTE_PATTERN` and `note_schema(max)`; returns it trimmed.
pub fn check_note(raw: &str, max: usize) -> std::result::Result<&str, TextFault> {
    if raw.chars().count() > max {
        return Err(TextFault::TooLong);
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(TextFault::Controls);
    }
    Ok(raw.trim())
}

/// The rule of `LINE_PATTERN` and `line_schema(max)`; returns it trimmed.
pub fn check_line(raw: &str, max: usize) -> std::result::Result<&str, TextFault> {
    if raw.chars().count() > max {
        return Err(TextFault::TooLong);
    }
    if raw.chars().any(char::is_control) {
        return Err(TextFault::Controls);
    }
    Ok(raw.trim())
}

/// A one-line name of 1 to `max` characters (`text_schema`), for forms.
pub fn name(field: Field, raw: &str, max: usize, what: &str) -> Result<String> {
    check_text(raw, max).map(str::to_owned).map_err(|fault| {
        Error::invalid(
            field,
            match fault {
                TextFault::Blank => format!("Enter {what}."),
                TextFault::TooLong => format!("Use at most {max} characters."),
                TextFault::Controls => "Use a single line without control characters.".into(),
            },
        )
    })
}

/// Free text of at most `max` characters, line breaks allowed
/// (`note_schema`), for forms.
pub fn description(field: Field, raw: &str, max: usize) -> Result<String> {
    check_note(raw, max).map(str::to_owned).map_err(|fault| {
        Error::invalid(
            field,
            match fault {
                TextFault::TooLong => format!("Use at most {max} characters."),
                _ => "Remove the control characters.".into(),
            },
        )
    })
}

/// A member's role as a form names it.
pub fn role(field: Field, raw: &str) -> Result<crate::model::Role> {
    crate::model::Role::parse(raw.trim())
        .ok_or_else(|| Error::invalid(field, "Choose owner, developer or viewer."))
}

/// A whole number within `range`, as typed in a form.
pub fn number_in(
    field: Field,
    raw: &str,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<i64> {
    let n = raw
        .trim()
        .parse::<i64>()
        .map_err(|_| out_of_range(field, &range, unit))?;
    in_range(field, n, range, unit)
}

/// [`number_in`] for a form field that may be left empty (`None`).
pub fn optional_number_in(
    field: Field,
    raw: &str,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<Option<i64>> {
    match raw.trim() {
        "" => Ok(None),
        typed => number_in(field, typed, range, unit).map(Some),
    }
}

/// `n` if it is in `range`; else the same words as [`number_in`], so a
/// number typed in a form and one sent as JSON are refused alike.
pub fn in_range(
    field: Field,
    n: i64,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<i64> {
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(out_of_range(field, &range, unit))
    }
}

fn out_of_range(field: Field, range: &std::ops::RangeInclusive<i64>, unit: &str) -> Error {
    Error::invalid(
        field,
        format!(
            "Enter a whole number of {unit} from {} to {}.",
            range.start(),
            range.end()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_case_folded() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "ada@example..com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    /// The checks agree with the patterns on the strings where dialects and
    /// trimming most often differ.
    #[test]
    fn checks_agree_with_patterns() {
        let text = regex::Regex::new(&text_pattern()).unwrap();
        let note = regex::Regex::new(NOTE_PATTERN).unwrap();
        let line = regex::Regex::new(LINE_PATTERN).unwrap();
        for s in [
            "",
            " ",
            "a",
            " a ",
            "a\u{0}",
            "\u{85}",
            "\u{a0}",
            "\u{3000}",
            " \u{2003} ",
            "é",
            "tab\t",
            "x\ny",
            "\u{feff}",
            "\u{200b}",
            "a\u{9f}",
            "é\r\n",
            "\u{1680}x",
        ] {
            assert_eq!(check_text(s, 10).is_ok(), text.is_match(s), "{s:?}");
            assert_eq!(check_note(s, 10).is_ok(), note.is_match(s), "{s:?}");
            assert_eq!(check_line(s, 10).is_ok(), line.is_match(s), "{s:?}");
        }
        assert_eq!(check_text(" ab ", 4), Ok("ab"));
        assert_eq!(check_text(" ab ", 3), Err(TextFault::TooLong));
    }

    #[test]
    fn account_names() {
        assert_eq!(account_name("  Acme Lending ").unwrap(), "Acme Lending");
        assert!(account_name("   ").is_err());
        assert!(account_name(&"x".repeat(81)).is_err());
        assert!(account_name("a\u{0007}b").is_err());
    }
}
