//! Discovery: the JWK Set and the RFC 8414 authorization server metadata.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use portcullis_core::Catalogue;
use portcullis_gate::jws::JwsAlg;
use serde_json::{json, Value};
use std::sync::Arc;

use super::OAuthState;
use portcullis_core::keyring::PUBLISH_LEAD_SECS;

/// RFC 8414 metadata. `endpoints` is the public base URL the endpoints are
/// reached at (no trailing slash).
pub fn document(issuer: &str, endpoints: &str, catalogue: &Catalogue) -> Value {
    let methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    // RFC 8414 §2: the algorithms a client assertion may be signed with.
    let assertion_algs: Vec<&str> = JwsAlg::ALL.iter().map(|a| a.as_str()).collect();
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{endpoints}/oauth/token"),
        "jwks_uri": format!("{endpoints}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        // No authorization endpoint: there is no response_type to offer.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "scopes_supported": catalogue.scope_names().collect::<Vec<_>>(),
        "introspection_endpoint": format!("{endpoints}/oauth/introspect"),
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint": format!("{endpoints}/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        // Not in RFC 8414: token requests must name their scopes; an absent
        // scope parameter is refused with invalid_scope, never defaulted.
        "scope_parameter_required": true,
        "access_token_signing_alg_values_supported": ["ES256", "RS256"],
        // RFC 9449 §5.1.
        "dpop_signing_alg_values_supported": assertion_algs,
    })
}

pub async fn authorization_server(State(state): State<Arc<OAuthState>>) -> Response {
    json_response(state.metadata.to_string(), "public, max-age=3600")
}

pub async fn jwks(State(state): State<Arc<OAuthState>>) -> Response {
    json_response(
        state.issuer.keyring().jwks_json().to_string(),
        &format!("public, max-age={PUBLISH_LEAD_SECS}"),
    )
}

fn json_response(body: String, cache: &str) -> Response {
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(cache) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}
