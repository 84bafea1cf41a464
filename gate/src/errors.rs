//! RFC 6750 §3 refusals: the status, the `WWW-Authenticate` challenge and a
//! JSON body saying the same for people.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials at all: a bare challenge, no error code.
    NoCredentials,
    /// Not a well-formed bearer request (two Authorization headers, an
    /// empty token, a token in the query string).
    Malformed(&'static str),
    /// Bad, expired, revoked, foreign or unusable token.
    InvalidToken(String),
    /// A good token without the route's scope.
    InsufficientScope(String),
    /// The gate cannot decide now (no word from the issuer's feed).
    Unavailable(String),
    /// RFC 9449 §7.1: a DPoP-bound token without a good proof, or sent
    /// under the wrong scheme; answered with a `DPoP` challenge.
    Dpop { error: &'static str, why: String },
    /// RFC 9449 §9: retry with this nonce (sent as `DPoP-Nonce`).
    UseDpopNonce(String),
}

fn quoted(s: &str) -> String {
    s.replace(['\\', '"'], "")
}

impl Refusal {
    /// The decision's `result` label (see [`crate::metrics`]).
    pub fn outcome(&self) -> crate::metrics::Outcome {
        use crate::metrics::Outcome;
        match self {
            Refusal::InsufficientScope(_) => Outcome::Forbidden,
            Refusal::Unavailable(_) => Outcome::Unavailable,
            Refusal::NoCredentials
            | Refusal::Malformed(_)
            | Refusal::InvalidToken(_)
            | Refusal::Dpop { .. }
            | Refusal::UseDpopNonce(_) => Outcome::Unauthorized,
        }
    }

    pub fn into_response_with_realm(self, realm: &str) -> Response {
        let realm = quoted(realm);
        let (status, challenge, body) = match &self {
            Refusal::NoCredentials => (
                StatusCode::UNAUTHORIZED,
                // Both schemes this gate takes (RFC 9449 §7.1).
                format!(
                    "Bearer realm=\"{realm}\", DPoP algs=\"{}\"",
                    crate::dpop::algs()
                ),
                json!({
                    "error": "unauthorized",
                    "error_description": "this call needs an access token: Authorization: Bearer <token>",
                }),
            ),
            Refusal::Malformed(why) => (
                StatusCode::BAD_REQUEST,
                format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{}\"",
                    quoted(why)
                ),
                json!({ "error": "invalid_request", "error_description": why }),
            ),
            Refusal::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{}\"",
                    quoted(why)
                ),
                json!({ "error": "invalid_token", "error_description": why }),
            ),
            Refusal::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{}\"",
                    quoted(scope)
                ),
                json!({
                    "error": "insufficient_scope",
                    "error_description": format!("this call needs the {scope} scope, which the token does not carry"),
                    "scope": scope,
                }),
            ),
            Refusal::Dpop { error, why } => (
                StatusCode::UNAUTHORIZED,
                format!(
                    "DPoP algs=\"{}\", error=\"{error}\", error_description=\"{}\"",
                    crate::dpop::algs(),
                    quoted(why)
                ),
                json!({ "error": error, "error_description": why }),
            ),
            Refusal::UseDpopNonce(_) => {
                let why = "this resource server requires a nonce in the DPoP proof: use the one in the DPoP-Nonce header";
                (
                    StatusCode::UNAUTHORIZED,
                    format!(
                        "DPoP algs=\"{}\", error=\"use_dpop_nonce\", error_description=\"{why}\"",
                        crate::dpop::algs()
                    ),
                    json!({ "error": "use_dpop_nonce", "error_description": why }),
                )
            }
            Refusal::Unavailable(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                String::new(),
                json!({ "error": "temporarily_unavailable", "error_description": why }),
            ),
        };
        let mut res = (status, axum::Json(body)).into_response();
        if challenge.is_empty() {
            // Not the token's fault: try again shortly.
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        } else if let Ok(v) = HeaderValue::from_str(&challenge) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if let Refusal::UseDpopNonce(nonce) = &self {
            if let Ok(v) = HeaderValue::from_str(nonce) {
                res.headers_mut().insert("dpop-nonce", v);
            }
        }
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}
