//! Headers every response carries. Pages set their own nonce-based CSP while
//! rendering; everything else gets a policy that allows nothing.
//!
//! A typed tower layer rather than `axum::middleware::from_fn`: it wraps
//! every request, and `from_fn` boxes two futures and clones the inner
//! service per request (issue 23 measured the outer layers at a third of a
//! bare handler's throughput).

use std::task::{Context, Poll};

use http::{header, HeaderMap, HeaderValue, Request, Response};
use tower::{Layer, Service};

use super::stamped::Stamped;

const LOCKED_DOWN_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Clone, Copy)]
pub struct SecurityHeaders {
    pub https: bool,
}

impl<S> Layer<S> for SecurityHeaders {
    type Service = Stamp<S>;

    fn layer(&self, inner: S) -> Stamp<S> {
        Stamp { inner, cfg: *self }
    }
}

/// The service [`SecurityHeaders`] wraps around another.
#[derive(Clone)]
pub struct Stamp<S> {
    inner: S,
    cfg: SecurityHeaders,
}

impl<S, B, R> Service<Request<B>> for Stamp<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Stamped<S::Future, Policy>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let asset = req.uri().path().starts_with("/pkg/");
        let policy = Policy {
            https: self.cfg.https,
            asset,
        };
        Stamped::new(self.inner.call(req), policy)
    }
}

/// What an answer gets: the policy for an asset or for anything else.
pub struct Policy {
    https: bool,
    asset: bool,
}

impl super::stamped::Stamp for Policy {
    fn stamp(self, h: &mut HeaderMap) {
        let Policy { https, asset } = self;
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
        if https {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=63072000; includeSubDomains"),
            );
        }
        // Console pages and API answers hold account data: never cache them.
        // The bundle's files may be kept but are checked on each use (a 304
        // when unchanged): a build reuses chunk names, and a browser must not
        // pair a cached chunk with a new main module.
        let policy = if asset { "no-cache" } else { "no-store" };
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static(policy));
    }
}
