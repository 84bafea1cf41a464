//! OAuth error responses (RFC 6749 §5.2), mapped from domain errors in one
//! place.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::limits::Decision;
use portcullis_core::Error;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    /// `via_header`: the client tried HTTP Basic, so the answer must
    /// challenge it (`WWW-Authenticate`).
    #[error("client authentication failed")]
    InvalidClient { via_header: bool },
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// RFC 9449 §5: the DPoP proof of a token request is not good.
    #[error("{0}")]
    InvalidDpopProof(String),
    /// RFC 9449 §8: the proof lacks a nonce this server gave out lately;
    /// the answer carries a fresh one in `DPoP-Nonce`.
    #[error("send the DPoP proof again with this nonce (the DPoP-Nonce header)")]
    UseDpopNonce { nonce: String },
    #[error("too many failed client authentications from this address; retry in {retry_after} s")]
    TooManyFailures { retry_after: u64 },
    #[error("this project's daily token quota of {} tokens is used up for today (UTC); retry in {} s", .0.quota, .0.retry_after)]
    QuotaExhausted(portcullis_core::quotas::Exhausted),
    #[error("this project's rate limit is {} requests per second with bursts of {}; retry in {} s", .0.limit.per_sec, .0.limit.burst, .0.retry_after_secs)]
    RateLimited(Decision),
    #[error("the server could not complete the request")]
    ServerError,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: String,
}

impl OAuthError {
    /// The OAuth error code (RFC 6749 §5.2, RFC 9449 §5 and §8).
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::InvalidDpopProof(_) => "invalid_dpop_proof",
            OAuthError::UseDpopNonce { .. } => "use_dpop_nonce",
            OAuthError::TooManyFailures { .. } | OAuthError::RateLimited(_) => "rate_limited",
            OAuthError::QuotaExhausted(_) => "quota_exceeded",
            OAuthError::ServerError => "server_error",
        }
    }

    /// Domain errors, with whether the client authenticated by header.
    pub fn from_domain(e: Error, via_header: bool) -> Self {
        match e {
            Error::InvalidClient => OAuthError::InvalidClient { via_header },
            Error::InvalidScope(m) => OAuthError::InvalidScope(m),
            Error::Invalid { message, .. } | Error::Refused(message) => {
                OAuthError::InvalidRequest(message)
            }
            other => {
                tracing::error!(error = %other, "internal error at an OAuth endpoint");
                OAuthError::ServerError
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self {
            OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            OAuthError::TooManyFailures { .. }
            | OAuthError::RateLimited(_)
            | OAuthError::QuotaExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = Body {
            error: self.code(),
            error_description: self.to_string(),
        };
        let mut res = (status, axum::Json(body)).into_response();
        match &self {
            OAuthError::TooManyFailures { retry_after } => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            OAuthError::RateLimited(d) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(d.retry_after_secs));
                portcullis_gate::apply_rate_limit_headers(res.headers_mut(), d);
            }
            // To the next UTC day.
            OAuthError::QuotaExhausted(q) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(q.retry_after.max(1)));
            }
            _ => {}
        }
        if let OAuthError::UseDpopNonce { nonce } = &self {
            if let Ok(v) = HeaderValue::from_str(nonce) {
                res.headers_mut().insert("dpop-nonce", v);
            }
        }
        if let OAuthError::InvalidClient { via_header: true } = self {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis\", charset=\"UTF-8\""),
            );
        }
        no_store(res)
    }
}

/// RFC 6749 §5.1: token responses (and their errors) must not be cached.
pub fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}
