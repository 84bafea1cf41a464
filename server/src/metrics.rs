//! Prometheus metrics, served on a listener of their own
//! (`PORTCULLIS_METRICS_ADDR`, never the public port), through the
//! `metrics` facade and `metrics-exporter-prometheus`.
//!
//! - Counters and the token histogram are updated on the request path as
//!   atomic adds on handles made once (no registry lookup, no label
//!   allocation); the exporter folds histogram samples in at scrape time.
//! - Gauges that describe state (feed lag, outbox, pool, registry) are
//!   read when Prometheus scrapes, so the hot paths do nothing for them.
//! - Labels are bounded: API id, result, state, gate credential. Never a
//!   client id, token or address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use portcullis_core::readiness::Readiness;
use portcullis_core::registry::Registry;
use portcullis_core::throttle::LoginThrottle;
use portcullis_core::{db::Db, store};

use crate::error::StartupError;

pub const TOKEN_REQUESTS: &str = "portcullis_token_requests_total";
pub const TOKEN_DURATION: &str = "portcullis_token_request_duration_seconds";
pub const WEBHOOK_DELIVERIES: &str = "portcullis_webhook_deliveries_total";
pub const REMOTE_GATES: &str = "portcullis_remote_gates";
const GATE_LAG: &str = "portcullis_remote_gate_lag_seconds";
const GATE_LAG_CHANGES: &str = "portcullis_remote_gate_lag_changes";
const FEED_LAG: &str = "portcullis_feed_lag_seconds";
const READY: &str = "portcullis_ready";
const OUTBOX: &str = "portcullis_webhook_outbox_messages";
const OUTBOX_AGE: &str = "portcullis_webhook_outbox_oldest_pending_seconds";
const THROTTLED: &str = "portcullis_throttled_addresses";
const REGISTRY_CLIENTS: &str = "portcullis_registry_clients";
const POOL: &str = "portcullis_db_pool_connections";
const APIS_POOL: &str = "portcullis_apis_db_pool_connections";

/// Token latency buckets, seconds: a token is minted in well under a
/// millisecond of CPU; the tail is queueing and the database.
const TOKEN_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Installs the process-wide Prometheus recorder: call before anything
/// makes a counter handle (the server's and the gates' are made at
/// start-up; handles made earlier stay silent).
pub fn install() -> Result<PrometheusHandle, StartupError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(TOKEN_DURATION.into()), &TOKEN_BUCKETS)
        .map_err(|e| StartupError::Config(format!("metrics: {e}")))?
        .install_recorder()
        .map_err(|e| StartupError::Config(format!("metrics: {e}")))?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    portcullis_gate::metrics::describe();
    describe_counter!(
        TOKEN_REQUESTS,
        "Requests at /oauth/token by API and result (issued or the OAuth error code)"
    );
    describe_histogram!(TOKEN_DURATION, Unit::Seconds, "Time to answer /oauth/token");
    describe_counter!(WEBHOOK_DELIVERIES, "Webhook delivery attempts by result");
    // Shown at 0 before the first delivery, so dashboards find them.
    for result in ["delivered", "rejected", "unreachable"] {
        metrics::counter!(WEBHOOK_DELIVERIES, "result" => result).absolute(0);
    }
    describe_gauge!(
        REMOTE_GATES,
        "Gates in other processes following this node's feed, by API"
    );
    describe_gauge!(
        FEED_LAG,
        Unit::Seconds,
        "How far this node's applied change feed trails the newest committed change"
    );
    describe_gauge!(READY, "1 when /readyz would answer 200");
    describe_gauge!(
        OUTBOX,
        "Webhook messages by state (pending, delivered, failed)"
    );
    describe_gauge!(
        OUTBOX_AGE,
        Unit::Seconds,
        "Age of the oldest webhook message not yet delivered (0: none pending)"
    );
    describe_gauge!(THROTTLED, "Client addresses the per-address guard holds");
    describe_gauge!(
        REGISTRY_CLIENTS,
        "Clients in this node's in-memory registry"
    );
    describe_gauge!(POOL, "Database pool connections by state (in_use, idle)");
    describe_gauge!(
        APIS_POOL,
        "The reference APIs' own database pool connections by state (in_use, idle)"
    );
}

/// The results `/oauth/token` answers with (the `result` label).
pub const TOKEN_RESULTS: [&str; 9] = [
    "issued",
    "invalid_request",
    "invalid_client",
    "invalid_scope",
    "unsupported_grant_type",
    "invalid_dpop_proof",
    "use_dpop_nonce",
    "rate_limited",
    "server_error",
];

/// Handles for `/oauth/token`, per API of the catalogue and `none` (the
/// request failed before a client, and so an API, was known).
pub struct TokenMetrics {
    apis: Vec<(String, [Counter; TOKEN_RESULTS.len()])>,
    none: [Counter; TOKEN_RESULTS.len()],
    duration: Histogram,
}

