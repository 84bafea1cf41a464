//! Random identifiers and codes, from this thread's CSPRNG (rand's
//! `ThreadRng`: ChaCha12 seeded from the operating system).

use rand::RngCore;

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A 128-bit random id such as `txn_3f9a…`: the prefix says what it names.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(random_bytes::<16>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_unique() {
        let (a, b) = (new_id("txn"), new_id("txn"));
        assert!(a.starts_with("txn_") && a.len() == 4 + 32, "{a}");
        assert_ne!(a, b);
    }
}
