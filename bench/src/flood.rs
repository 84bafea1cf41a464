//! A well-behaved client's token requests while failed client
//! authentications arrive from 100,000 other loopback addresses (each its
//! own connection, as a botnet's would): what the per-address guard costs
//! the good client. The flood runs on a thread of its own; the good client
//! is timed on the load generator's, first alone, then during the flood.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::http::Creds;
use crate::load::{self, RequestSpec};

/// Connections the flood keeps in flight.
const IN_FLIGHT: usize = 4;

/// The i-th flood address: 127.1.0.0 upwards (never 127.0.0.1, the good
/// client's).
fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(0x7f01_0000u32 + i as u32)
}

async fn one_bad_request(
    server: SocketAddr,
    from: Ipv4Addr,
    request: &[u8],
) -> std::io::Result<bool> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(from, 0)))?;
    let mut stream = socket.connect(server).await?;
    stream.write_all(request).await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    Ok(&head[9..12] == b"401")
}

/// Sends one failed client authentication from each of `addresses`
/// addresses; returns (sent, refused with 401, seconds).
fn flood(
    server: SocketAddr,
    addresses: usize,
    stop: Arc<AtomicBool>,
) -> Result<(usize, usize, f64), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST /oauth/token HTTP/1.1\r\nhost: {server}\r\nauthorization: Basic cGNsX25vYm9keTp3cm9uZw==\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: 29\r\nconnection: close\r\n\r\n\
         grant_type=client_credentials"
    );
    let next = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    rt.block_on(async {
        let mut workers = Vec::new();
        for _ in 0..IN_FLIGHT {
            let (next, refused, stop, request) =
                (next.clone(), refused.clone(), stop.clone(), request.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= addresses || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if let Ok(true) = one_bad_request(server, address(i), request.as_bytes()).await
                    {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
    });
    Ok((
        next.load(Ordering::Relaxed).min(addresses),
        refused.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
    ))
}

/// Stops the flood if timing fails halfway.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

pub async fn run(addr: &str, creds: &Creds, addresses: usize) -> Result<(), String> {
    let server: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let spec = RequestSpec::post(
        "/oauth/token",
        &creds.basic(),
        "grant_type=client_credentials&scope=applications%3Aread",
    );
    let slice = Duration::from_secs(4);
    let alone = load::run(addr, &spec, 4, Duration::from_millis(500), slice).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = {
        let stop = stop.clone();
        std::thread::spawn(move || flood(server, addresses, stop))
    };
    let _stop_on_error = StopOnDrop(stop);
    // Timed within the flood: it starts first, and all its addresses take
    // longer than the window.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = load::run(addr, &spec, 4, Duration::ZERO, slice).await?;
    let ended_early = flooding.is_finished();
    if ended_early {
        println!("(the flood ended before the timing window did: give it more addresses)");
    }
    // Every address of the flood, then the figures.
    let (sent, refused, secs) = flooding
        .join()
        .map_err(|_| "the flood thread panicked".to_string())??;
    println!(
        "\na good client's token requests, alone and while failed authentications arrive from other addresses:"
    );
    alone.print("good client alone");
    during.print("good client during the flood");
    if alone.errors > 0 || during.errors > 0 {
        return Err("the good client was refused".into());
    }
    let ratio = during.percentile_ms(0.5) / alone.percentile_ms(0.5);
    println!(
        "flood: {sent} addresses in {secs:.1} s ({:.0}/s), {refused} answered 401; good client's p50 {:.2} ms -> {:.2} ms ({ratio:.2}x)",
        sent as f64 / secs.max(0.001),
        alone.percentile_ms(0.5),
        during.percentile_ms(0.5),
    );
    let met = if ratio < 2.0 { "met" } else { "MISSED" };
    println!("target: the flood costs the good client less than 2x its p50: {met}");
    crate::readme::record(
        "flood",
        format!(
            "| failed authentications | from addresses | answered 401 | a good client's p50 alone → during the flood |\n\
             |---|---|---|---|\n\
             | {} a second | {} (one connection each, 4 at a time) | {} | {:.2} ms → {:.2} ms (**{ratio:.2}×**; target under 2×: {met}){} |\n",
            crate::readme::thousands(sent as f64 / secs.max(0.001)),
            crate::readme::thousands(sent as f64),
            crate::readme::thousands(refused as f64),
            alone.percentile_ms(0.5),
            during.percentile_ms(0.5),
            if ended_early {
                "; the flood ended before this window did, so part of it was timed alone"
            } else {
                ""
            },
        ),
    );
    Ok(())
}
