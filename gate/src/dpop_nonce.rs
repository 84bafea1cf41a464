//! Server-provided DPoP nonces (RFC 9449 §8 at the token endpoint, §9 at
//! a resource server): a proof must carry a `nonce` this server gave out
//! lately, so a proof made ahead of time (by someone who had the key for
//! a moment) is worthless.
//!
//! Stateless, so every replica takes every replica's nonces with no
//! shared store: a nonce is a time window's number and a MAC over it,
//! keyed from a secret the replicas share (the master key for the nodes,
//! the gate credential's secret for `portcullis gate`). A nonce is good
//! in its window and the next (5 to 10 minutes).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::hmac;

use crate::clock::Epoch;

/// One window's length, in seconds.
pub const WINDOW_SECS: Epoch = 300;

pub struct DpopNonces {
    key: hmac::Key,
}

impl DpopNonces {
    /// Nonces keyed by HMAC-SHA256(`secret`, `label`): one secret can key
    /// several kinds of nonce that do not stand in for each other.
    pub fn new(secret: &[u8], label: &str) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), label.as_bytes());
        Self::from_key(derived.as_ref())
    }

    /// Nonces keyed by `key` as it is.
    pub fn from_key(key: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    fn for_window(&self, window: i64) -> String {
        let number = window.to_be_bytes();
        let tag = hmac::sign(&self.key, &number);
        let mut raw = number.to_vec();
        raw.extend_from_slice(tag.as_ref());
        B64URL.encode(raw)
    }

    /// The nonce to give out now.
    pub fn current(&self, now: Epoch) -> String {
        self.for_window(now.div_euclid(WINDOW_SECS))
    }

    /// Whether `nonce` was given out with this key in this window or the
    /// one before (or the next: a replica whose clock is a little ahead
    /// may have given it out at a window's turn).
    pub fn valid(&self, nonce: &str, now: Epoch) -> bool {
        let Ok(raw) = B64URL.decode(nonce) else {
            return false;
        };
        let Some((number, tag)) = raw.split_at_checked(8) else {
            return false;
        };
        let Ok(number) = <[u8; 8]>::try_from(number) else {
            return false;
        };
        let window = i64::from_be_bytes(number);
        let this = now.div_euclid(WINDOW_SECS);
        if !(this - 1..=this + 1).contains(&window) {
            return false;
        }
        // Constant time.
        hmac::verify(&self.key, &number, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_its_window_and_the_next_and_cannot_be_made_up() {
        let nonces = DpopNonces::new(&[7; 32], "test");
        let now = 1_000_000;
        let n = nonces.current(now);
        assert!(nonces.valid(&n, now));
        assert!(nonces.valid(&n, now + WINDOW_SECS));
        assert!(!nonces.valid(&n, now + 2 * WINDOW_SECS));
        assert!(
            nonces.valid(&n, now - WINDOW_SECS),
            "a replica a little behind takes it"
        );
        assert!(!nonces.valid(&n, now - 2 * WINDOW_SECS), "nor long before");
        // Another secret, another label, a changed window, a cut tag.
        assert!(!DpopNonces::new(&[8; 32], "test").valid(&n, now));
        assert!(!DpopNonces::new(&[7; 32], "other").valid(&n, now));
        let mut raw = B64URL.decode(&n).unwrap();
        raw[7] ^= 1;
        assert!(!nonces.valid(&B64URL.encode(&raw), now));
        assert!(!nonces.valid(&n[..n.len() - 2], now));
        assert!(!nonces.valid("", now));
        assert!(!nonces.valid("not base64!", now));
    }
}
