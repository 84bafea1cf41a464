//! A gate in another process, following a Portcullis issuer over HTTP: the
//! gate feed (server-sent events at `/gate/v1/feed`, resumed from the last
//! position after a dropped connection), the JWK Set (re-fetched on an
//! unknown key id) and, while the feed is lost and the gate is set to,
//! introspection at `/gate/v1/introspect`; and a project the gate has not
//! seen yet at `/gate/v1/project`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::events::{Event, ProjectAnswer};
use crate::gate::{BoxFuture, Gate, GateBuilder, OnStale, ProjectSource, Upstream};

mod reports;

/// The feed path, relative to the issuer's base URL.
pub const FEED_PATH: &str = "/gate/v1/feed";
/// A feed event with no data: the feed has moved to its id with nothing
/// for this gate's API on the way.
pub const POSITION_EVENT: &str = "position";
pub const INTROSPECT_PATH: &str = "/gate/v1/introspect";
/// Where a gate asks about one project (`?id=`): a [`ProjectAnswer`].
pub const PROJECT_PATH: &str = "/gate/v1/project";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where a gate tells the issuer which projects' buckets refused requests
/// (the issuer tells the projects' owners, by webhook).
pub const LIMITED_PATH: &str = "/gate/v1/limited";
/// How often those reports go: one request per period at most.
const LIMITED_EVERY: Duration = Duration::from_secs(5);
/// Where a gate tells the issuer the feed position it has applied, so its
/// operators can see it is current.
pub const POSITION_PATH: &str = "/gate/v1/position";
const POSITION_EVERY: Duration = Duration::from_secs(2);
/// Where a gate reports the calls it let through, refused and rate
/// limited per project and minute (see [`crate::usage`]).
pub const USAGE_PATH: &str = "/gate/v1/usage";
const USAGE_EVERY: Duration = Duration::from_secs(5);
/// Most rows one usage report carries (the issuer refuses more).
pub const USAGE_REPORT_MAX: usize = crate::usage::REPORT_MAX_ROWS;

/// A connection silent for this long is dropped and opened again (the
/// issuer sends a keep-alive every second).
const SILENCE: Duration = Duration::from_secs(5);
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// A gate credential: made by the issuer's operators for one API; reads
/// that API's gate feed and nothing else.
#[derive(Clone)]
pub struct Credential {
    pub id: String,
    secret: String,
}

impl Credential {
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            secret: secret.into(),
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("the issuer URL {0:?} is not an http(s) URL")]
    BadIssuerUrl(String),
    #[error("cannot make an HTTP client: {0}")]
    Client(String),
}

/// The issuer's HTTP endpoints, as a gate uses them.
struct Issuer {
    http: reqwest::Client,
    /// The feed's own client, keeping no idle connection: each (re)connect
    /// opens a new one, never a pooled connection a report or a key fetch
    /// left behind (which may be half-dead after the network trouble that
    /// dropped the feed, or routed as something else).
    feed_http: reqwest::Client,
    base: String,
    credential: Credential,
}

impl Issuer {
    fn new(base: &str, credential: Credential) -> Result<Self, RemoteError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RemoteError::BadIssuerUrl(base));
        }
        let client = |pooled: bool| {
            let builder = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .tcp_nodelay(true);
            let builder = if pooled {
                builder
            } else {
                builder.pool_max_idle_per_host(0)
            };
            builder
                .build()
                .map_err(|e| RemoteError::Client(e.to_string()))
        };
        Ok(Self {
            http: client(true)?,
            feed_http: client(false)?,
            base,
            credential,
        })
    }
}

