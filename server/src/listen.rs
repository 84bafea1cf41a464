//! Serving the router on a TCP listener with the limits a public listener
//! needs (axum's `serve` has none of them):
//!
//! - a **header timeout**: a request's headers must arrive within it, and a
//!   kept-alive connection that sends no next request is closed after it
//!   (hyper starts the clock when it starts waiting for a request head);
//! - a **request timeout**, for reading the body and for the handler's
//!   answer (`408`), set on the router by [`crate::router`];
//! - a **cap on open connections**: past it, a new connection gets a
//!   `503` with `Retry-After` and is closed, so a flood of idle sockets
//!   cannot take the process to its open-file limit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

/// How long shutdown waits for open requests to finish.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// The answer to a connection over the cap, written before closing it.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 83\r\n\r\n\
{\"error\":\"temporarily_unavailable\",\"error_description\":\"too many open connections\"}";

/// Serves `router` until `shutdown` resolves, then lets open requests
/// finish (for at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut make = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut warned_full = false;
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or a connection reset before
                    // accept: wait a moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            if !warned_full {
                tracing::warn!(
                    max = limits.max_connections,
                    "open connections at the cap: new ones get 503 (PORTCULLIS_MAX_CONNECTIONS)"
                );
                warned_full = true;
            }
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let _ = stream.write_all(BUSY).await;
                    let _ = stream.shutdown().await;
                })
                .await;
            });
            continue;
        };
        warned_full = false;
        let _ = stream.set_nodelay(true);
        let Ok(service) = make.call(peer).await;
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the peer's (reset, timeout): nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "some requests were still open after {} s; closing them",
            DRAIN.as_secs()
        );
    }
    Ok(())
}
