//! The bearer gate for resource servers, standing alone: it needs no
//! database and no Portcullis server code, only the issuer's published keys
//! and its gate feed (revoked token ids, the standing of clients and
//! projects, bucket settings, key changes).
//!
//! ```no_run
//! # #[cfg(all(feature = "axum", feature = "remote"))]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use axum::routing::get;
//! use axum::Router;
//! use portcullis_gate::remote::{self, Credential, Settings};
//! use portcullis_gate::{scope, Bearer, Gate, OnStale};
//!
//! async fn list(bearer: axum::Extension<Bearer>) -> String {
//!     format!("applications of project {}", bearer.claims.project_id)
//! }
//!
//! let settings = Settings {
//!     issuer_url: "https://auth.example.com".into(),
//!     // `portcullis gates add --api partner --name …` prints these.
//!     credential: Credential::new("gate_…", std::env::var("GATE_CLIENT_SECRET")?),
//!     stale_after: Duration::from_secs(60),
//!     on_stale: OnStale::FailClosed,
//! };
//! // Keep `following` as long as the gate is used: dropping it stops the feed.
//! let (gate, following) =
//!     remote::follow(settings, Gate::builder().metrics_label("api", "partner"))?;
//! let api: Router = Router::new()
//!     .route("/applications", get(list).layer(scope("applications:read")))
//!     .layer(gate.layer());
//! # let _ = (api, following);
//! # Ok(())
//! # }
//! ```
//!
//! [`GateLayer`] reads `Authorization: Bearer`, checks the token (signature
//! against the JWKS, `typ`, issuer, audience = this API, `exp`/`nbf`,
//! revocation, the client's and project's standing: all in memory) and
//! charges the project's rate-limit bucket. [`scope`] then checks one
//! route's scope. A refused request gets an RFC 6750 §3 answer (or 429 /
//! 503) and never reaches the handler. [`forward_auth`] answers a reverse
//! proxy's auth subrequests with the same checks.

pub mod cache;
pub mod clock;
pub mod dpop;
pub mod dpop_nonce;
pub mod events;
mod gate;
pub mod jws;
pub mod limits;
pub mod metrics;
pub mod token;
pub mod usage;
pub mod view;

#[cfg(feature = "axum")]
mod dpop_only;
#[cfg(feature = "axum")]
mod errors;
#[cfg(feature = "axum")]
pub mod forward_auth;
#[cfg(feature = "axum")]
mod layers;
#[cfg(feature = "axum")]
mod ratelimit_headers;
#[cfg(feature = "remote")]
pub mod remote;

use std::sync::Arc;

pub use gate::{
    Admitted, BoxFuture, Gate, GateBuilder, OnStale, ProjectSource, ProofRequest, Refused,
    Upstream, DEFAULT_EXP_LEEWAY_SECS, DEFAULT_STALE_AFTER, EXP_LEEWAY_MAX_SECS,
};
pub use token::{Claims, Rejected};

#[cfg(feature = "axum")]
pub use dpop_only::{dpop_only, DpopOnlyLayer, DpopOnlyService};
#[cfg(feature = "axum")]
pub use errors::Refusal;
#[cfg(feature = "axum")]
pub use layers::{bearer_token, scope, GateLayer, GateService, ScopeLayer, ScopeService};
#[cfg(feature = "axum")]
pub use ratelimit_headers::apply as apply_rate_limit_headers;

/// What the gate knows about an admitted request; handlers take it as an
/// extension (`Extension<Bearer>`).
#[derive(Debug, Clone)]
pub struct Bearer {
    pub claims: Arc<Claims>,
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
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
        self.claims.has_scope(scope)
    }

    pub fn project_id(&self) -> &str {
        &self.claims.project_id
    }

    pub fn client_id(&self) -> &str {
        &self.claims.client_id
    }
}

#[cfg(feature = "axum")]
impl Gate {
    pub fn layer(&self) -> GateLayer {
        GateLayer { gate: self.clone() }
    }
}
