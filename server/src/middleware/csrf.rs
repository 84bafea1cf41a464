//! Refuses state-changing console requests that another site started.
//!
//! Browsers mark every request with `Sec-Fetch-Site`; older ones send at least
//! `Origin` on a POST. A request with neither is not from a browser page and
//! has no business with the console's cookie-authenticated endpoints.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderMap, StatusCode};

#[derive(Clone)]
pub struct AllowedOrigin(pub Arc<str>);

pub async fn refuse_cross_site(
    State(allowed): State<AllowedOrigin>,
    req: Request,
    next: Next,
) -> Response {
    if req.method().is_safe() || is_same_origin(req.headers(), &allowed.0) {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "cross-site request refused");
    (
        StatusCode::FORBIDDEN,
        Json(serde_json::json!({
            "kind": "cross_site",
            "message": "This request came from another site and was refused."
        })),
    )
        .into_response()
}

fn is_same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    if origin == public_origin {
        return true;
    }
    // Same host as the request was sent to (e.g. localhost vs 127.0.0.1).
    let authority = origin.split_once("://").map(|(_, a)| a);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const PUBLIC: &str = "https://auth.example.com";

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            PUBLIC
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            PUBLIC
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            PUBLIC
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site"), ("origin", PUBLIC)]),
            PUBLIC
        ));
    }

    #[test]
    fn origin_must_match_public_url_or_host() {
        assert!(is_same_origin(&headers(&[("origin", PUBLIC)]), PUBLIC));
        assert!(is_same_origin(
            &headers(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ]),
            PUBLIC
        ));
        assert!(!is_same_origin(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "auth.example.com")
            ]),
            PUBLIC
        ));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), PUBLIC));
        assert!(!is_same_origin(&headers(&[]), PUBLIC));
    }
}
