//! The IETF draft RateLimit headers (draft-ietf-httpapi-ratelimit-headers),
//! structured-field form, and the 429 answer.

use crate::limits::Decision;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

/// `RateLimit-Policy` and `RateLimit` for any answer.
pub fn apply(headers: &mut HeaderMap, d: &Decision) {
    let policy = format!(
        "\"project\";q={};w={}",
        d.limit.burst,
        d.limit.window_secs()
    );
    let state = format!("\"project\";r={};t={}", d.remaining, d.reset_secs);
    if let (Ok(p), Ok(s)) = (
        HeaderValue::from_str(&policy),
        HeaderValue::from_str(&state),
    ) {
        headers.insert("ratelimit-policy", p);
        headers.insert("ratelimit", s);
    }
}

/// 429 with `Retry-After` and the RateLimit headers.
pub fn too_many(d: &Decision) -> Response {
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({
            "error": "rate_limited",
            "error_description": format!(
                "this project's limit is {} requests per second with bursts of {}; retry in {} s",
                d.limit.per_sec, d.limit.burst, d.retry_after_secs
            ),
        })),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(d.retry_after_secs));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    apply(h, d);
    res
}
