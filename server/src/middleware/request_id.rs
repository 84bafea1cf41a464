//! Every request gets an id: the one a trusted proxy sent in `X-Request-Id`
//! (when it is a short run of visible characters), else a new one. It is on
//! the request's log span, so every line written while serving it carries
//! it, and it is echoed in the answer for the caller's bug report. A
//! trusted proxy's W3C `traceparent` is followed the same way.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// The request's id, for whoever needs it beyond the log span.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The proxies whose `X-Request-Id` is believed.
#[derive(Clone)]
pub struct Trusted(pub Arc<[IpAddr]>);

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

pub async fn assign(State(trusted): State<Trusted>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let from_proxy = peer.is_some_and(|ip| trusted.0.contains(&ip));
    let given = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| from_proxy && acceptable(id))
        .map(str::to_owned);
    let id: Arc<str> = given.unwrap_or_else(next_id).into();
    req.extensions_mut().insert(RequestId(id.clone()));
    // The path only: a query string may carry what no log should hold.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    if from_proxy {
        crate::traces::continue_trace(&span, req.headers());
    }
    let mut res = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
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
