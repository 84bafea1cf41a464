//! The OAuth 2.0 endpoints: token, introspection, revocation and discovery.
//! Thin HTTP shells over `portcullis_core::Issuer`.

mod client_auth;
mod error;
pub mod form;
mod introspect;
mod metadata;
mod revoke;
pub mod secret_reports;
mod token;

use std::net::IpAddr;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use portcullis_core::throttle::LoginThrottle;
use portcullis_core::{Catalogue, Issuer};
use tower_http::limit::RequestBodyLimitLayer;

pub use error::OAuthError;

/// OAuth requests are a handful of short parameters.
const BODY_LIMIT: usize = 16 * 1024;

pub struct OAuthState {
    pub issuer: Arc<Issuer>,
    /// The RFC 8414 document, built once.
    pub metadata: Arc<str>,
    pub trusted_proxies: Arc<[IpAddr]>,
    /// Failed client authentications per client address.
    pub failures: Arc<LoginThrottle>,
    /// What a client assertion's `aud` may name (RFC 7523 §3 item 3): the
    /// issuer identifier or the token endpoint's URL.
    pub assertion_audiences: Arc<[String]>,
    /// The token endpoint's URL: what a DPoP proof's `htu` must name.
    pub token_endpoint: Arc<str>,
    pub metrics: Arc<crate::metrics::TokenMetrics>,
}

pub fn routes(
    issuer: Arc<Issuer>,
    catalogue: &Catalogue,
    endpoints: &str,
    trusted_proxies: Arc<[IpAddr]>,
    failures: Arc<LoginThrottle>,
) -> Router {
    let metadata = metadata::document(issuer.issuer(), endpoints, catalogue).to_string();
    let assertion_audiences = Arc::from([
        issuer.issuer().to_owned(),
        format!("{endpoints}/oauth/token"),
    ]);
    let state = OAuthState {
        metrics: Arc::new(crate::metrics::TokenMetrics::new(
            catalogue.apis().iter().map(|a| a.id.as_str()),
        )),
        token_endpoint: format!("{endpoints}/oauth/token").into(),
        assertion_audiences,
        issuer,
        metadata: metadata.into(),
        trusted_proxies,
        failures,
    };
    Router::new()
        .route("/oauth/token", post(token::token))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/.well-known/jwks.json", get(metadata::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server),
        )
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // One Arc to clone per request, not one per field.
        .with_state(Arc::new(state))
}