impl TokenMetrics {
    pub fn new<'a>(api_ids: impl IntoIterator<Item = &'a str>) -> Self {
        let counters = |api: &str| {
            TOKEN_RESULTS
                .map(|r| metrics::counter!(TOKEN_REQUESTS, "api" => api.to_owned(), "result" => r))
        };
        Self {
            apis: api_ids
                .into_iter()
                .map(|id| (id.to_owned(), counters(id)))
                .collect(),
            none: counters("none"),
            duration: metrics::histogram!(TOKEN_DURATION),
        }
    }

    /// Counts one answer; `api` is the client's project's, when known.
    pub fn record(&self, api: Option<&str>, result: &str, started: Instant) {
        let set = api
            .and_then(|a| self.apis.iter().find(|(id, _)| id == a))
            .map_or(&self.none, |(_, c)| c);
        if let Some(i) = TOKEN_RESULTS.iter().position(|r| *r == result) {
            set[i].increment(1);
        }
        self.duration.record(started.elapsed().as_secs_f64());
    }
}

/// Counts one webhook delivery attempt: `delivered` (2xx), `rejected`
/// (another status) or `unreachable`. Off the hot path: a lookup is fine.
pub fn webhook_delivery(outcome: &portcullis_core::webhooks::Outcome) {
    use portcullis_core::webhooks::Outcome;
    let result = match outcome {
        Outcome::Status(s) if (200..300).contains(s) => "delivered",
        Outcome::Status(_) => "rejected",
        Outcome::Unreachable(_) => "unreachable",
    };
    metrics::counter!(WEBHOOK_DELIVERIES, "result" => result).increment(1);
}

/// Held while a gate in another process follows the feed: counts it in
/// `portcullis_remote_gates{api}`.
pub struct Following(metrics::Gauge);

impl Following {
    pub fn new(api: &str) -> Self {
        let gauge = metrics::gauge!(REMOTE_GATES, "api" => api.to_owned());
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// What the scrape reads of this node's state.
pub struct Vitals {
    pub db: Db,
    /// The reference APIs' own pool.
    pub apis_db: portcullis_reference_apis::Db,
    pub readiness: Arc<Readiness>,
    pub registry: Arc<Registry>,
    pub client_failures: Arc<LoginThrottle>,
    pub reach: Arc<portcullis_core::gate_reach::GateReach>,
    pub clock: Arc<dyn portcullis_core::Clock>,
}

impl Vitals {
    async fn refresh(&self) {
        let report = self.readiness.check().await;
        metrics::gauge!(READY).set(f64::from(u8::from(report.ready)));
        if let Some(lag) = report.feed_lag_secs {
            metrics::gauge!(FEED_LAG).set(lag as f64);
        }
        let now = self.clock.now();
        // From the database: every node tells of every gate, whichever
        // node took its reports.
        let lags = tokio::time::timeout(Duration::from_secs(2), self.reach.lag_by_gate()).await;
        if let Ok(Ok(lags)) = lags {
            for g in lags {
                metrics::gauge!(GATE_LAG, "gate" => g.gate_id.clone()).set(g.lag_secs as f64);
                metrics::gauge!(GATE_LAG_CHANGES, "gate" => g.gate_id).set(g.changes_behind as f64);
            }
        }
        metrics::gauge!(REGISTRY_CLIENTS).set(self.registry.client_count() as f64);
        metrics::gauge!(THROTTLED).set(self.client_failures.len() as f64);
        for (name, pool) in [(POOL, &self.db), (APIS_POOL, &self.apis_db)] {
            let idle = pool.num_idle();
            let size = pool.size() as usize;
            metrics::gauge!(name, "state" => "idle").set(idle as f64);
            metrics::gauge!(name, "state" => "in_use").set(size.saturating_sub(idle) as f64);
        }
        let outbox = tokio::time::timeout(Duration::from_secs(2), async {
            let counts = store::webhooks::count_by_status(&self.db).await?;
            let oldest = store::webhooks::oldest_pending(&self.db).await?;
            Ok::<_, portcullis_core::Error>((counts, oldest))
        })
        .await;
        if let Ok(Ok((counts, oldest))) = outbox {
            for state in ["pending", "delivered", "failed"] {
                let n = counts.iter().find(|(s, _)| s == state).map_or(0, |c| c.1);
                metrics::gauge!(OUTBOX, "state" => state).set(n as f64);
            }
            let age = oldest.map_or(0, |at| (now - at).max(0));
            metrics::gauge!(OUTBOX_AGE).set(age as f64);
        }
    }
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    vitals: Option<Arc<Vitals>>,
}

/// `GET /metrics` (Prometheus text format 0.0.4); anything else is 404.
pub fn router(handle: PrometheusHandle, vitals: Option<Arc<Vitals>>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape { handle, vitals })
}

async fn scrape(State(s): State<Scrape>) -> impl IntoResponse {
    if let Some(v) = &s.vitals {
        v.refresh().await;
    }
    // Keeps the histogram's sample buffer small between scrapes.
    s.handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.handle.render(),
    )
}

/// Serves `router` on `addr` until `shutdown`.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        StartupError::Config(format!(
            "PORTCULLIS_METRICS_ADDR {addr}: cannot listen: {e}"
        ))
    })?;
    tracing::info!("metrics on http://{addr}/metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}
