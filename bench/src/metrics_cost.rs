//! What metrics cost on the hot paths (issue 24's target: under 3 %): two
//! release nodes, each on its own SQLite file, one serving
//! `PORTCULLIS_METRICS_ADDR` and one not, take the same token requests
//! and gated reads in alternating rounds; the medians of throughput and
//! of the node's CPU per request are compared (on two shared cores the
//! throughput of a slice swings by a fifth; CPU per request much less).
//! A scrape at the end shows the measured node did count.

use std::time::Duration;

use crate::http;
use crate::load::{self, RequestSpec};
use crate::nodes;

pub async fn compare(
    binary: &str,
    connections: usize,
    rounds: usize,
    slice: Duration,
) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let master = "6d".repeat(32);
    let metrics_addr = nodes::free_addr()?;
    let mut targets = Vec::new();
    for (name, env) in [
        (
            "metrics on",
            vec![("PORTCULLIS_METRICS_ADDR", metrics_addr.as_str())],
        ),
        ("metrics off", vec![("PORTCULLIS_METRICS_ADDR", "off")]),
    ] {
        let db = format!(
            "sqlite://{}",
            dir.path()
                .join(format!("{}.db", name.replace(' ', "_")))
                .display()
        );
        let node = nodes::spawn(binary, &db, "", &master, dir.path(), &env).await?;
        let creds = http::provision(&node.addr, "applications:read").await?;
        let token = http::access_token(&node.addr, &creds, "applications:read").await?;
        let token_spec = RequestSpec::post(
            "/oauth/token",
            &creds.basic(),
            "grant_type=client_credentials&scope=applications%3Aread",
        );
        let read_spec = RequestSpec::get("/partner/v1/applications", &format!("Bearer {token}"));
        targets.push((name, node, token_spec, read_spec));
    }
    println!(
        "\n{:<34} {:>10} {:>12} {:>10} {:>10} {:>11}",
        "metrics on and off (two nodes)", "requests", "req/s", "p50 ms", "p99 ms", "CPU µs/req"
    );
    // Per node: (tokens/s, reads/s, CPU µs a token, CPU µs a read).
    let mut seen = vec![[Vec::new(), Vec::new(), Vec::new(), Vec::new()]; targets.len()];
    for round in 1..=rounds {
        // Which node goes first alternates too: a slice can feel the one
        // before it (background flushes), and that should hit both alike.
        let order: [usize; 2] = if round % 2 == 1 { [0, 1] } else { [1, 0] };
        for i in order {
            let (name, node, token_spec, read_spec) = &targets[i];
            for (what, spec, k) in [("tokens", token_spec, 0), ("gated reads", read_spec, 1)] {
                let cpu0 = node.cpu_ns()?;
                let report =
                    load::run(&node.addr, spec, connections, Duration::ZERO, slice).await?;
                let cpu = (node.cpu_ns()? - cpu0) as f64 / 1_000.0 / report.requests.max(1) as f64;
                println!(
                    "{:<34} {:>10} {:>12.0} {:>10.2} {:>10.2} {:>11.1}",
                    format!("{what}, {name} (round {round})"),
                    report.requests,
                    report.rate(),
                    report.percentile_ms(0.50),
                    report.percentile_ms(0.99),
                    cpu
                );
                if report.errors > 0 {
                    return Err(format!("{what}, {name}: {} requests failed", report.errors));
                }
                seen[i][k].push(report.rate());
                seen[i][k + 2].push(cpu);
            }
        }
    }
    let [on, off] = [0, 1].map(|i| seen[i].clone().map(|mut v| load::median(&mut v)));
    let apart = |k: usize| (on[k] - off[k]).abs() / off[k] * 100.0;
    println!(
        "median of {rounds} rounds: tokens/s {:.0} with metrics, {:.0} without ({:.1}% apart); gated req/s {:.0} with, {:.0} without ({:.1}% apart)",
        on[0], off[0], apart(0), on[1], off[1], apart(1)
    );
    println!(
        "node CPU per request: a token {:.1} µs with metrics, {:.1} µs without ({:+.1}%); a gated read {:.1} µs with, {:.1} µs without ({:+.1}%)",
        on[2], off[2], (on[2] / off[2] - 1.0) * 100.0,
        on[3], off[3], (on[3] / off[3] - 1.0) * 100.0,
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "target: under 3% apart: throughput {}, CPU per request {}",
        verdict(apart(0) < 3.0 && apart(1) < 3.0),
        verdict(apart(2) < 3.0 && apart(3) < 3.0),
    );
    // The node with metrics did count what it served.
    let text = http::get_text(&metrics_addr, "/metrics").await?;
    let issued = text
        .lines()
        .find(|l| {
            l.starts_with("portcullis_token_requests_total{")
                && l.contains("result=\"issued\"")
                && l.contains("api=\"partner\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    println!("the metrics node's portcullis_token_requests_total{{api=\"partner\",result=\"issued\"}}: {issued:.0}");
    if issued < 1.0 {
        return Err("the node with metrics counted no tokens".into());
    }
    Ok(())
}
