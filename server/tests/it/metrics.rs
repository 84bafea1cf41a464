//! Prometheus metrics, read by an independent parser of the text format
//! (`prometheus-parse`): a real `portcullis serve` process with its
//! metrics listener, and a real `portcullis gate` with its own. Counts
//! follow what was asked; labels name APIs, results and gate credentials,
//! never a client, secret or token; the public port serves no metrics.

use std::time::Duration;

use prometheus_parse::{Sample, Scrape, Value};
use reqwest::Client;

use crate::cluster::{within, Cluster};
use crate::gate_process::{free_addr, GateProcess};
use crate::harness::TestServer;
use crate::remote_gate::behind_a_gate;

const READ: &str = "/partner/v1/applications";

async fn scrape(url: &str) -> (String, Scrape) {
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    (text, parsed)
}

/// The value of the sample `name` whose labels include `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matches =
        |s: &&Sample| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v));
    scrape.samples.iter().find(matches).map(|s| match &s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
        Value::Summary(_) => f64::NAN,
    })
}

#[tokio::test]
async fn a_node_counts_tokens_and_gate_decisions_on_its_own_listener() {
    let cluster = Cluster::start_on_test_backend(1).await;
    let owner = cluster.owner(0, "metrics@example.com").await;
    let project = cluster.project(0, &owner, "Metered").await;
    let creds = cluster
        .client(0, &owner, &project, &["applications:read"])
        .await;

    // Tokens: one issued, one bad secret, one scope the client lacks.
    let res = cluster.token(0, &creds, "applications:read").await;
    assert_eq!(res.status(), 200);
    let token = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut wrong = creds.clone();
    wrong.secret.push('x');
    assert_eq!(
        cluster.token(0, &wrong, "applications:read").await.status(),
        401
    );
    assert_eq!(
        cluster
            .token(0, &creds, "applications:write")
            .await
            .status(),
        400
    );

    // The in-process gate: allowed, forbidden (no applications:write),
    // unauthorized (no token).
    let http = Client::new();
    let call = |method: reqwest::Method, token: Option<&str>| {
        let mut req = http.request(method, cluster.url(0, READ));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.json(&serde_json::json!({ "name": "x" })).send()
    };
    assert_eq!(
        call(reqwest::Method::GET, Some(&token))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        call(reqwest::Method::POST, Some(&token))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        call(reqwest::Method::GET, None).await.unwrap().status(),
        401
    );

    let (text, m) = scrape(&cluster.nodes[0].metrics).await;
    let tokens = "portcullis_token_requests_total";
    assert_eq!(
        value(&m, tokens, &[("api", "partner"), ("result", "issued")]),
        Some(1.0)
    );
    assert_eq!(
        value(&m, tokens, &[("api", "none"), ("result", "invalid_client")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            tokens,
            &[("api", "partner"), ("result", "invalid_scope")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            tokens,
            &[("api", "partner"), ("result", "rate_limited")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&m, "portcullis_token_request_duration_seconds", &[]),
        Some(3.0),
        "every answer is timed"
    );
    let gate = "portcullis_gate_decisions_total";
    for (result, n) in [("allowed", 1.0), ("forbidden", 1.0), ("unauthorized", 1.0)] {
        assert_eq!(
            value(&m, gate, &[("api", "partner"), ("result", result)]),
            Some(n),
            "{result}"
        );
    }
    // State, read at the scrape.
    assert_eq!(value(&m, "portcullis_ready", &[]), Some(1.0));
    assert_eq!(value(&m, "portcullis_feed_lag_seconds", &[]), Some(0.0));
    assert!(value(&m, "portcullis_registry_clients", &[]).unwrap() >= 1.0);
    assert!(value(&m, "portcullis_db_pool_connections", &[("state", "idle")]).is_some());
    assert!(value(
        &m,
        "portcullis_apis_db_pool_connections",
        &[("state", "idle")]
    )
    .is_some());
    assert_eq!(
        value(
            &m,
            "portcullis_webhook_outbox_messages",
            &[("state", "pending")]
        ),
        Some(0.0)
    );
    assert!(value(&m, "portcullis_throttled_addresses", &[]).unwrap() >= 1.0);
    // Nothing that identifies a caller.
    for secret in [&creds.id, &creds.secret, &token, &project] {
        assert!(!text.contains(secret.as_str()), "a metric names {secret}");
    }
    assert!(text.contains("# HELP portcullis_token_requests_total"));

    // A gate in another process following this node's feed is counted
    // while it follows.
    let gate_id = cluster.cli(&["gates", "add", "--api", "partner", "--name", "m"], "");
    let line = |name: &str| {
        gate_id
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let feed = http
        .get(cluster.url(0, "/gate/v1/feed"))
        .basic_auth(line("GATE_CLIENT_ID"), Some(line("GATE_CLIENT_SECRET")))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let remote = |n: f64| {
        let url = cluster.nodes[0].metrics.clone();
        async move {
            let (_, m) = scrape(&url).await;
            value(&m, "portcullis_remote_gates", &[("api", "partner")]) == Some(n)
        }
    };
    within(Duration::from_secs(5), "the gate counted", || remote(1.0)).await;
    drop(feed);
    within(Duration::from_secs(5), "the gate no longer counted", || {
        remote(0.0)
    })
    .await;

    // A `portcullis gate` reports the position it applied: its lag is 0
    // while it keeps up, follows a change, and grows once it goes silent.
    let dir = tempfile::tempdir().unwrap();
    let (gid, gsecret) = (line("GATE_CLIENT_ID"), line("GATE_CLIENT_SECRET"));
    let mut gate = GateProcess::start_in(
        dir.path(),
        &cluster.nodes[0].base,
        &(gid.clone(), gsecret),
        &[],
    )
    .await;
    let lag = |seconds: f64, changes: f64| {
        let (url, gid) = (cluster.nodes[0].metrics.clone(), gid.clone());
        async move {
            let (_, m) = scrape(&url).await;
            let g = [("gate", gid.as_str())];
            value(&m, "portcullis_remote_gate_lag_changes", &g) == Some(changes)
                && value(&m, "portcullis_remote_gate_lag_seconds", &g).is_some_and(|s| s >= seconds)
        }
    };
    within(
        Duration::from_secs(10),
        "the gate reported, current",
        || lag(0.0, 0.0),
    )
    .await;
    cluster
        .client(0, &owner, &project, &["applications:read"])
        .await;
    within(
        Duration::from_secs(10),
        "the gate caught up with a change",
        || lag(0.0, 0.0),
    )
    .await;
    gate.stop();
    within(
        Duration::from_secs(25),
        "a silent gate shows as behind",
        || lag(11.0, 0.0),
    )
    .await;

    // The dashboard and the alerts query only what a node serves.
    let (text, _) = scrape(&cluster.nodes[0].metrics).await;
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/grafana");
    let mut queried = std::collections::BTreeSet::new();
    for file in ["portcullis.json", "alerts.yml"] {
        let source = std::fs::read_to_string(format!("{examples}/{file}")).unwrap();
        for (at, _) in source.match_indices("portcullis_") {
            let name: String = source[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            queried.insert(name);
        }
    }
    assert!(queried.len() >= 12, "{queried:?}");
    for name in &queried {
        let served = text
            .lines()
            .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")));
        assert!(
            served,
            "examples/grafana queries {name}, which /metrics does not serve"
        );
    }

    // The public port does not serve them (a visitor is sent to log in).
    let public = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(cluster.url(0, "/metrics"))
        .send()
        .await
        .unwrap();
    assert_ne!(public.status(), 200);
    assert!(!public.text().await.unwrap().contains(tokens));
}

#[tokio::test]
async fn a_gate_process_counts_its_decisions_under_its_credential() {
    let s = TestServer::start().await;
    let metrics = free_addr();
    let (_, _, creds, gate) = behind_a_gate(
        &s,
        "gm@example.com",
        &["applications:read"],
        &s.base,
        &["--metrics-listen", &metrics],
    )
    .await;
    let token = s.access_token(&creds, "applications:read").await;
    gate.until(&token, "GET", READ, 200, Duration::from_secs(10))
        .await;
    let (_, before) = scrape(&format!("http://{metrics}/metrics")).await;
    let labels = |result| [("gate", gate.id.as_str()), ("result", result)];
    let allowed = value(
        &before,
        "portcullis_gate_decisions_total",
        &labels("allowed"),
    )
    .unwrap();

    assert_eq!(gate.ask(Some(&token), "GET", READ).await.status(), 200);
    assert_eq!(gate.ask(Some(&token), "DELETE", READ).await.status(), 403);
    assert_eq!(gate.ask(None, "GET", READ).await.status(), 401);

    let (text, m) = scrape(&format!("http://{metrics}/metrics")).await;
    let count = |result| value(&m, "portcullis_gate_decisions_total", &labels(result));
    assert_eq!(count("allowed"), Some(allowed + 1.0));
    assert_eq!(count("forbidden"), Some(1.0));
    assert_eq!(count("rate_limited"), Some(0.0));
    assert!(count("unauthorized").unwrap() >= 1.0);
    assert!(!text.contains(&token) && !text.contains(&creds.id));
    // Only /metrics there.
    let other = reqwest::get(format!("http://{metrics}/")).await.unwrap();
    assert_eq!(other.status(), 404);
}
