//! Secrets that announce themselves, as GitHub's and Stripe's do: a fixed
//! prefix naming the kind, 256 random bits, and a checksum. A secret
//! scanner recognises ours offline with [`SCANNER_PATTERN`] and confirms one
//! with [`checksum_ok`], so random text of the same shape is not reported.
//!
//! `pcs_` (client secret) or `pgs_` (gate credential), then 43 base62
//! characters (the random bits), then 6 base62 characters of the CRC32 of
//! everything before them. Base62 keeps the secret one "word" for scanners
//! and double-click selection. Secrets made before this format (base64url,
//! no checksum) keep working: only the keyed hash is ever compared.

use crate::ids::random_bytes;

/// Matches a current client secret anywhere in text.
pub const SCANNER_PATTERN: &str = r"\bpcs_[0-9A-Za-z]{49}\b";

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS: usize = 43;
const CHECKSUM_CHARS: usize = 6;

/// `bytes` (big-endian) in base62, left-padded with `0` to `width` digits.
/// Hand-written: it is a dozen lines, and no base62 crate fixes the width.
fn base62(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while number.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for byte in number.iter_mut() {
            let acc = (rem << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            rem = acc % 62;
        }
        digits.push(ALPHABET[rem as usize]);
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

fn checksum(body: &str) -> String {
    base62(
        &crc32fast::hash(body.as_bytes()).to_be_bytes(),
        CHECKSUM_CHARS,
    )
}

/// A new secret of the kind `prefix` names (`pcs`, `pgs`).
pub fn generate(prefix: &str) -> String {
    let body = format!("{prefix}_{}", base62(&random_bytes::<32>(), RANDOM_CHARS));
    let sum = checksum(&body);
    body + &sum
}

/// Whether `text` is a secret of the current format whose checksum holds.
pub fn checksum_ok(text: &str) -> bool {
    let Some((prefix, rest)) = text.split_once('_') else {
        return false;
    };
    let well_formed = prefix.len() == 3
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && rest.len() == RANDOM_CHARS + CHECKSUM_CHARS
        && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return false;
    }
    let (body, sum) = text.split_at(text.len() - CHECKSUM_CHARS);
    checksum(body) == sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_is_fixed_width_and_exact() {
        assert_eq!(base62(&[0, 0], 3), "000");
        assert_eq!(base62(&[0, 61], 2), "0z");
        assert_eq!(base62(&[0, 62], 2), "10");
        assert_eq!(
            base62(&[0xff; 32], 43).len(),
            43,
            "2^256 - 1 fits in 43 digits"
        );
        assert_eq!(base62(&u32::MAX.to_be_bytes(), 6).len(), 6);
    }

    /// Pinned: scanners depend on this format. Computed apart from this
    /// code (Python's `zlib.crc32` and its own base62) for the bytes 0..32.
    #[test]
    fn a_known_secret_is_exactly_this() {
        let raw: Vec<u8> = (0u8..32).collect();
        let body = format!("pcs_{}", base62(&raw, RANDOM_CHARS));
        let secret = body.clone() + &checksum(&body);
        assert_eq!(
            secret,
            "pcs_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf29JcKQ"
        );
        assert!(checksum_ok(&secret));
        assert!(regex::Regex::new(SCANNER_PATTERN)
            .unwrap()
            .is_match(&secret));
    }

    #[test]
    fn secrets_carry_a_checksum_scanners_can_trust() {
        let scanner = regex::Regex::new(SCANNER_PATTERN).unwrap();
        for _ in 0..100 {
            let s = generate("pcs");
            assert_eq!(s.len(), 4 + 49);
            assert!(checksum_ok(&s), "{s}");
            assert!(scanner.is_match(&format!("secret = \"{s}\";")), "{s}");
            // Any one character changed breaks the checksum.
            let mut bad = s.clone().into_bytes();
            bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
            assert!(!checksum_ok(&String::from_utf8(bad).unwrap()));
        }
        assert!(checksum_ok(&generate("pgs")));
        assert!(!checksum_ok("pcs_not-a-secret"));
        assert!(!checksum_ok(
            "pcs_0123456789012345678901234567890123456789012345678"
        ));
        // The base64url secrets made before this format are not ours to
        // check, and still work (only the keyed hash is compared).
        assert!(!checksum_ok(
            "pcs_hJ9m2cR3d0QvYk8pX1sLw7Zt4nB6eG5aU0iO2yT8rE4"
        ));
    }
}
