//! Server-provided DPoP nonces at the token endpoint (RFC 9449 §8), keyed
//! from the master key every node shares, so every node takes every
//! node's nonces (the scheme is the gate's [`DpopNonces`]).

pub use portcullis_gate::dpop_nonce::{DpopNonces, WINDOW_SECS};

use crate::master_key::MasterKey;

/// The token endpoint's nonces (keyed as before gates had nonces, so
/// nodes of both versions take each other's during an upgrade).
pub fn for_token_endpoint(master: &MasterKey) -> DpopNonces {
    DpopNonces::from_key(&master.secret_hash("portcullis-dpop-nonce-key"))
}

/// The nonces of the in-process gate of `api`: another key than the token
/// endpoint's (RFC 9449 §9: each server gives out its own).
pub fn for_gate(master: &MasterKey, api: &str) -> DpopNonces {
    DpopNonces::new(
        &master.secret_hash("portcullis-dpop-nonce-key"),
        &format!("gate:{api}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_and_each_cluster_has_its_own_nonces() {
        let master = MasterKey::from_hex(&"07".repeat(32)).unwrap();
        let now = 1_000_000;
        let n = for_token_endpoint(&master).current(now);
        assert!(for_token_endpoint(&master).valid(&n, now));
        assert!(!for_gate(&master, "partner").valid(&n, now));
        let g = for_gate(&master, "partner").current(now);
        assert!(!for_gate(&master, "billing").valid(&g, now));
        let other = MasterKey::from_hex(&"08".repeat(32)).unwrap();
        assert!(!for_token_endpoint(&other).valid(&n, now));
    }
}
