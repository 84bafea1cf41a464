//! Use summed over the cluster (issue 25): tokens minted per client and
//! calls let through, refused and rate limited per project, counted where
//! they happen, written in batches, and read by the management API and the
//! project page; gate reports counted once each, only for their own API;
//! three nodes and a gate in another process add up.

use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::cluster::{within, Cluster};
use crate::gate_process::GateProcess;
use crate::harness::*;

const READ: &str = "manage:projects:read";

async fn usage(s: &TestServer, token: &str, project: &str, span: &str) -> (u16, Value) {
    manage_call(
        &s.base,
        token,
        Method::GET,
        &format!("/projects/{project}/usage{span}"),
        None,
    )
    .await
}

/// A call to the partner API through this server's in-process gate.
async fn list_applications(s: &TestServer, token: &str) -> u16 {
    Client::new()
        .get(s.url("/partner/v1/applications"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_management_api_reads_tokens_calls_and_refusals_per_project_and_client() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("use@example.com", &["applications:read", "decisions:read"])
        .await;
    let (_, manager) = s.api_client(&owner, "Reports", "manage", &[READ]).await;
    let read_token = s.access_token(&manager, READ).await;

    let token = s.access_token(&creds, "applications:read").await;
    s.access_token(&creds, "applications:read").await;
    let narrow = s.access_token(&creds, "decisions:read").await;
    assert_eq!(list_applications(&s, &token).await, 200);
    assert_eq!(list_applications(&s, &token).await, 200);
    assert_eq!(list_applications(&s, &narrow).await, 403);
    // A token that is no token names no project: counted nowhere.
    assert_eq!(list_applications(&s, "not-a-token").await, 401);

    let check = |body: &Value| {
        assert_eq!(body["project_id"], project.as_str());
        assert_eq!(
            body["totals"],
            json!({ "minted": 3, "gated": 2, "refused": 1, "limited": 0 }),
            "{body}"
        );
        assert_eq!(
            body["clients"],
            json!([{ "client_id": creds.id, "minted": 3 }])
        );
        let series = body["series"].as_array().unwrap();
        let minted: u64 = series.iter().map(|p| p["minted"].as_u64().unwrap()).sum();
        assert_eq!(minted, 3);
    };
    // At once (this node's counts not yet written are added) ...
    let (status, now) = usage(&s, &read_token, &project, "").await;
    assert_eq!(status, 200, "{now}");
    check(&now);
    assert_eq!(now["span"], "minute");
    assert_eq!(
        now["to"].as_i64().unwrap() - now["from"].as_i64().unwrap(),
        (48 * 60 - 1) * 60
    );
    // ... and the same once written (every few seconds; here by hand), not
    // twice.
    assert!(s.usage.flush().await.unwrap() >= 2);
    assert!(s.count("usage_minutes").await >= 2);
    assert!(s.count("usage_hours").await >= 2);
    assert_eq!(s.usage.flush().await.unwrap(), 0, "nothing new");
    let (_, written) = usage(&s, &read_token, &project, "").await;
    check(&written);
    let (status, hourly) = usage(&s, &read_token, &project, "?span=hour").await;
    assert_eq!(status, 200, "{hourly}");
    check(&hourly);
    assert_eq!(hourly["span"], "hour");

    // The client card and the reuse warning read the same totals.
    let (status, page) = s.call(&owner.browser, "project", &[("id", &project)]).await;
    assert_eq!(status, 200, "{page}");
    let card = page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == creds.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(card["minted_last_hour"], 3, "{card}");
    let traffic = page["traffic"].as_array().unwrap();
    assert_eq!(traffic.len(), 60);
    let sum = |k: &str| traffic.iter().map(|m| m[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("allowed"), sum("refused"), sum("limited")), (5, 1, 0));

    // Bad input changes nothing; another account sees nothing.
    let (status, body) = usage(&s, &read_token, &project, "?span=day").await;
    assert_eq!(status, 422, "{body}");
    let other = s.owner("other@example.com").await;
    let (_, theirs) = s.api_client(&other, "Theirs", "manage", &[READ]).await;
    let their_token = s.access_token(&theirs, READ).await;
    let (status, _) = usage(&s, &their_token, &project, "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_bucket_s_refusals_count_as_limited() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("limits@example.com", &["applications:read"])
        .await;
    s.set_rate_limit(&owner, &project, 1, 1).await;
    let mut limited = 0;
    for _ in 0..6 {
        if s.token_basic(&creds, &[("scope", "applications:read")])
            .await
            .status()
            == 429
        {
            limited += 1;
        }
    }
    // The bucket refills once a second: however slow this machine, some
    // of six requests at once are refused.
    assert!(limited >= 1, "{limited}");
    let (_, manager) = s.api_client(&owner, "Reports", "manage", &[READ]).await;
    let read_token = s.access_token(&manager, READ).await;
    let (_, body) = usage(&s, &read_token, &project, "").await;
    assert_eq!(body["totals"]["limited"], limited, "{body}");
    assert_eq!(body["totals"]["minted"], 6 - limited, "{body}");
}

/// A gate's report, as `portcullis gate` sends it.
async fn report(s: &TestServer, credential: &(String, String), body: &Value) -> u16 {
    Client::new()
        .post(s.url("/gate/v1/usage"))
        .basic_auth(&credential.0, Some(&credential.1))
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_gate_report_counts_once_and_only_for_its_own_api() {
    let s = TestServer::start().await;
    let (owner, project, _) = s
        .partner_client("gate@example.com", &["applications:read"])
        .await;
    let (caas, _) = s
        .api_client(&owner, "Ledger", "caas", &["caas:transactions:read"])
        .await;
    let (_, manager) = s.api_client(&owner, "Reports", "manage", &[READ]).await;
    let read_token = s.access_token(&manager, READ).await;
    let partner_gate = crate::gate_process::credential(&s, "partner").await;
    let minute = s.clock_now() / 60;
    let body = json!({ "report": "abc-1", "rows": [
        { "project_id": project, "minute": minute, "gated": 7, "refused": 2, "limited": 1 },
        // A gate mints nothing; its minted counts are left out.
        { "project_id": project, "minute": minute, "minted": 50 },
        // Another API's project, an unknown one and an old minute: left out.
        { "project_id": caas, "minute": minute, "gated": 100 },
        { "project_id": "prj_nobody", "minute": minute, "gated": 100 },
        { "project_id": project, "minute": minute - 120, "gated": 100 },
    ]});
    assert_eq!(report(&s, &partner_gate, &body).await, 204);
    // Sent again (its answer lost): counted once.
    assert_eq!(report(&s, &partner_gate, &body).await, 204);
    let (_, mine) = usage(&s, &read_token, &project, "").await;
    assert_eq!(
        mine["totals"],
        json!({ "minted": 0, "gated": 7, "refused": 2, "limited": 1 }),
        "{mine}"
    );
    let (_, ledger) = usage(&s, &read_token, &caas, "").await;
    assert_eq!(ledger["totals"]["gated"], 0, "{ledger}");

    // Bad reports: a clear 400, nothing counted.
    let rows: Vec<Value> = (0..501)
        .map(|_| json!({ "project_id": project, "minute": minute, "gated": 1 }))
        .collect();
    for bad in [
        json!({ "report": "abc-2", "rows": rows }),
        json!({ "report": "", "rows": [] }),
        json!({ "report": "a b", "rows": [] }),
        json!({ "rows": [] }),
        json!({ "report": "abc-3", "rows": [{ "project_id": project, "minute": minute, "gated": -1 }] }),
    ] {
        assert_eq!(report(&s, &partner_gate, &bad).await, 400, "{bad}");
    }
    let (_, after) = usage(&s, &read_token, &project, "").await;
    assert_eq!(after["totals"]["gated"], 7);
    // Without a gate credential: 401.
    let wrong = (partner_gate.0.clone(), "pcs_wrong".to_owned());
    assert_eq!(report(&s, &wrong, &body).await, 401);
}

/// Three nodes on one database and a `portcullis gate` in another process:
/// each node's tokens and calls and the gate's are summed, and every node
/// reads the same totals.
#[tokio::test]
async fn three_nodes_and_a_remote_gate_add_up() {
    let cluster = Cluster::start_on_test_backend(3).await;
    let owner = cluster.owner(0, "sums@example.com").await;
    let project = cluster.project(0, &owner, "Sums").await;
    // A bucket that refuses nothing here (without Redis each node and gate
    // holds a share of it): only the sums are under test.
    let limit = [
        ("id", project.as_str()),
        ("rate_per_sec", "10000"),
        ("rate_burst", "10000"),
    ];
    let (status, body) = cluster.call(0, &owner, "project_rate_limit", &limit).await;
    assert_eq!(status, 200, "{body}");
    let creds = cluster
        .client(
            0,
            &owner,
            &project,
            &["applications:read", "decisions:read"],
        )
        .await;
    let made = cluster.cli(&["gates", "add", "--api", "partner", "--name", "edge"], "");
    let field = |name: &str| {
        made.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    let gate = GateProcess::start_in(
        dir.path(),
        &cluster.nodes[1].base,
        &(field("GATE_CLIENT_ID"), field("GATE_CLIENT_SECRET")),
        &[],
    )
    .await;

    // Every node has the client (the change feed took it there) ...
    for node in 1..3 {
        crate::cluster::client_known(&cluster, node, &creds).await;
    }
    // ... and mints two tokens.
    let mut tokens = Vec::new();
    for node in 0..3 {
        for _ in 0..2 {
            let res = cluster.token(node, &creds, "applications:read").await;
            assert_eq!(res.status(), 200);
            let body: Value = res.json().await.unwrap();
            tokens.push(body["access_token"].as_str().unwrap().to_owned());
        }
    }
    // Calls at node 2's in-process gate with its tokens: two let through.
    for t in &tokens[4..] {
        let res = Client::new()
            .get(cluster.url(2, "/partner/v1/applications"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        let why = format!("{:?}", res.headers().get("www-authenticate"));
        assert_eq!(res.status(), 200, "{why}");
    }
    // At the remote gate (following node 1, with node 1's tokens): three
    // let through, one refused (no scope for it).
    within(Duration::from_secs(15), "the gate ready", || async {
        gate.ask(Some(&tokens[2]), "GET", "/partner/v1/applications")
            .await
            .status()
            == 200
    })
    .await;
    for t in &tokens[2..4] {
        let res = gate.ask(Some(t), "GET", "/partner/v1/applications").await;
        let status = res.status();
        assert_eq!(status, 200, "{:?}", res.text().await);
    }
    let res = gate
        .ask(
            Some(&tokens[3]),
            "GET",
            "/partner/v1/applications/x/decision",
        )
        .await;
    assert_eq!(res.status(), 403);

    // Every node reads the same sums once each has written its counts
    // and the gate has reported.
    for node in 0..3 {
        within(Duration::from_secs(30), "the sums", || async {
            let (status, page) = cluster
                .call(node, &owner, "project", &[("id", &project)])
                .await;
            assert_eq!(status, 200, "{page}");
            let minted = page["clients"][0]["minted_last_hour"].as_u64().unwrap();
            let traffic = page["traffic"].as_array().unwrap();
            let sum = |k: &str| traffic.iter().map(|m| m[k].as_u64().unwrap()).sum::<u64>();
            // Allowed: 6 tokens and 5 calls; refused: 1.
            minted == 6 && sum("allowed") == 11 && sum("refused") == 1
        })
        .await;
    }
}