impl Upstream for Issuer {
    fn jwks(&self) -> BoxFuture<'_, Result<Value, String>> {
        Box::pin(async move {
            let res = self
                .http
                .get(format!("{}{JWKS_PATH}", self.base))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !res.status().is_success() {
                return Err(format!("{JWKS_PATH} answered {}", res.status()));
            }
            res.json().await.map_err(|e| e.to_string())
        })
    }

    fn introspect<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let res = self
                .http
                .post(format!("{}{INTROSPECT_PATH}", self.base))
                .basic_auth(&self.credential.id, Some(&self.credential.secret))
                .form(&[("token", token)])
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !res.status().is_success() {
                return Err(format!("introspection answered {}", res.status()));
            }
            let body: Value = res.json().await.map_err(|e| e.to_string())?;
            Ok(body.get("active").and_then(Value::as_bool) == Some(true))
        })
    }
}

impl ProjectSource for Issuer {
    fn project<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ProjectAnswer, String>> {
        Box::pin(async move {
            let res = self
                .http
                .get(format!("{}{PROJECT_PATH}", self.base))
                .query(&[("id", id)])
                .basic_auth(&self.credential.id, Some(&self.credential.secret))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !res.status().is_success() {
                return Err(format!("{PROJECT_PATH} answered {}", res.status()));
            }
            res.json().await.map_err(|e| e.to_string())
        })
    }
}

/// How a remote gate follows its issuer.
pub struct Settings {
    /// Where the issuer is reached, e.g. `https://auth.example.com`.
    pub issuer_url: String,
    pub credential: Credential,
    /// The feed may be silent this long before [`Settings::on_stale`] applies.
    pub stale_after: Duration,
    pub on_stale: OnStale,
}

/// The gate's feed follower; dropping it stops following (and the gate
/// then fails closed, or introspects, once the bound has passed).
pub struct Following {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Following {
    /// Lets the follower run for as long as its runtime does.
    pub fn detach(mut self) {
        self.tasks.clear();
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A gate for the API of `settings.credential`, following its issuer from
/// now on. `builder` holds the rest of the gate's settings (limiter, realm,
/// leeway); its issuer, audience and keys come from the feed, so the gate
/// answers 503 until the first snapshot has arrived.
pub fn follow(settings: Settings, builder: GateBuilder) -> Result<(Gate, Following), RemoteError> {
    let issuer = Arc::new(Issuer::new(&settings.issuer_url, settings.credential)?);
    let tally = Arc::new(crate::usage::Tally::new());
    let gate = builder
        .usage(tally.clone())
        .upstream(issuer.clone())
        .project_source(issuer.clone())
        .when_stale(settings.stale_after, settings.on_stale)
        .build();
    let applied = Arc::new(reports::AppliedLog::default());
    let mut tasks = vec![
        tokio::spawn(run(gate.clone(), issuer.clone(), applied.clone())),
        tokio::spawn(prune(gate.clone())),
        tokio::spawn(reports::report_position(
            gate.clone(),
            issuer.clone(),
            applied,
        )),
        tokio::spawn(reports::report_usage(tally, issuer.clone())),
    ];
    if let Some(limiter) = gate.limiter().cloned() {
        tasks.push(tokio::spawn(reports::report_limited(limiter, issuer)));
    }
    Ok((gate, Following { tasks }))
}

async fn run(gate: Gate, issuer: Arc<Issuer>, applied: Arc<reports::AppliedLog>) {
    let mut wait = RETRY_MIN;
    loop {
        match read_feed(&gate, &issuer, &applied).await {
            Ok(()) => wait = RETRY_MIN,
            Err(e) => {
                tracing::warn!(error = %e, position = gate.position(), "gate feed interrupted; reconnecting");
            }
        }
        tokio::time::sleep(jittered(wait)).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

/// Forgets, once a minute, revocations and refused clients no token can
/// need any more.
async fn prune(gate: Gate) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        gate.prune();
    }
}

/// Between half and all of `wait`, at random: after an issuer restart,
/// its many gates do not all reconnect in the same instant.
fn jittered(wait: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return wait;
    }
    let f = f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX);
    wait.mul_f64(0.5 + f / 2.0)
}

/// One connection to the feed, until it ends or falls silent.
async fn read_feed(
    gate: &Gate,
    issuer: &Issuer,
    applied: &reports::AppliedLog,
) -> Result<(), String> {
    let mut req = issuer
        .feed_http
        .get(format!("{}{FEED_PATH}", issuer.base))
        .basic_auth(&issuer.credential.id, Some(&issuer.credential.secret))
        .header("accept", "text/event-stream");
    if gate.position() > 0 && gate.is_ready() {
        req = req.header("last-event-id", gate.position().to_string());
    }
    let mut res = req.send().await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        return Err(format!("{FEED_PATH} answered {status}: {body}"));
    }
    tracing::info!(
        position = gate.position(),
        "following the issuer's gate feed"
    );
    let mut parser = SseParser::default();
    loop {
        let chunk = match tokio::time::timeout(SILENCE, res.chunk()).await {
            Err(_) => return Err(format!("no word from the feed for {} s", SILENCE.as_secs())),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(bytes))) => bytes,
        };
        gate.touch();
        for sse in parser.push(&chunk).map_err(|e| e.to_string())? {
            let Some(seq) = sse.id.as_deref().and_then(|i| i.parse::<i64>().ok()) else {
                continue;
            };
            // Nothing for this API up to `seq`: resume from there, and tell
            // the issuer this gate is current.
            if sse.event == POSITION_EVENT {
                gate.advance(seq);
                continue;
            }
            match serde_json::from_str::<Event>(&sse.data) {
                Ok(event) => {
                    gate.apply(seq, &event);
                    applied.push(seq);
                }
                // A newer issuer may send events this gate does not know:
                // they are not about anything it checks.
                Err(e) => tracing::debug!(error = %e, event = sse.event, "skipped a feed event"),
            }
        }
    }
}

