//! Gzip for the console's static assets (wasm, JavaScript, CSS): the first
//! page load is mostly the island bundle, which shrinks to about a third.
//!
//! Nothing else is compressed. Pages and server-function answers can carry
//! secrets (a client secret shown once, an invitation link) next to text an
//! attacker may choose, which is what compression side channels (BREACH)
//! need; static assets carry neither.

use http::header::CONTENT_TYPE;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;

/// Compresses static asset types only, and only what the default rules
/// allow (not tiny, not already encoded).
pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .gzip(true)
        .compress_when(DefaultPredicate::new().and(StaticAsset))
}

#[derive(Clone, Copy)]
struct StaticAsset;

impl Predicate for StaticAsset {
    fn should_compress<B>(&self, response: &http::Response<B>) -> bool
    where
        B: http_body::Body,
    {
        response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_static_asset_type)
    }
}

fn is_static_asset_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    matches!(
        essence,
        "application/wasm" | "text/javascript" | "application/javascript" | "text/css"
    )
}

#[cfg(test)]
mod tests {
    use super::is_static_asset_type;

    #[test]
    fn only_asset_types_are_compressed() {
        assert!(is_static_asset_type("application/wasm"));
        assert!(is_static_asset_type("text/javascript; charset=utf-8"));
        assert!(is_static_asset_type("text/css"));
        assert!(!is_static_asset_type("text/html; charset=utf-8"));
        assert!(!is_static_asset_type("application/json"));
        assert!(!is_static_asset_type(""));
    }
}
