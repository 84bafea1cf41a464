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

/// A one-line name: trimmed, 1 to `max` characters, no control characters.
pub fn name(field: Field, raw: &str, max: usize, what: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid(field, format!("Enter {what}.")));
    }
    if name.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("Use at most {max} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "Use a single line without control characters.",
        ));
    }
    Ok(name.to_owned())
}

/// Free text: trimmed, at most `max` characters, line breaks allowed.
pub fn description(field: Field, raw: &str, max: usize) -> Result<String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("Use at most {max} characters."),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::invalid(field, "Remove the control characters."));
    }
    Ok(text.to_owned())
}

/// A whole number within `range`, as typed in a form.
pub fn number_in(
    field: Field,
    raw: &str,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "Enter a whole number of {unit} from {} to {}.",
                    range.start(),
                    range.end()
                ),
            )
        })
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
