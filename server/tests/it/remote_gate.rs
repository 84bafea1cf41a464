//! A gate in another process (`portcullis gate`, forward-auth) enforces
//! scopes, revocation and the project's bucket, learns of a revocation
//! within a second, and fails closed (or introspects) when it loses the
//! issuer's feed.

use std::time::Duration;

use serde_json::Value;

use crate::gate_process::{credential, Cut, Forwarder, GateProcess};
use crate::harness::{Creds, Owner, TestServer};

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
async fn gate_credentials_read_their_own_api_only() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    let feed = s.url("/gate/v1/feed");
    // No credential, a wrong secret, a revoked credential: 401.
    let res = client.get(&feed).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Basic realm=\"portcullis-gate\""
    );
    let (id, secret) = credential(&s, "partner").await;
    let res = client
        .get(&feed)
        .basic_auth(&id, Some("pgs_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(!res.text().await.unwrap().contains(&secret));
    let (old, old_secret) = credential(&s, "partner").await;
    s.gates.revoke(&old, "test").await.unwrap();
    let res = client
        .get(&feed)
        .basic_auth(&old, Some(&old_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // An unknown API is refused when the credential is made.
    assert!(s.gates.create("nope", "x", "test").await.is_err());

    // The snapshot holds this API's projects only.
    let owner = s.owner("two@example.com").await;
    let (partner_project, partner) = s
        .api_client(&owner, "Lending", "partner", &["applications:read"])
        .await;
    let (caas_project, caas) = s
        .api_client(&owner, "Enrich", "caas", &["caas:transactions:read"])
        .await;
    let mut res = client
        .get(&feed)
        .basic_auth(&id, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = res.chunk().await.unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: snapshot"), "{text}");
    assert!(text.contains(&partner_project));
    assert!(
        !text.contains(&caas_project),
        "another API's project leaked"
    );
    drop(res);

    // Introspection answers for this API's tokens only.
    let introspect = |token: String| {
        let client = client.clone();
        let url = s.url("/gate/v1/introspect");
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            let res = client
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let mine = s.access_token(&partner, "applications:read").await;
    let theirs = s.access_token(&caas, "caas:transactions:read").await;
    assert_eq!(introspect(mine).await["active"], true);
    assert_eq!(
        introspect(theirs).await,
        serde_json::json!({ "active": false })
    );
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

#[tokio::test]
async fn only_staff_make_and_revoke_gate_credentials_in_the_console() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let none: &[(&str, &str)] = &[];
    // Account users and strangers are refused.
    assert_eq!(s.call(&owner.browser, "staff_gates", none).await.0, 403);
    let form = [("api_id", "partner"), ("name", "edge")];
    assert_eq!(
        s.call(&owner.browser, "staff_gate_create", &form).await.0,
        403
    );
    assert_eq!(
        s.call(&s.browser(), "staff_gate_create", &form).await.0,
        401
    );
    assert!(s.gates.list().await.unwrap().is_empty());

    let staff = crate::staff::staff_browser(&s).await;
    let (status, made) = s.call(&staff, "staff_gate_create", &form).await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pgs_"));
    // Bad input changes nothing.
    let (status, err) = s
        .call(
            &staff,
            "staff_gate_create",
            &[("api_id", "nope"), ("name", "x")],
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = s
        .call(
            &staff,
            "staff_gate_create",
            &[("api_id", "partner"), ("name", " ")],
        )
        .await;
    assert_eq!(status, 422, "{err}");

    let (status, listed) = s.call(&staff, "staff_gates", none).await;
    assert_eq!(status, 200);
    let rows = listed["credentials"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["created_by"], "support@portcullis.example");
    assert_eq!(rows[0]["api_name"], "Partner API");
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );

    let introspect = || {
        reqwest::Client::new()
            .post(s.url("/gate/v1/introspect"))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", "x")])
            .send()
    };
    assert_eq!(introspect().await.unwrap().status(), 200);
    let (status, _) = s
        .call(&staff, "staff_gate_revoke", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(introspect().await.unwrap().status(), 401);
    let (status, _) = s
        .call(&staff, "staff_gate_revoke", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 404, "revoked already");
}

/// One gate credential holds a bounded number of feed connections and
/// sends a bounded number of rate-limited reports a minute; gates that
/// connect together get one snapshot, made once.
#[tokio::test]
async fn a_gate_credential_s_feeds_and_reports_are_bounded() {
    use portcullis_server::gate_bounds::{FEEDS_PER_CREDENTIAL_MAX, REPORTS_PER_MINUTE_MAX};
    let s = TestServer::start().await;
    let (id, secret) = credential(&s, "partner").await;
    let open = || async {
        reqwest::Client::new()
            .get(s.url("/gate/v1/feed"))
            .basic_auth(&id, Some(&secret))
            .send()
            .await
            .unwrap()
    };
    let mut feeds = Vec::new();
    for _ in 0..FEEDS_PER_CREDENTIAL_MAX {
        let res = open().await;
        assert_eq!(res.status(), 200);
        feeds.push(res);
    }
    let res = open().await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Each held connection got the same snapshot first.
    let mut snapshots = Vec::new();
    for res in feeds.iter_mut().take(2) {
        let mut text = String::new();
        while !text.contains("\n\n") {
            let chunk = res.chunk().await.unwrap().unwrap();
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(text.contains("event: snapshot"), "{text}");
        let event = text.split("\n\n").next().unwrap().to_owned();
        // The data, not the position (the feed may move on between them).
        snapshots.push(event.split_once("data: ").unwrap().1.to_owned());
    }
    assert_eq!(snapshots[0], snapshots[1]);
    // Closing one gives its place back.
    drop(feeds);
    let mut again = None;
    for _ in 0..50 {
        let res = open().await;
        if res.status() == 200 {
            again = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "places are given back when feeds close");

    let report = || {
        reqwest::Client::new()
            .post(s.url("/gate/v1/limited"))
            .basic_auth(&id, Some(&secret))
            .json(&serde_json::json!({ "limited": [{ "project_id": "prj_none", "at": 0 }] }))
            .send()
    };
    for _ in 0..REPORTS_PER_MINUTE_MAX {
        assert_eq!(report().await.unwrap().status(), 204);
    }
    let res = report().await.unwrap();
    assert_eq!(res.status(), 429);
    s.clock.advance(60);
    assert_eq!(report().await.unwrap().status(), 204);
}
