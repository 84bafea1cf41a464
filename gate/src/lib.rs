//! The bearer gate for resource servers.
//!
//! ```ignore
//! let gate = Gate::new(issuer, "https://auth.example.com/partner/v1");
//! let api = Router::new()
//!     .route("/applications", get(list.layer(scope("applications:read"))))
//!     .layer(gate.layer());
//! ```
//!
//! [`GateLayer`] reads `Authorization: Bearer`, checks the token (signature,
//! `typ`, issuer, audience = this API, expiry, revocation, the client's and
//! project's standing: all in memory) and charges the project's rate-limit
//! bucket. [`scope`] then checks one route's scope. A refused request gets
//! an RFC 6750 §3 answer and never reaches the handler.

mod errors;
mod layers;
mod ratelimit_headers;

use std::sync::Arc;

use portcullis_core::tokens::Claims;
use portcullis_core::Issuer;

pub use errors::Refusal;
pub use layers::{scope, GateLayer, GateService, ScopeLayer, ScopeService};
pub use ratelimit_headers::apply as apply_rate_limit_headers;

/// What the gate knows about an admitted request; handlers take it as an
/// extension (`Extension<Bearer>`).
#[derive(Debug, Clone)]
pub struct Bearer {
    pub claims: Arc<Claims>,
    pub(crate) realm: Arc<str>,
}

impl Bearer {
    /// For a service that authenticated the caller some other way (or a
    /// benchmark measuring the handlers without the gate).
    pub fn from_claims(claims: Claims) -> Self {
        Self {
            claims: Arc::new(claims),
            realm: "portcullis".into(),
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.claims.scope.split(' ').any(|s| s == scope)
    }

    pub fn project_id(&self) -> &str {
        &self.claims.project_id
    }

    pub fn client_id(&self) -> &str {
        &self.claims.client_id
    }
}

/// One API's gate: the authority that checks tokens and the audience they
/// must carry.
#[derive(Clone)]
pub struct Gate {
    issuer: Arc<Issuer>,
    audience: Arc<str>,
    realm: Arc<str>,
    rate_limit: bool,
}

impl Gate {
    pub fn new(issuer: Arc<Issuer>, audience: impl Into<Arc<str>>) -> Self {
        Self {
            issuer,
            audience: audience.into(),
            realm: "portcullis".into(),
            rate_limit: true,
        }
    }

    /// The realm named in `WWW-Authenticate` challenges.
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm.into();
        self
    }

    /// Leave rate limiting to someone else (the buckets stay uncharged).
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = false;
        self
    }

    pub fn layer(&self) -> GateLayer {
        GateLayer { gate: self.clone() }
    }
}
