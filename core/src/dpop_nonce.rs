//! Server-provided DPoP nonces at the token endpoint (RFC 9449 §8): when
//! the operator turns them on, a proof must carry a `nonce` this cluster
//! gave out lately, so a proof made ahead of time (by someone who had the
//! key for a moment) is worthless.
//!
//! Stateless, so every node takes every node's nonces with no database
//! round trip: a nonce is a time window's number and a MAC over it, keyed
//! from the master key all nodes share. A nonce is good in its window and
//! the next (5 to 10 minutes).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::hmac;

use crate::clock::Epoch;
use crate::master_key::MasterKey;

/// One window's length, in seconds.
pub const WINDOW_SECS: Epoch = 300;

pub struct DpopNonces {
    key: hmac::Key,
}

impl DpopNonces {
    pub fn new(master: &MasterKey) -> Self {
        let derived = master.secret_hash("portcullis-dpop-nonce-key");
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &derived),
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

    /// Whether `nonce` was given out by this cluster in this window or the
    /// one before.
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
        if window != this && window != this - 1 {
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
        let master = MasterKey::from_hex(&"07".repeat(32)).unwrap();
        let nonces = DpopNonces::new(&master);
        let now = 1_000_000;
        let n = nonces.current(now);
        assert!(nonces.valid(&n, now));
        assert!(nonces.valid(&n, now + WINDOW_SECS));
        assert!(!nonces.valid(&n, now + 2 * WINDOW_SECS));
        assert!(
            !nonces.valid(&n, now - WINDOW_SECS),
            "not before it was made"
        );
        // Another cluster's master key, a changed window, a cut tag.
        let other = DpopNonces::new(&MasterKey::from_hex(&"08".repeat(32)).unwrap());
        assert!(!other.valid(&n, now));
        let mut raw = B64URL.decode(&n).unwrap();
        raw[7] ^= 1;
        assert!(!nonces.valid(&B64URL.encode(&raw), now));
        assert!(!nonces.valid(&n[..n.len() - 2], now));
        assert!(!nonces.valid("", now));
        assert!(!nonces.valid("not base64!", now));
    }
}
