//! Random identifiers. Ids are prefixed so a stray one in a log or a support
//! ticket says what it names.

use argon2::password_hash::rand_core::{OsRng, RngCore};

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A 128-bit random id such as `acc_3f9a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(random_bytes::<16>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_unique() {
        let a = new_id("acc");
        let b = new_id("acc");
        assert!(a.starts_with("acc_"));
        assert_eq!(a.len(), 4 + 32);
        assert_ne!(a, b);
    }
}
