//! Three nodes on one PostgreSQL: what one node changes, the others enforce
//! within a second; a node killed mid-write loses nothing acknowledged.
//! These run in the PostgreSQL pass of `make test` (they need a real
//! database server that several processes share); on SQLite they return.

use std::time::Duration;

use reqwest::Client;
use serde_json::Value;

use crate::cluster::{within, Cluster};
use crate::harness::{on_postgres, Creds, PASSWORD, POSTGRES_ENV};

const SECOND: Duration = Duration::from_secs(1);

async fn cluster(n: usize, redis: bool) -> Option<Cluster> {
    if !on_postgres() {
        eprintln!("multi-node tests run on PostgreSQL only (set {POSTGRES_ENV})");
        return None;
    }
    let admin = std::env::var(POSTGRES_ENV).unwrap();
    Some(Cluster::start(&admin, n, redis).await)
}

/// Until node `node` refuses `creds` for `scope` with `status`.
async fn refused(c: &Cluster, node: usize, creds: &Creds, scope: &str, status: u16, what: &str) {
    within(SECOND, &format!("{what} on node {node}"), || async {
        c.token(node, creds, scope).await.status() == status
    })
    .await;
}

async fn staff(c: &Cluster, node: usize) -> Client {
    c.staff(node).await
}

#[tokio::test]
async fn every_change_made_on_one_node_is_enforced_by_the_others_within_a_second() {
    let Some(c) = cluster(3, false).await else {
        return;
    };
    let owner = c.owner(0, "owner@example.com").await;
    let project = c.project(0, &owner, "Loan intake").await;
    // A big bucket: the checks below poll the token endpoint.
    let (status, body) = c
        .call(
            0,
            &owner,
            "project_rate_limit",
            &[
                ("id", project.as_str()),
                ("rate_per_sec", "100000"),
                ("rate_burst", "100000"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let both = "applications:read decisions:read";
    let creds = c
        .client(
            0,
            &owner,
            &project,
            &["applications:read", "decisions:read"],
        )
        .await;

    // Created on A, mints on B and C.
    for node in [1, 2] {
        within(SECOND, "a new client minting", || async {
            c.token(node, &creds, both).await.status() == 200
        })
        .await;
    }

    // Narrowed on A: B and C refuse the scope it lost.
    let (status, body) = c
        .call(
            0,
            &owner,
            "client_narrow",
            &[
                ("client_id", creds.id.as_str()),
                ("scopes[0]", "applications:read"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for node in [1, 2] {
        refused(&c, node, &creds, "decisions:read", 400, "narrowing").await;
        assert_eq!(
            c.token(node, &creds, "applications:read").await.status(),
            200
        );
    }

    // A token minted on B, revoked on A: C's gate and introspection refuse it.
    let res = c.token(1, &creds, "applications:read").await;
    let token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let gate = |node: usize| {
        let (url, token) = (c.url(node, "/partner/v1/applications"), token.clone());
        async move {
            Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(gate(2).await, 200);
    let res = Client::new()
        .post(c.url(0, "/oauth/revoke"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for node in [1, 2] {
        within(SECOND, "a revoked token at the gate", || async {
            gate(node).await == 401
        })
        .await;
    }

    // Support revokes on A: B and C refuse the client.
    let support = staff(&c, 0).await;
    let (status, body) = c
        .call(
            0,
            &support,
            "staff_revoke",
            &[
                ("client_id", creds.id.as_str()),
                ("reason", "Leaked in a public gist"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for node in [1, 2] {
        refused(
            &c,
            node,
            &creds,
            "applications:read",
            401,
            "support's revocation",
        )
        .await;
    }

    // Rotation, then retirement of the old client on A.
    let old = c.client(0, &owner, &project, &["applications:read"]).await;
    let (status, body) = c
        .call(
            0,
            &owner,
            "client_rotate",
            &[("client_id", old.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let new = Creds {
        id: body["client"]["id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
    };
    let (status, body) = c
        .call(
            0,
            &owner,
            "client_retire",
            &[("client_id", old.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for node in [1, 2] {
        refused(&c, node, &old, "applications:read", 401, "retirement").await;
        within(SECOND, "the successor minting", || async {
            c.token(node, &new, "applications:read").await.status() == 200
        })
        .await;
    }

    // Archived on A: its clients stop everywhere.
    let (status, body) = c
        .call(0, &owner, "project_archive", &[("id", project.as_str())])
        .await;
    assert_eq!(status, 200, "{body}");
    for node in [1, 2] {
        refused(&c, node, &new, "applications:read", 401, "archiving").await;
    }

    // A member removed on A is signed out on B and C.
    let (_, invite) = c
        .call(0, &owner, "team_invite", &[("role", "viewer")])
        .await;
    let link = invite["link"].as_str().unwrap();
    let member = c.browser();
    let (status, body) = c
        .call(
            1,
            &member,
            "join",
            &[
                ("token", link.split_once("/join#").unwrap().1),
                ("email", "viewer@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = c
        .call(
            1,
            &member,
            "login",
            &[("email", "viewer@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, team) = c.call(2, &owner, "team", &[] as &[(&str, &str)]).await;
    let viewer_id = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "viewer@example.com")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        c.call(2, &member, "me", &[] as &[(&str, &str)]).await.0,
        200
    );
    let (status, _) = c
        .call(0, &owner, "team_remove", &[("user_id", viewer_id.as_str())])
        .await;
    assert_eq!(status, 200);
    for node in [1, 2] {
        within(SECOND, "a removed member", || async {
            c.call(node, &member, "me", &[] as &[(&str, &str)]).await.0 == 401
        })
        .await;
    }

    // A key rotated by the CLI is published by every node.
    let out = c.cli(&["keys", "rotate"], "");
    let kid = out
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    for node in 0..3 {
        within(SECOND, "a rotated key in the JWKS", || async {
            let jwks = reqwest::get(c.url(node, "/.well-known/jwks.json"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            jwks.contains(&kid)
        })
        .await;
    }
}

#[tokio::test]
async fn a_node_killed_mid_write_comes_back_with_every_acknowledged_change() {
    let Some(mut c) = cluster(3, false).await else {
        return;
    };
    let owner = c.owner(0, "owner@example.com").await;
    // Writes on node A while node B dies and node A itself is killed too.
    let mut acknowledged: Vec<Creds> = Vec::new();
    for i in 0..12 {
        if i == 4 {
            c.kill(1);
        }
        let writer = if i < 8 { 0 } else { 2 };
        if i == 8 {
            // The writer dies right after its last acknowledged write.
            c.kill(0);
        }
        let project = c.project(writer, &owner, &format!("Integration {i}")).await;
        acknowledged.push(
            c.client(writer, &owner, &project, &["applications:read"])
                .await,
        );
    }
    c.restart(1).await;
    c.restart(0).await;
    for node in 0..3 {
        for creds in &acknowledged {
            let res = c.token(node, creds, "applications:read").await;
            assert_eq!(res.status(), 200, "node {node}, client {}", creds.id);
        }
    }
    let (_, projects) = c.call(1, &owner, "projects", &[] as &[(&str, &str)]).await;
    assert_eq!(projects["projects"].as_array().map(Vec::len), Some(12));
}

/// Requests from `workers` loops, round-robin over the nodes, for `secs`;
/// how many of each status came back.
async fn load(c: &Cluster, creds: &Creds, workers: usize, secs: u64) -> (usize, usize) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    let http = Client::new();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let urls: Vec<String> = (0..c.nodes.len())
            .map(|n| c.url(n, "/oauth/token"))
            .collect();
        let (http, creds) = (http.clone(), creds.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut limited) = (0, 0);
            let mut i = w;
            while std::time::Instant::now() < until {
                let res = http
                    .post(&urls[i % urls.len()])
                    .basic_auth(&creds.id, Some(&creds.secret))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("scope", "applications:read"),
                    ])
                    .send()
                    .await
                    .unwrap();
                match res.status().as_u16() {
                    200 => ok += 1,
                    429 => limited += 1,
                    other => panic!("unexpected {other}"),
                }
                i += 1;
            }
            (ok, limited)
        }));
    }
    let mut total = (0, 0);
    for t in tasks {
        let (ok, limited) = t.await.unwrap();
        total.0 += ok;
        total.1 += limited;
    }
    total
}

#[tokio::test]
async fn three_nodes_with_redis_admit_the_configured_rate_within_five_percent() {
    let Some(c) = cluster(3, true).await else {
        return;
    };
    let owner = c.owner(0, "owner@example.com").await;
    let project = c.project(0, &owner, "Metered").await;
    let (status, body) = c
        .call(
            0,
            &owner,
            "project_rate_limit",
            &[
                ("id", project.as_str()),
                ("rate_per_sec", "100"),
                ("rate_burst", "100"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let creds = c.client(0, &owner, &project, &["applications:read"]).await;
    // The other nodes learn of the new client from the change feed: wait
    // until each knows it, so the load measures the bucket, not the feed.
    for node in 1..3 {
        within(
            SECOND,
            &format!("the new client on node {node}"),
            || async { c.token(node, &creds, "applications:read").await.status() == 200 },
        )
        .await;
    }
    // Spend the burst first, then measure the sustained rate.
    let (burst, _) = load(&c, &creds, 4, 1).await;
    assert!(burst >= 100, "the burst and a second's rate pass: {burst}");
    let (ok, limited) = load(&c, &creds, 8, 10).await;
    assert!(limited > 0, "the load exceeded the rate");
    let rate = ok as f64 / 10.0;
    eprintln!("three nodes, 100/s configured: {rate:.1}/s admitted, {limited} refused");
    assert!(
        (95.0..=105.0).contains(&rate),
        "{rate}/s admitted for 100/s"
    );
}

#[tokio::test]
async fn three_nodes_with_redis_give_one_address_the_guesses_of_one_node() {
    let Some(c) = cluster(3, true).await else {
        return;
    };
    let wrong = Creds {
        id: "pcl_00000000000000000000000000000000".into(),
        secret: "not the secret".into(),
    };
    let mut refused = 0;
    for i in 0..60 {
        let status = c.token(i % 3, &wrong, "applications:read").await.status();
        match status.as_u16() {
            401 => refused += 1,
            429 => break,
            other => panic!("unexpected {other}"),
        }
    }
    // No pause between guesses: each failure is counted in Redis before
    // its 401 is sent. One node locks after 20; three nodes, each learning
    // of the lock at its next failure, allow at most two more (not 60).
    assert!(
        (20..=22).contains(&refused),
        "{refused} guesses before the lock"
    );
}
