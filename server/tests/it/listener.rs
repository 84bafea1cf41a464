//! The listener's limits, tried with raw sockets as an attacker would: a
//! request whose headers trickle in, a kept-alive connection left idle, a
//! body that never arrives, and more connections than the cap.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::TestServer;

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or `limit` passes); what
/// it sent, and when it closed.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    Some(start.elapsed()),
                )
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn headers_that_trickle_in_are_cut_off() {
    let s = TestServer::start_with(|c| c.header_timeout_secs = 1).await;
    let mut stream = connect(&s).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    // One header line every 300 ms: never a whole request.
    let mut closed = false;
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if stream
            .write_all(format!("x-slow-{i}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
        {
            if n == 0 {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "still open after {:?}", start.elapsed());
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let s = TestServer::start_with(|c| c.header_timeout_secs = 1).await;
    let mut stream = connect(&s).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (got, closed) = until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    let closed = closed.expect("the idle connection stayed open for 5 s");
    assert!(
        closed >= Duration::from_millis(800),
        "closed after {closed:?}"
    );
}

#[tokio::test]
async fn a_body_that_never_arrives_times_out() {
    let s = TestServer::start_with(|c| c.request_timeout_secs = 1).await;
    let mut stream = connect(&s).await;
    stream
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ngrant_type",
        )
        .await
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("no answer 5 s into a body that never came")
        .unwrap();
    let got = String::from_utf8_lossy(&buf[..n]);
    assert!(
        got.starts_with("HTTP/1.1 408") || got.starts_with("HTTP/1.1 400") || n == 0,
        "{got}"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn connections_past_the_cap_get_503_and_the_rest_still_work() {
    let s = TestServer::start_with(|c| c.max_connections = Some(4)).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect(&s).await);
    }
    // Let the server accept the four before the fifth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = connect(&s).await;
    let (got, closed) = until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.contains("retry-after: 1"), "{got}");
    assert!(got.contains("too many open connections"), "{got}");
    assert!(closed.is_some(), "the refused connection is closed");

    // A held connection is served; once one closes, a new one gets in.
    let first = &mut held[0];
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = until_closed(first, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    held.remove(0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = reqwest::get(s.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
}
