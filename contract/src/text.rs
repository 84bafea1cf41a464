//! The rules for names, notes and single lines, stated once: the management
//! API's and the reference APIs' schemas carry these patterns, the console
//! and every API check with the functions below, and a unit test holds the
//! two together. Each audience words a [`TextFault`] its own way.
//!
//! Patterns use only `\xHH`/`\uHHHH` escapes and ASCII ranges, which every
//! regex dialect a client's tooling may use (ECMA-262, Python, Rust) reads
//! alike. Lengths count code points, spaces included, as JSON Schema does.

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
pub fn check_text(raw: &str, max: usize) -> Result<&str, TextFault> {
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
pub fn check_note(raw: &str, max: usize) -> Result<&str, TextFault> {
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
pub fn check_line(raw: &str, max: usize) -> Result<&str, TextFault> {
    if raw.chars().count() > max {
        return Err(TextFault::TooLong);
    }
    if raw.chars().any(char::is_control) {
        return Err(TextFault::Controls);
    }
    Ok(raw.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
