//! Daily token quotas: past the day's quota the token endpoint answers
//! 429 naming it, with Retry-After to 00:00 UTC; the owners hear at 80 %
//! and at the first refusal (once a day each); the next UTC day starts
//! afresh; two nodes share one quota exactly.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::cluster::Cluster;
use crate::harness::*;

const DAY: i64 = 86_400;

#[tokio::test]
async fn past_the_day_s_quota_tokens_wait_for_the_next_utc_day() {
    let s = TestServer::start_with(|c| {
        c.session_idle_minutes = 3 * 24 * 60;
        c.session_absolute_hours = 3 * 24;
    })
    .await;
    let (owner, project, creds) = s
        .partner_client("quota@example.com", &["applications:read"])
        .await;
    let hooks = ["manage:webhooks:write", "manage:projects:read"];
    let (_, manager) = s.api_client(&owner, "Automation", "manage", &hooks).await;
    let token = s.access_token(&manager, &hooks.join(" ")).await;
    let (status, made) = manage_call(
        &s.base,
        &token,
        Method::POST,
        "/webhooks",
        Some(json!({ "url": "https://hooks.example.com/q",
            "events": ["project.quota_warning", "project.quota_exhausted"] })),
    )
    .await;
    assert_eq!(status, 201, "{made}");

    // Bad quotas are refused and change nothing.
    for bad in ["0", "-3", "lots", "100000001"] {
        let form = [("id", project.as_str()), ("daily_token_quota", bad)];
        let (status, body) = s.call(&owner.browser, "project_quota", &form).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    let form = [("id", project.as_str()), ("daily_token_quota", "5")];
    let (status, body) = s.call(&owner.browser, "project_quota", &form).await;
    assert_eq!(status, 200, "{body}");

    for _ in 0..5 {
        s.access_token(&creds, "applications:read").await;
    }
    for _ in 0..2 {
        let res = s
            .token_basic(&creds, &[("scope", "applications:read")])
            .await;
        assert_eq!(res.status(), 429);
        let now = s.clock_now();
        let retry: i64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(retry, DAY - now.rem_euclid(DAY), "to 00:00 UTC");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "quota_exceeded");
        let text = body["error_description"].as_str().unwrap();
        assert!(text.contains("daily token quota of 5 tokens"), "{text}");
    }
    let (_, page) = s
        .call(&owner.browser, "project", &[("id", project.as_str())])
        .await;
    assert_eq!(page["tokens_today"], 5, "refusals mint nothing");
    assert_eq!(page["project"]["daily_token_quota"], 5);

    // Each notice once, however many refusals.
    let kinds: Vec<String> = sqlx::query_as::<_, (String,)>(
        "select event_type from webhook_messages order by event_type desc",
    )
    .fetch_all(&s.db)
    .await
    .unwrap()
    .into_iter()
    .map(|(k,)| k)
    .collect();
    assert_eq!(kinds, ["project.quota_warning", "project.quota_exhausted"]);
    let (payload,): (String,) = sqlx::query_as(
        "select payload from webhook_messages where event_type = 'project.quota_exhausted'",
    )
    .fetch_one(&s.db)
    .await
    .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["data"]["daily_token_quota"], 5);
    assert_eq!(payload["data"]["project_id"], project.as_str());

    // A new UTC day.
    s.clock.advance(DAY);
    s.access_token(&creds, "applications:read").await;
    // No quota: no limit.
    let form = [("id", project.as_str()), ("daily_token_quota", "")];
    assert_eq!(s.call(&owner.browser, "project_quota", &form).await.0, 200);
    for _ in 0..6 {
        s.access_token(&creds, "applications:read").await;
    }
}

/// Two nodes share one quota: however the requests are spread, at once or
/// in turn, exactly the quota's tokens are minted.
#[tokio::test]
async fn two_nodes_mint_exactly_the_quota_between_them() {
    let cluster = Cluster::start_on_test_backend(2).await;
    let owner = cluster.owner(0, "shared-quota@example.com").await;
    let project = cluster.project(0, &owner, "Shared").await;
    let form = [("id", project.as_str()), ("daily_token_quota", "120")];
    let (status, body) = cluster.call(0, &owner, "project_quota", &form).await;
    assert_eq!(status, 200, "{body}");
    // A bucket that refuses nothing here: only the quota counts.
    let limit = [
        ("id", project.as_str()),
        ("rate_per_sec", "10000"),
        ("rate_burst", "10000"),
    ];
    let (status, body) = cluster.call(0, &owner, "project_rate_limit", &limit).await;
    assert_eq!(status, 200, "{body}");
    // The client comes after the quota in the change feed: a node that
    // knows it knows the quota.
    let creds = cluster
        .client(0, &owner, &project, &["applications:read"])
        .await;
    crate::cluster::client_known(&cluster, 1, &creds).await;
    let minted = |statuses: Vec<u16>| {
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 429),
            "{statuses:?}"
        );
        statuses.iter().filter(|s| **s == 200).count()
    };
    // 150 at once, over both nodes (leases of 15 at first, then fewer) ...
    let at_once = futures_util::future::join_all((0..150).map(|i| {
        let (cluster, creds) = (&cluster, &creds);
        async move {
            cluster
                .token(i % 2, creds, "applications:read")
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    let mut total = minted(at_once);
    // ... then in turn until both nodes refuse (what one node still held
    // in its lease it hands out now), past the 5 s in which a node that
    // found the quota used up refuses from memory.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut refused_in_a_row = 0;
    for i in 0..200 {
        let res = cluster.token(i % 2, &creds, "applications:read").await;
        if res.status() == 429 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"], "quota_exceeded", "{body}");
            refused_in_a_row += 1;
            if refused_in_a_row == 4 {
                break;
            }
        } else {
            assert_eq!(res.status(), 200);
            refused_in_a_row = 0;
            total += 1;
        }
    }
    assert_eq!(total, 120);
}

/// Without its database a node still mints (the token endpoint works from
/// memory); the quota is simply not counted meanwhile.
#[tokio::test]
async fn without_the_database_tokens_are_minted_uncounted() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("quota-down@example.com", &["applications:read"])
        .await;
    let form = [("id", project.as_str()), ("daily_token_quota", "1")];
    assert_eq!(s.call(&owner.browser, "project_quota", &form).await.0, 200);
    s.db.close().await;
    for _ in 0..3 {
        s.access_token(&creds, "applications:read").await;
    }
}
