//! Headers every response carries. Pages set their own nonce-based CSP while
//! rendering; everything else gets a policy that allows nothing.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderValue};

const LOCKED_DOWN_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Clone, Copy)]
pub struct SecurityHeaders {
    pub https: bool,
}

pub async fn apply(State(cfg): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(LOCKED_DOWN_CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if cfg.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Console pages and API answers hold account data: never cache them.
    // The bundle's files may be kept but are checked on each use (a 304
    // when unchanged): a build reuses chunk names, and a browser must not
    // pair a cached chunk with a new main module.
    let policy = if is_asset { "no-cache" } else { "no-store" };
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(policy));
    res
}
