//! Every request gets an id: the one a trusted proxy sent in `X-Request-Id`
//! (when it is a short run of visible characters), else a new one. It is on
//! the request's log span, so every line written while serving it carries
//! it, and it is echoed in the answer for the caller's bug report. A
//! trusted proxy's W3C `traceparent` is followed the same way.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use http::{HeaderMap, HeaderValue, Request, Response};
use tower::{Layer, Service};
use tracing::instrument::{Instrument, Instrumented};

use super::stamped::{Stamp, Stamped};

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// Gives each request its id and span; believes the `X-Request-Id` of
/// these proxies. A typed tower layer, not `from_fn`, for the reason in
/// `security_headers.rs`.
#[derive(Clone)]
pub struct Trusted(pub Arc<[IpAddr]>);

impl<S> Layer<S> for Trusted {
    type Service = Assign<S>;

    fn layer(&self, inner: S) -> Assign<S> {
        Assign {
            inner,
            trusted: self.0.clone(),
        }
    }
}

/// A new id: this process's random prefix and a count. Unique across nodes
/// and restarts, and no system call per request (ids name, they guard
/// nothing, so they need not be unguessable).
fn next_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| hex::encode(portcullis_core::ids::random_bytes::<8>()));
    format!("req_{prefix}{:x}", COUNT.fetch_add(1, Ordering::Relaxed))
}

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The service [`Trusted`] wraps around another.
#[derive(Clone)]
pub struct Assign<S> {
    inner: S,
    trusted: Arc<[IpAddr]>,
}

impl<S, B, R> Service<Request<B>> for Assign<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Stamped<Instrumented<S::Future>, Echo>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let from_proxy = peer.is_some_and(|ip| self.trusted.contains(&ip));
        let given = req
            .headers()
            .get(HEADER)
            .filter(|_| from_proxy)
            .filter(|v| v.to_str().is_ok_and(acceptable))
            .cloned();
        let id = given.unwrap_or_else(|| {
            HeaderValue::try_from(next_id()).unwrap_or(HeaderValue::from_static("req_"))
        });
        // The path only: a query string may carry what no log should hold.
        let span = tracing::info_span!(
            "request",
            request_id = %id.to_str().unwrap_or_default(),
            method = %req.method(),
            path = %req.uri().path(),
        );
        if from_proxy {
            crate::traces::continue_trace(&span, req.headers());
        }
        // What the inner service does before its future is polled is on
        // the span too.
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        Stamped::new(inner.instrument(span), Echo(id))
    }
}

/// The id, echoed in the answer.
pub struct Echo(HeaderValue);

impl Stamp for Echo {
    fn stamp(self, headers: &mut HeaderMap) {
        headers.insert(HEADER, self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::{acceptable, next_id};

    #[test]
    fn only_short_visible_ids_are_taken() {
        assert!(acceptable("9b2f6c1e-4d7a-4b8e-9f1a-2c3d4e5f6a7b"));
        for bad in ["", "a b", "é", &"x".repeat(129), "line\nbreak"] {
            assert!(!acceptable(bad), "{bad:?}");
        }
        let (a, b) = (next_id(), next_id());
        assert!(a.starts_with("req_") && acceptable(&a) && a != b, "{a} {b}");
    }
}
