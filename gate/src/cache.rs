//! Tokens whose signature has been checked, with their claims. Tokens are
//! reused for their whole life, so a resource server pays for ECDSA once
//! per token, not per call; time, revocation and standing are still checked
//! on every call.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::clock::Epoch;
use crate::token::Claims;

/// Bounded: when full, expired entries go, and if that is not enough, all
/// of them.
#[derive(Default)]
pub struct VerifiedTokens {
    map: RwLock<HashMap<Box<str>, Arc<Claims>>>,
}

const VERIFIED_MAX: usize = 20_000;

impl VerifiedTokens {
    pub fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    pub fn insert(&self, token: &str, claims: Arc<Claims>, now: Epoch) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= VERIFIED_MAX {
            map.retain(|_, c| c.exp > now);
            if map.len() >= VERIFIED_MAX {
                map.clear();
            }
        }
        map.insert(token.into(), claims);
    }

    /// Forgets every token (the keys changed: a removed key's tokens must
    /// verify again, and fail).
    pub fn clear(&self) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
