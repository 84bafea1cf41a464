//! Wrappers for values that must never reach a log line or an error message.

use std::fmt;

/// A human password in clear, alive only between the request and the hasher.
/// `Debug` prints only the type name, so `?password` in a span is harmless.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(clear: impl Into<String>) -> Self {
        Self(clear.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::new("correct horse battery staple");
        assert_eq!(format!("{p:?}"), "Password(..)");
    }
}
