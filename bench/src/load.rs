//! The load loop: each connection sends the same request back to back on
//! one keep-alive HTTP/1.1 connection and records each latency; or, paced,
//! at a fixed total rate (to compare the CPU two kinds of request cost at
//! the same load, where neither saturates the machine).

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

#[derive(Clone)]
pub struct RequestSpec {
    pub method: hyper::Method,
    pub path: String,
    /// Empty: no Authorization header.
    pub authorization: String,
    pub body: Bytes,
    /// Makes each request's body instead of `body` (values used once,
    /// such as client assertions).
    pub next_body: Option<Rc<dyn Fn() -> Bytes>>,
    /// Makes each request's `DPoP` proof (RFC 9449), used once.
    pub next_dpop: Option<Rc<dyn Fn() -> String>>,
    pub expect_status: u16,
}

impl RequestSpec {
    pub fn post(path: &str, authorization: &str, form: &str) -> Self {
        Self {
            method: hyper::Method::POST,
            path: path.into(),
            authorization: authorization.into(),
            body: Bytes::from(form.to_owned()),
            next_body: None,
            next_dpop: None,
            expect_status: 200,
        }
    }

    pub fn get(path: &str, authorization: &str) -> Self {
        Self {
            method: hyper::Method::GET,
            path: path.into(),
            authorization: authorization.into(),
            body: Bytes::new(),
            next_body: None,
            next_dpop: None,
            expect_status: 200,
        }
    }
}

/// The middle value (sorts `v`).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `p` quantile of sorted values (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub struct Report {
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    /// Sorted latencies in microseconds.
    latencies: Vec<u32>,
}

impl Report {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies[i]) / 1000.0
    }

    pub fn print(&self, name: &str) {
        println!(
            "{:<34} {:>10} {:>12.0} {:>10.2} {:>10.2} {:>8}",
            name,
            self.requests,
            self.rate(),
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.errors
        );
    }
}

pub async fn run(
    addr: &str,
    spec: &RequestSpec,
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> Result<Report, String> {
    run_paced(addr, spec, connections, warmup, measure, None).await
}

/// [`run`], with the connections together sending at most `rate`
/// requests a second (each on its own schedule, staggered), if given.
pub async fn run_paced(
    addr: &str,
    spec: &RequestSpec,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    rate: Option<f64>,
) -> Result<Report, String> {
    let started = Instant::now();
    let window = Rc::new((started + warmup, started + warmup + measure));
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    let every = rate.map(|r| Duration::from_secs_f64(connections as f64 / r.max(1.0)));
    for i in 0..connections {
        let (addr, spec, window) = (addr.to_owned(), spec.clone(), window.clone());
        let pace = every.map(|every| (started + every * i as u32 / connections as u32, every));
        handles
            .push(local.spawn_local(async move { connection(&addr, &spec, *window, pace).await }));
    }
    let results = local
        .run_until(async move {
            let mut all = Vec::new();
            for h in handles {
                all.push(h.await.map_err(|e| e.to_string())?);
            }
            Ok::<_, String>(all)
        })
        .await?;
    let mut latencies = Vec::new();
    let mut errors = 0;
    for r in results {
        let (lat, err) = r?;
        latencies.extend(lat);
        errors += err;
    }
    latencies.sort_unstable();
    Ok(Report {
        requests: latencies.len(),
        errors,
        seconds: measure.as_secs_f64(),
        latencies,
    })
}

async fn connection(
    addr: &str,
    spec: &RequestSpec,
    (from, until): (Instant, Instant),
    mut pace: Option<(Instant, Duration)>,
) -> Result<(Vec<u32>, usize), String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::task::spawn_local(conn);
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0;
    loop {
        if let Some((next, every)) = pace.as_mut() {
            tokio::time::sleep_until((*next).into()).await;
            *next += *every;
        }
        let t0 = Instant::now();
        if t0 >= until {
            break;
        }
        let mut req = Request::builder()
            .method(spec.method.clone())
            .uri(spec.path.as_str())
            .header("host", addr);
        if !spec.authorization.is_empty() {
            req = req.header("authorization", spec.authorization.as_str());
        }
        if let Some(make) = &spec.next_dpop {
            req = req.header("dpop", make());
        }
        let body = match &spec.next_body {
            Some(make) => make(),
            None => spec.body.clone(),
        };
        if !body.is_empty() {
            req = req.header("content-type", "application/x-www-form-urlencoded");
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        send.ready().await.map_err(|e| e.to_string())?;
        let res = send.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let ok = status == spec.expect_status;
        if !ok && errors == 0 && t0 >= from {
            // The first unexpected answer on this connection, to say why a
            // run failed.
            eprintln!(
                "{} {}: {status}, expected {}",
                spec.method, spec.path, spec.expect_status
            );
        }
        // Read the whole body so the connection can be reused.
        res.into_body().collect().await.map_err(|e| e.to_string())?;
        let t1 = Instant::now();
        if t0 >= from {
            if ok {
                latencies.push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX));
            } else {
                errors += 1;
            }
        }
    }
    Ok((latencies, errors))
}
