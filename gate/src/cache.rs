//! Tokens whose signature has been checked, with their claims. Tokens are
//! reused for their whole life, so a resource server pays for ECDSA once
//! per token, not per call; time, revocation and standing are still checked
//! on every call.

use std::sync::Arc;

use crate::token::Claims;

/// How many verified tokens a gate keeps. Past it, the least useful go one
/// by one (quick_cache's S3-FIFO policy: a token seen once is dropped before
/// one in steady use), never all at once: clearing the whole map, as this
/// once did, made every cached token verify its signature again at the same
/// moment on the hottest path (`make bench`, "verified-token cache").
pub const VERIFIED_MAX: usize = 20_000;

pub struct VerifiedTokens {
    cache: quick_cache::sync::Cache<Box<str>, Arc<Claims>>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::with_capacity(VERIFIED_MAX)
    }
}

impl VerifiedTokens {
    pub fn with_capacity(tokens: usize) -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(tokens),
        }
    }

    pub fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.cache.get(token)
    }

    /// Expired tokens need no sweep: each call checks the time, and an
    /// expired token is no longer asked for, so it is the first to go.
    pub fn insert(&self, token: &str, claims: Arc<Claims>) {
        self.cache.insert(token.into(), claims);
    }

    /// Forgets every token (the keys changed: a removed key's tokens must
    /// verify again, and fail).
    pub fn clear(&self) {
        self.cache.clear();
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str) -> Arc<Claims> {
        Arc::new(Claims {
            iss: "https://issuer.example".into(),
            sub: "pcl_1".into(),
            client_id: "pcl_1".into(),
            aud: "https://issuer.example/partner/v1".into(),
            iat: 0,
            nbf: None,
            exp: 300,
            jti: jti.into(),
            scope: "applications:read".into(),
            account_id: "acc_1".into(),
            project_id: "prj_1".into(),
            cnf: None,
        })
    }

    #[test]
    fn keeps_what_is_inserted_and_forgets_all_on_clear() {
        let c = VerifiedTokens::with_capacity(100);
        c.insert("a.b.c", claims("1"));
        assert_eq!(c.get("a.b.c").unwrap().jti, "1");
        assert!(c.get("x.y.z").is_none());
        c.clear();
        assert!(c.get("a.b.c").is_none());
    }

    /// Past its bound it sheds a few entries at a time: tokens in steady use
    /// stay, where the old design dropped them all.
    #[test]
    fn past_the_bound_tokens_in_use_stay() {
        let c = VerifiedTokens::with_capacity(1_000);
        for i in 0..500 {
            c.insert(&format!("hot{i}"), claims("hot"));
        }
        for round in 0..5 {
            for i in 0..500 {
                assert!(c.get(&format!("hot{i}")).is_some() || round == 0);
            }
            for i in 0..1_000 {
                c.insert(&format!("cold{round}-{i}"), claims("cold"));
            }
        }
        assert!(c.len() <= 1_100, "bounded: {}", c.len());
        let hot = (0..500)
            .filter(|i| c.get(&format!("hot{i}")).is_some())
            .count();
        assert!(hot >= 450, "only {hot} of 500 tokens in use kept");
    }
}
