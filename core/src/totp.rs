//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s steps, 6
//! digits, what every authenticator app speaks).
//!
//! Hand-written rather than a crate: it is twenty lines over `ring`, which
//! already does our HMACs, and the RFC's own test vectors check it below.

use data_encoding::BASE32_NOPAD;
use ring::hmac;

use crate::clock::{Epoch, Secs};

pub const STEP_SECS: Secs = 30;
pub const DIGITS: u32 = 6;
/// 160 bits, the size RFC 4226 recommends for HMAC-SHA1.
pub const SECRET_LEN: usize = 20;

/// The time step `now` falls in.
pub fn step_at(now: Epoch) -> i64 {
    now.div_euclid(STEP_SECS)
}

/// The code for one time step (RFC 4226 dynamic truncation).
pub fn code_at_step(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    word % 10u32.pow(DIGITS)
}

/// The code shown at `now`, zero-padded.
pub fn code_at(secret: &[u8], now: Epoch) -> String {
    format!(
        "{:0width$}",
        code_at_step(secret, step_at(now)),
        width = DIGITS as usize
    )
}

/// The step a typed code matches: the current one or its neighbours (a
/// phone's clock may be 30 s off), and only steps after `last_step`, so a
/// code seen over someone's shoulder cannot be used again.
pub fn matching_step(secret: &[u8], typed: &str, now: Epoch, last_step: i64) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = digits.parse().ok()?;
    let current = step_at(now);
    // Whole integers compared, every candidate computed: the time taken
    // says nothing about how close a guess came.
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        if code_at_step(secret, step) == typed && step > last_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The secret as people type it into an app: base32, no padding.
pub fn secret_text(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` address an authenticator app reads from a QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = format!("{issuer}:{account}");
    let mut uri = url::Url::parse("otpauth://totp/").unwrap_or_else(|_| unreachable_url());
    uri.path_segments_mut()
        .map(|mut p| {
            p.clear().push(&label);
        })
        .ok();
    uri.query_pairs_mut()
        .append_pair("secret", &secret_text(secret))
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &STEP_SECS.to_string());
    uri.into()
}

#[cold]
fn unreachable_url() -> url::Url {
    unreachable!("a constant URL parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 here).
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(secret, t), eight[2..], "t={t}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_neighbours_once() {
        let secret = [7u8; SECRET_LEN];
        let now = 1_700_000_000;
        let code = code_at(&secret, now);
        let step = step_at(now);
        assert_eq!(matching_step(&secret, &code, now, 0), Some(step));
        assert_eq!(matching_step(&secret, &code, now + 30, 0), Some(step));
        assert_eq!(matching_step(&secret, &code, now - 30, 0), Some(step));
        assert_eq!(matching_step(&secret, &code, now + 90, 0), None);
        // Used once: the same step is refused.
        assert_eq!(matching_step(&secret, &code, now, step), None);
        assert_eq!(
            matching_step(&secret, &format!("{} {}", &code[..3], &code[3..]), now, 0),
            Some(step)
        );
        for bad in ["", "12345", "1234567", "abcdef", "-12345"] {
            assert_eq!(matching_step(&secret, bad, now, 0), None, "{bad}");
        }
    }

    #[test]
    fn otpauth_uri_carries_the_secret_and_issuer() {
        let uri = otpauth_uri("Portcullis", "ada@example.com", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Portcullis:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Portcullis&algorithm=SHA1&digits=6&period=30"
        );
    }
}
