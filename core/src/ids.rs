//! Random identifiers. Ids are prefixed so a stray one in a log or a support
//! ticket says what it names.

use argon2::password_hash::rand_core::{OsRng, RngCore};

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `n` bytes from this thread's CSPRNG: rand's `ThreadRng`, ChaCha12
/// seeded from the operating system and reseeded every 64 KiB. For values
/// made per request on the hot path (a token's `jti`, issue 23), where a
/// `getrandom` system call each costs more than the bytes; secrets and keys
/// come from [`random_bytes`].
pub fn thread_random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A 128-bit random id such as `acc_3f9a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(random_bytes::<16>()))
}

/// A one-time link token (invitations, password resets): 256 random bits,
/// base64url, for the link's fragment. Only [`link_token_hash`] is stored.
pub fn new_link_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// What is stored of a link token: SHA-256, hex. Unkeyed on purpose: the
/// token is 256 random bits, so its hash cannot be guessed back.
pub fn link_token_hash(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.trim().as_bytes(),
    ))
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

    #[test]
    fn thread_random_bytes_differ() {
        let (a, b) = (thread_random_bytes::<16>(), thread_random_bytes::<16>());
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 16]);
    }
}
