//! A gate in another process (`portcullis gate`, forward-auth) enforces
//! scopes, revocation and the project's bucket, learns of a revocation
//! within a second, and fails closed (or introspects) when it loses the
//! issuer's feed. What a gate credential may read and ask is in
//! `credentials`.

use std::time::Duration;

use serde_json::Value;

use crate::gate_process::{credential, Cut, Forwarder, GateProcess};
use crate::harness::{Creds, Owner, TestServer};

mod credentials;
mod refusals;

const READ: &str = "/partner/v1/applications";
const DECISION: &str = "/partner/v1/applications/app_1/decision";

/// An account with a Partner API client holding `scopes` (with a bucket
/// too big to be what is tested) and a gate process following `issuer_url`.
pub(crate) async fn behind_a_gate(
    s: &TestServer,
    email: &str,
    scopes: &[&str],
    issuer_url: &str,
    args: &[&str],
) -> (Owner, String, Creds, GateProcess) {
    let (owner, project, creds) = s.partner_client(email, scopes).await;
    s.set_rate_limit(&owner, &project, 10_000, 10_000).await;
    let gate = GateProcess::start(s, issuer_url, &credential(s, "partner").await, args).await;
    (owner, project, creds, gate)
}

#[tokio::test]
async fn a_remote_gate_allows_refuses_and_hears_of_revocation_within_a_second() {
    let s = TestServer::start().await;
    let (owner, project, creds, gate) = behind_a_gate(
        &s,
        "gate@example.com",
        &["applications:read", "decisions:read"],
        &s.base,
        &[],
    )
    .await;
    let token = s.access_token(&creds, "applications:read").await;
    gate.until(&token, "GET", READ, 200, Duration::from_secs(10))
        .await;

    // Allowed: who is calling, for the proxy to pass on, and the bucket.
    let res = gate.ask(Some(&token), "GET", READ).await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["x-portcullis-client-id"], creds.id.as_str());
    assert_eq!(h["x-portcullis-project-id"], project.as_str());
    assert_eq!(h["x-portcullis-scope"], "applications:read");
    assert!(h["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"project\";r="));

    // A route whose scope the token lacks: 403 insufficient_scope.
    let res = gate.ask(Some(&token), "GET", DECISION).await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\", error=\"insufficient_scope\", scope=\"decisions:read\""
    );
    // A route the routes file does not list is open to no token.
    let res = gate.ask(Some(&token), "DELETE", READ).await;
    assert_eq!(res.status(), 403);
    // No token, a forged one, a token for another API.
    assert_eq!(gate.ask(None, "GET", READ).await.status(), 401);
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(gate.ask(Some(&forged), "GET", READ).await.status(), 401);
    let caas_owner = s.owner("caas@example.com").await;
    let (_, caas) = s
        .api_client(&caas_owner, "Enrich", "caas", &["caas:transactions:read"])
        .await;
    let caas_token = s.access_token(&caas, "caas:transactions:read").await;
    let res = gate.ask(Some(&caas_token), "GET", READ).await;
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("another API"), "{challenge}");

    // Revoked at the issuer: refused by the gate within a second.
    let res = s
        .oauth_post("/oauth/revoke", &creds, &[("token", token.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let took = gate
        .until(&token, "GET", READ, 401, Duration::from_secs(1))
        .await;
    let res = gate.ask(Some(&token), "GET", READ).await;
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("revoked"), "{challenge} after {took:?}");

    // A client created after the gate started mints tokens the gate takes.
    let fresh = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let t2 = s.access_token(&fresh, "applications:read").await;
    gate.until(&t2, "GET", READ, 200, Duration::from_secs(1))
        .await;
}

#[tokio::test]
async fn a_remote_gate_charges_the_projects_bucket() {
    let s = TestServer::start().await;
    let (owner, project, creds, gate) = behind_a_gate(
        &s,
        "bucket@example.com",
        &["applications:read"],
        &s.base,
        &[],
    )
    .await;
    let token = s.access_token(&creds, "applications:read").await;
    gate.until(&token, "GET", READ, 200, Duration::from_secs(10))
        .await;
    hook(&s, &owner).await;
    // The new setting reaches the gate through the feed.
    s.set_rate_limit(&owner, &project, 3, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(gate.ask(Some(&token), "GET", READ).await);
    }
    let limited: Vec<_> = statuses.iter().filter(|r| r.status() == 429).collect();
    assert!(limited.len() >= 4, "{} of 8 limited", limited.len());
    let h = limited[0].headers();
    assert!(h.contains_key("retry-after"));
    assert_eq!(h["ratelimit-policy"], "\"project\";q=3;w=1");

    // The gate tells the issuer, which writes the owner's webhook (once).
    let messages = || async {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select payload from webhook_messages where event_type = 'project.rate_limited'",
        )
        .fetch_all(&s.db)
        .await
        .unwrap();
        rows
    };
    let start = std::time::Instant::now();
    while messages().await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no project.rate_limited from the gate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = messages().await;
    assert_eq!(rows.len(), 1);
    let event: Value = serde_json::from_str(&rows[0].0).unwrap();
    assert_eq!(event["data"]["project_id"], project.as_str());

    // A gate's report only counts for its own API's projects.
    let caas_owner = s.owner("caas-hooks@example.com").await;
    let (caas_project, _) = s
        .api_client(&caas_owner, "Enrich", "caas", &["caas:transactions:read"])
        .await;
    hook(&s, &caas_owner).await;
    let (id, secret) = credential(&s, "partner").await;
    let res = reqwest::Client::new()
        .post(s.url("/gate/v1/limited"))
        .basic_auth(&id, Some(&secret))
        .json(&serde_json::json!({ "limited": [{ "project_id": caas_project, "at": 0 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        messages().await.len(),
        1,
        "no event for another API's project"
    );
    let res = reqwest::Client::new()
        .post(s.url("/gate/v1/limited"))
        .basic_auth(&id, Some("wrong"))
        .json(&serde_json::json!({ "limited": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// An endpoint for `project.rate_limited`, registered in the console.
async fn hook(s: &TestServer, owner: &Owner) {
    let (status, body) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[
                ("url", "https://hooks.example.com/in"),
                ("events", "project.rate_limited"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_gate_that_loses_the_feed_fails_closed_then_recovers() {
    let s = TestServer::start().await;
    let link = Forwarder::start(&s.base).await;
    let (_, _, creds, gate) = behind_a_gate(
        &s,
        "closed@example.com",
        &["applications:read"],
        &link.url,
        &["--stale-after", "2"],
    )
    .await;
    let token = s.access_token(&creds, "applications:read").await;
    gate.until(&token, "GET", READ, 200, Duration::from_secs(10))
        .await;
    let probe = |path: &'static str| {
        let url = format!("{}{path}", gate.base);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(
        (probe("/healthz").await, probe("/readyz").await),
        (200, 200)
    );

    link.cut(Cut::All);
    let took = gate
        .until(&token, "GET", READ, 503, Duration::from_secs(5))
        .await;
    assert!(took >= Duration::from_millis(1500), "closed after {took:?}");
    // Its orchestrator sees it too: alive, not ready.
    assert_eq!(
        (probe("/healthz").await, probe("/readyz").await),
        (200, 503)
    );
    let res = gate.ask(Some(&token), "GET", READ).await;
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"].as_str().unwrap().contains("feed"));

    // Revoked while the gate was cut off: it resumes and knows.
    let res = s
        .oauth_post("/oauth/revoke", &creds, &[("token", token.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let other = s.access_token(&creds, "applications:read").await;
    link.cut(Cut::None);
    gate.until(&other, "GET", READ, 200, Duration::from_secs(10))
        .await;
    assert_eq!(gate.ask(Some(&token), "GET", READ).await.status(), 401);
    assert_eq!(probe("/readyz").await, 200);
}

#[tokio::test]
async fn a_gate_set_to_introspect_asks_the_issuer_while_the_feed_is_lost() {
    let s = TestServer::start().await;
    let link = Forwarder::start(&s.base).await;
    let (_, _, creds, gate) = behind_a_gate(
        &s,
        "introspect@example.com",
        &["applications:read"],
        &link.url,
        &["--stale-after", "2", "--on-stale", "introspect"],
    )
    .await;
    let token = s.access_token(&creds, "applications:read").await;
    let doomed = s.access_token(&creds, "applications:read").await;
    gate.until(&token, "GET", READ, 200, Duration::from_secs(10))
        .await;

    link.cut(Cut::Feed);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The feed cannot tell the gate; only introspection can.
    let res = s
        .oauth_post("/oauth/revoke", &creds, &[("token", doomed.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(gate.ask(Some(&doomed), "GET", READ).await.status(), 401);
    assert_eq!(gate.ask(Some(&token), "GET", READ).await.status(), 200);

    // With the issuer gone entirely, it cannot decide: 503.
    link.cut(Cut::All);
    assert_eq!(gate.ask(Some(&token), "GET", READ).await.status(), 503);
}

#[tokio::test]
async fn with_redis_a_remote_gate_and_the_token_endpoint_share_one_bucket() {
    let Ok(redis) = std::env::var(crate::cluster::REDIS_ENV) else {
        return; // The SQLite pass has no Redis; the PostgreSQL pass does.
    };
    let s = TestServer::start_with(|c| c.redis_url = Some(redis.clone())).await;
    let (owner, project, creds, gate) = behind_a_gate(
        &s,
        "shared@example.com",
        &["applications:read"],
        &s.base,
        &["--redis-url", &redis],
    )
    .await;
    let token = s.access_token(&creds, "applications:read").await;
    gate.until(&token, "GET", READ, 200, Duration::from_secs(10))
        .await;
    s.set_rate_limit(&owner, &project, 1, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Empty the bucket at the token endpoint…
    let mut minted = 0;
    while s
        .token_basic(&creds, &[("scope", "applications:read")])
        .await
        .status()
        == 200
    {
        minted += 1;
        assert!(minted < 10, "the token endpoint was never limited");
    }
    // …and the gate in the other process finds it empty too.
    let res = gate.ask(Some(&token), "GET", READ).await;
    assert_eq!(res.status(), 429, "the gate charged a bucket of its own");
}