/// One server-sent event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sse {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// The largest event the feed may send (a snapshot of every client of an
/// API is the largest): past it the connection is dropped, not the memory.
pub const MAX_EVENT_BYTES: usize = 256 << 20;

/// Splits a `text/event-stream` body into events, chunk by chunk. Kept
/// here rather than taken from a crate: it is small, each byte is looked at
/// once (a long snapshot arriving in many chunks is not rescanned from its
/// start), and it is bounded by [`MAX_EVENT_BYTES`].
pub struct SseParser {
    pending: Vec<u8>,
    /// `pending` before this holds no blank line.
    scanned: usize,
    max: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::with_max(MAX_EVENT_BYTES)
    }
}

/// An event longer than the parser's bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a feed event over {0} bytes")]
pub struct EventTooLarge(pub usize);

impl SseParser {
    /// A parser that refuses events over `max` bytes.
    pub fn with_max(max: usize) -> Self {
        Self {
            pending: Vec::new(),
            scanned: 0,
            max,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Sse>, EventTooLarge> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some((end, next)) = find_blank_line(&self.pending, self.scanned.max(start)) {
            if let Some(sse) = parse_block(&self.pending[start..end]) {
                out.push(sse);
            }
            start = next;
        }
        self.pending.drain(..start);
        self.scanned = self.pending.len();
        if self.pending.len() > self.max {
            return Err(EventTooLarge(self.max));
        }
        Ok(out)
    }
}

fn parse_block(block: &[u8]) -> Option<Sse> {
    let text = String::from_utf8_lossy(block);
    let mut sse = Sse::default();
    let mut data = Vec::new();
    for line in text.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => sse.id = Some(value.to_owned()),
            "event" => sse.event = value.to_owned(),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    sse.data = data.join("\n");
    Some(sse)
}

/// The first event block's end at or after `from`: (where it ends, where
/// the next starts). A blank line ends at a `\n`, so only newlines from
/// `from` on are looked at (with the bytes just before them).
fn find_blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + off;
        if nl >= 1 && buf[nl - 1] == b'\n' {
            return Some((nl - 1, nl + 1));
        }
        if nl >= 3 && &buf[nl - 3..=nl] == b"\r\n\r\n" {
            return Some((nl - 3, nl + 1));
        }
        i = nl + 1;
    }
    None
}

#[cfg(test)]
mod tests;
