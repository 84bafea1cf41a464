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

// The rules for names and notes live in `portcullis_contract::text`, where
// the APIs' schemas take their patterns from; the console words their
// faults for a form here.
pub use portcullis_contract::text::{
    check_line, check_note, check_text, line_schema, note_schema, text_schema, TextFault,
};

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

    #[test]
    fn account_names() {
        assert_eq!(account_name("  Acme Lending ").unwrap(), "Acme Lending");
        assert!(account_name("   ").is_err());
        assert!(account_name(&"x".repeat(81)).is_err());
        assert!(account_name("a\u{0007}b").is_err());
    }
}
