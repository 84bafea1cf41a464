//! Credential-lifecycle webhooks: real `portcullis serve` processes deliver
//! to a real HTTP receiver on loopback; each delivery is checked with the
//! Standard Webhooks reference library (not our signing code); a node killed
//! with a delivery still to make leaves it to the next node. The outbox rules
//! (24 hours of retries, disabling, send again, tenants apart) are checked on
//! an in-process server with a hand-moved clock.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::cluster::{within, Cluster};
use crate::harness::{manage_call, Creds, TestServer};

const ALL_EVENTS: [&str; 8] = [
    "client.created",
    "client.rotated",
    "client.keys_changed",
    "client.retired",
    "client.revoked",
    "client.expired",
    "client.secret_reported",
    "project.rate_limited",
];
const MANAGE: &str = "manage:webhooks:read manage:webhooks:write manage:clients:write";

/// One request the receiver got.
#[derive(Clone)]
struct Got {
    headers: HeaderMap,
    body: String,
}

/// An HTTP server on loopback that records every POST and answers with the
/// status the test sets.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Self {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let answer = Arc::new(AtomicU16::new(200));
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post({
                let (got, answer) = (got.clone(), answer.clone());
                move |headers: HeaderMap, body: String| async move {
                    got.lock().unwrap().push(Got { headers, body });
                    axum::http::StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, got, answer }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    fn of_type(&self, kind: &str) -> Vec<(Got, Value)> {
        self.got()
            .into_iter()
            .map(|g| {
                let v: Value = serde_json::from_str(&g.body).unwrap();
                (g, v)
            })
            .filter(|(_, v)| v["type"] == kind)
            .collect()
    }
}

/// Checks a delivery with the Standard Webhooks library.
fn verify(secret: &str, got: &Got) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    wh.verify(got.body.as_bytes(), &got.headers)
        .unwrap_or_else(|e| panic!("signature of {} does not verify: {e:?}", got.body));
}

/// A management client of the owner's account (made in the console) and a
/// token for it, on node 0 of `c`.
async fn cluster_manager(c: &Cluster, owner: &Client) -> String {
    let (status, project) = c
        .call(
            0,
            owner,
            "project_create",
            &[
                ("name", "Automation"),
                ("api_id", "manage"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{project}");
    let scopes: Vec<&str> = MANAGE.split(' ').collect();
    let creds = c.client(0, owner, project.as_str().unwrap(), &scopes).await;
    let res = c.token(0, &creds, MANAGE).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn register(base: &str, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let (status, made) = manage_call(
        base,
        token,
        Method::POST,
        "/webhooks",
        Some(json!({ "url": url, "events": events, "description": "ops pager" })),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    (
        made["endpoint"]["id"].as_str().unwrap().to_owned(),
        made["signing_secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn lifecycle_events_reach_a_real_receiver_signed_as_standard_webhooks() {
    let c = Cluster::start_on_test_backend(1).await;
    let r = Receiver::start().await;
    let owner = c.owner(0, "owner@example.com").await;
    let token = cluster_manager(&c, &owner).await;
    let base = c.nodes[0].base.clone();
    let (endpoint, secret) = register(&base, &token, &r.url, &ALL_EVENTS).await;
    assert!(secret.starts_with("whsec_"));

    let project = c.project(0, &owner, "Loan intake").await;
    let (status, body) = c
        .call(
            0,
            &owner,
            "project_rate_limit",
            &[
                ("id", project.as_str()),
                ("rate_per_sec", "1"),
                ("rate_burst", "1"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let first = c.client(0, &owner, &project, &["applications:read"]).await;
    let (status, rotated) = manage_call(
        &base,
        &token,
        Method::POST,
        &format!("/clients/{}/rotate", first.id),
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    let successor = rotated["client"]["id"].as_str().unwrap().to_owned();
    let (status, body) = manage_call(
        &base,
        &token,
        Method::POST,
        &format!("/clients/{}/retire", first.id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let support = c.staff(0).await;
    let (status, body) = c
        .call(
            0,
            &support,
            "staff_revoke",
            &[
                ("client_id", successor.as_str()),
                ("reason", "Leaked in a public gist"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A third client floods its bucket (1 a second): refused, and told once.
    let third = c.client(0, &owner, &project, &["applications:read"]).await;
    let mut refused = 0;
    for _ in 0..20 {
        if c.token(0, &third, "applications:read").await.status() == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "the bucket refused some of 20 requests");
    // A key client, made and given a second key through the management API.
    let ed25519 = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let p256 = r#"{"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    let (status, keyed) = manage_call(
        &base,
        &token,
        Method::POST,
        &format!("/projects/{project}/clients"),
        Some(json!({ "name": "Signer", "scopes": ["applications:read"], "public_keys": ed25519 })),
    )
    .await;
    assert_eq!(
        (status, &keyed["client_secret"]),
        (201, &Value::Null),
        "{keyed}"
    );
    assert_eq!(keyed["client"]["auth_method"], "private_key_jwt");
    let keyed = keyed["client"]["id"].as_str().unwrap().to_owned();
    let (status, body) = manage_call(
        &base,
        &token,
        Method::POST,
        &format!("/clients/{keyed}/keys"),
        Some(json!({ "public_keys": format!("[{ed25519},{p256}]") })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["public_keys"].as_array().unwrap().len(), 2);
    // A workload client (temporary: the project has two live clients
    // already), then its trust moved to another service account.
    let trust = |namespace: &str| {
        json!({ "preset": "kubernetes", "issuer": "https://k8s.example",
            "jwks": { "keys": [serde_json::from_str::<Value>(p256).unwrap()] },
            "audience": c.public_url,
            "conditions": { "sub": format!("system:serviceaccount:{namespace}:sync") } })
    };
    let (status, workload) = manage_call(
        &base,
        &token,
        Method::POST,
        &format!("/projects/{project}/clients"),
        Some(json!({ "name": "Sync job", "scopes": ["applications:read"],
            "expires_in_hours": 24, "workload": trust("payments") })),
    )
    .await;
    assert_eq!(status, 201, "{workload}");
    assert_eq!(workload["client"]["auth_method"], "workload_identity");
    assert_eq!(workload["client_secret"], Value::Null);
    let workload = workload["client"]["id"].as_str().unwrap().to_owned();
    let (status, body) = manage_call(
        &base,
        &token,
        Method::POST,
        &format!("/clients/{workload}/workload"),
        Some(trust("billing")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["workload"]["conditions"]["sub"],
        "system:serviceaccount:billing:sync"
    );

    let expect = [
        ("client.created", 4),
        ("client.keys_changed", 2),
        ("client.rotated", 1),
        ("client.retired", 1),
        ("client.revoked", 1),
        ("project.rate_limited", 1),
    ];
    let delivered = || expect.iter().all(|(kind, n)| r.of_type(kind).len() >= *n);
    for _ in 0..300 {
        if delivered() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !delivered() {
        let kinds: Vec<Value> = r
            .got()
            .iter()
            .map(|g| serde_json::from_str::<Value>(&g.body).unwrap()["type"].clone())
            .collect();
        let (_, log) = manage_call(
            &base,
            &token,
            Method::GET,
            &format!("/webhooks/{endpoint}/deliveries"),
            None,
        )
        .await;
        panic!("within 30 s, every event: got {kinds:?}; the log says {log}");
    }

    let mut ids = std::collections::HashSet::new();
    for got in r.got() {
        verify(&secret, &got);
        assert_eq!(got.headers["content-type"], "application/json");
        assert!(ids.insert(got.headers["webhook-id"].to_str().unwrap().to_owned()));
    }
    let changes = r.of_type("client.keys_changed");
    let of = |id: &str| {
        changes
            .iter()
            .map(|(_, c)| c)
            .find(|c| c["data"]["client_id"] == id)
            .unwrap_or_else(|| panic!("no client.keys_changed for {id}"))
    };
    let moved = of(&workload);
    assert_eq!(
        moved["data"]["workload"]["conditions"]["sub"], "system:serviceaccount:billing:sync",
        "{moved}"
    );
    assert_eq!(moved["data"]["workload"]["preset"], "kubernetes");
    let changed = of(&keyed);
    let kids: Vec<&Value> = changed["data"]["public_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids, [&json!("ed"), &json!("ec")]);
    let (_, rot) = &r.of_type("client.rotated")[0];
    assert_eq!(rot["data"]["client_id"], first.id.as_str());
    assert_eq!(rot["data"]["successor_client_id"], successor.as_str());
    assert_eq!(rot["data"]["project_id"], project.as_str());
    let (_, rev) = &r.of_type("client.revoked")[0];
    assert_eq!(rev["data"]["client_id"], successor.as_str());
    assert_eq!(
        rev["data"]["reason"],
        "Revoked by support: Leaked in a public gist"
    );
    assert_eq!(rev["data"]["actor"]["kind"], "staff");
    let (_, ret) = &r.of_type("client.retired")[0];
    assert_eq!(
        ret["data"]["actor"]["kind"], "client",
        "the management client retired it"
    );
    let (_, created) = &r.of_type("client.created")[0];
    assert_eq!(created["data"]["scopes"], json!(["applications:read"]));
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));
    let (_, limited) = &r.of_type("project.rate_limited")[0];
    assert_eq!(limited["data"]["project_id"], project.as_str());
    assert_eq!(
        limited["data"]["rate_limit"],
        json!({ "per_sec": 1, "burst": 1 })
    );

    // More refusals within the minute tell nobody again.
    for _ in 0..10 {
        c.token(0, &third, "applications:read").await;
    }
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(r.of_type("project.rate_limited").len(), 1);

    // The delivery log says what happened to each.
    let (status, log) = manage_call(
        &base,
        &token,
        Method::GET,
        &format!("/webhooks/{endpoint}/deliveries"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), r.got().len());
    for d in deliveries {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["last_status_code"], 200);
    }
}

#[tokio::test]
async fn a_killed_node_leaves_what_it_had_not_delivered_to_the_next() {
    let mut c = Cluster::start_on_test_backend(1).await;
    let r = Receiver::start().await;
    r.answer.store(503, Ordering::SeqCst);
    let owner = c.owner(0, "owner@example.com").await;
    let token = cluster_manager(&c, &owner).await;
    let base = c.nodes[0].base.clone();
    let (endpoint, secret) = register(&base, &token, &r.url, &["client.created"]).await;
    let project = c.project(0, &owner, "Loan intake").await;
    let made = c.client(0, &owner, &project, &["applications:read"]).await;
    within(
        Duration::from_secs(10),
        "a first, failed attempt",
        || async { !r.got().is_empty() },
    )
    .await;
    let first = r.got()[0].clone();
    // The receiver has answered; the node records the attempt just after.
    let log_path = format!("/webhooks/{endpoint}/deliveries");
    let recorded = || async {
        let (_, log) = manage_call(&base, &token, Method::GET, &log_path, None).await;
        log["deliveries"][0]["last_status_code"] == 503
    };
    within(
        Duration::from_secs(10),
        "the failed attempt recorded",
        recorded,
    )
    .await;
    let (_, log) = manage_call(&base, &token, Method::GET, &log_path, None).await;
    let d = &log["deliveries"][0];
    assert_eq!(d["status"], "pending", "{d}");
    assert_eq!(d["attempts"], 1);
    assert!(d["next_attempt_at"].is_i64());

    // The node dies with the delivery still to make; the receiver recovers;
    // a node starts again (a fresh process, nothing in memory).
    c.kill(0);
    r.answer.store(200, Ordering::SeqCst);
    c.restart(0).await;
    within(
        Duration::from_secs(30),
        "the retry from the new process",
        || async { r.got().len() >= 2 },
    )
    .await;
    let again = r.got()[1].clone();
    verify(&secret, &again);
    assert_eq!(again.headers["webhook-id"], first.headers["webhook-id"]);
    assert_eq!(again.body, first.body, "the same message, signed anew");
    let v: Value = serde_json::from_str(&again.body).unwrap();
    assert_eq!(v["data"]["client_id"], made.id.as_str());
    let base = c.nodes[0].base.clone();
    let delivered = || async {
        let (_, log) = manage_call(&base, &token, Method::GET, &log_path, None).await;
        log["deliveries"][0]["status"] == "delivered"
    };
    within(Duration::from_secs(10), "the delivery recorded", delivered).await;
    let (_, log) = manage_call(&base, &token, Method::GET, &log_path, None).await;
    let d = &log["deliveries"][0];
    assert_eq!(d["attempts"], 2, "{d}");
    assert_eq!(d["last_status_code"], 200);
}

/// A management client with webhook scopes in a new account of `s`.
async fn manager(s: &TestServer, email: &str) -> (crate::harness::Owner, String, Creds) {
    let owner = s.owner(email).await;
    let scopes: Vec<&str> = MANAGE.split(' ').collect();
    let (_, creds) = s.api_client(&owner, "Automation", "manage", &scopes).await;
    let token = s.access_token(&creds, MANAGE).await;
    (owner, token, creds)
}

/// Up to `n` due messages, as a node with nothing in flight takes them.
async fn claim(
    outbox: &portcullis_core::webhooks::Outbox,
    n: usize,
) -> Vec<portcullis_core::webhooks::Send> {
    outbox
        .claim(n, &std::collections::HashMap::new(), n)
        .await
        .unwrap()
}

fn outbox(s: &TestServer) -> portcullis_core::webhooks::Outbox {
    let master =
        portcullis_core::master_key::MasterKey::load_or_create(&s.dir.path().join("master.key"))
            .unwrap();
    portcullis_core::webhooks::Outbox::new(s.db.clone(), Arc::new(master), s.clock.clone())
}

#[tokio::test]
async fn targets_are_checked_and_tenants_stay_apart() {
    // The default: https to public addresses only.
    let s = TestServer::start().await;
    let (_, a, _) = manager(&s, "a@example.com").await;
    let (owner_b, b, _) = manager(&s, "b@example.com").await;
    for url in [
        "http://hooks.example.com/in",
        "https://127.0.0.1/in",
        "https://169.254.169.254/latest",
        "https://localhost/in",
    ] {
        let (status, body) = manage_call(
            &s.base,
            &a,
            Method::POST,
            "/webhooks",
            Some(json!({ "url": url, "events": ["client.created"] })),
        )
        .await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["field"], "url");
    }
    let (status, body) = manage_call(
        &s.base,
        &a,
        Method::POST,
        "/webhooks",
        Some(json!({ "url": "https://hooks.example.com/in", "events": ["client.nope"] })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "events");
    assert_eq!(s.count("webhook_endpoints").await, 0, "nothing was made");

    // The same Idempotency-Key twice: one endpoint, the secret once.
    let create = |key: &'static str| {
        Client::new()
            .post(s.url("/manage/v1/webhooks"))
            .bearer_auth(&a)
            .header("Idempotency-Key", key)
            .json(&json!({ "url": "https://hooks.example.com/in", "events": ["client.created"] }))
            .send()
    };
    let first: Value = create("k-1").await.unwrap().json().await.unwrap();
    assert!(first["signing_secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    let replay = create("k-1").await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["signing_secret"], Value::Null);
    assert_eq!(replay["endpoint"]["id"], first["endpoint"]["id"]);
    assert_eq!(s.count("webhook_endpoints").await, 1);
    let endpoint = first["endpoint"]["id"].as_str().unwrap();

    // B cannot see, change or resend A's endpoint, and B's changes are not told to A.
    for (method, path) in [
        (Method::GET, format!("/webhooks/{endpoint}")),
        (Method::GET, format!("/webhooks/{endpoint}/deliveries")),
        (Method::POST, format!("/webhooks/{endpoint}/disable")),
        (Method::DELETE, format!("/webhooks/{endpoint}")),
    ] {
        let (status, body) = manage_call(&s.base, &b, method.clone(), &path, None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, listed) = manage_call(&s.base, &b, Method::GET, "/webhooks", None).await;
    assert_eq!(listed["endpoints"], json!([]));
    let project_b = s.create_project(&owner_b, "P", "partner").await;
    s.create_client(&owner_b, &project_b, &["applications:read"])
        .await;
    let (status, log) = manage_call(
        &s.base,
        &a,
        Method::GET,
        &format!("/webhooks/{endpoint}/deliveries"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // A's management client was made before the endpoint, B's client is B's.
    assert_eq!(log["deliveries"], json!([]));
}

#[tokio::test]
async fn retries_last_24_hours_then_the_endpoint_is_off_and_the_owner_sees_why() {
    let s = TestServer::start().await;
    let (owner, token, creds) = manager(&s, "a@example.com").await;
    let (endpoint, _) = register(
        &s.base,
        &token,
        "https://hooks.example.com/in",
        &["client.created"],
    )
    .await;
    let project = s.create_project(&owner, "Loan intake", "partner").await;
    let made: Creds = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let outbox = outbox(&s);

    // The first attempt fails; the next is due 5 s later, not before.
    let sends = claim(&outbox, 10).await;
    assert_eq!(sends.len(), 1);
    let body: Value = serde_json::from_str(&sends[0].body).unwrap();
    assert_eq!(body["data"]["client_id"], made.id.as_str());
    outbox
        .settle(&sends[0], &portcullis_core::webhooks::Outcome::Status(500))
        .await
        .unwrap();
    assert!(claim(&outbox, 10).await.is_empty());
    s.clock.advance(5);
    let sends = claim(&outbox, 10).await;
    assert_eq!(sends.len(), 1, "due after the first gap");
    assert!(
        claim(&outbox, 10).await.is_empty(),
        "leased: one node sends it"
    );
    // A node that took it and died (never settled): another takes it once
    // the lease has run out, not before.
    s.clock
        .advance(portcullis_core::webhooks::outbox::LEASE_SECS - 1);
    assert!(claim(&outbox, 10).await.is_empty());
    s.clock.advance(1);
    let sends = claim(&outbox, 10).await;
    assert_eq!(sends.len(), 1, "taken over after the lease");
    outbox
        .settle(
            &sends[0],
            &portcullis_core::webhooks::Outcome::Unreachable("could not connect".into()),
        )
        .await
        .unwrap();

    // Failing until the 24 hours are up: the message fails, the endpoint is off.
    let mut attempts = 2;
    for _hour in 0..30 {
        s.clock.advance(3600);
        for send in claim(&outbox, 10).await {
            outbox
                .settle(&send, &portcullis_core::webhooks::Outcome::Status(500))
                .await
                .unwrap();
            attempts += 1;
        }
    }
    assert!((5..30).contains(&attempts), "{attempts} attempts");
    // A day later: a fresh token.
    let token = s.access_token(&creds, MANAGE).await;
    let (_, ep) = manage_call(
        &s.base,
        &token,
        Method::GET,
        &format!("/webhooks/{endpoint}"),
        None,
    )
    .await;
    assert_eq!(ep["enabled"], false, "{ep}");
    assert!(
        ep["disabled_reason"].as_str().unwrap().contains("24 hours"),
        "{ep}"
    );
    let (_, log) = manage_call(
        &s.base,
        &token,
        Method::GET,
        &format!("/webhooks/{endpoint}/deliveries"),
        None,
    )
    .await;
    let d = &log["deliveries"][0];
    assert_eq!(d["status"], "failed");
    assert_eq!(d["attempts"], attempts);
    let message = d["id"].as_str().unwrap().to_owned();

    // Send again: refused while off; after turning it on, due at once.
    let resend = format!("/webhooks/{endpoint}/deliveries/{message}/resend");
    let (status, body) = manage_call(&s.base, &token, Method::POST, &resend, None).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = manage_call(
        &s.base,
        &token,
        Method::POST,
        &format!("/webhooks/{endpoint}/enable"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = manage_call(&s.base, &token, Method::POST, &resend, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");
    let sends = claim(&outbox, 10).await;
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].message_id, message, "the same webhook-id");

    // 410 Gone: off at once.
    outbox
        .settle(&sends[0], &portcullis_core::webhooks::Outcome::Status(410))
        .await
        .unwrap();
    let (_, ep) = manage_call(
        &s.base,
        &token,
        Method::GET,
        &format!("/webhooks/{endpoint}"),
        None,
    )
    .await;
    assert_eq!(ep["enabled"], false);
    assert!(
        ep["disabled_reason"].as_str().unwrap().contains("410"),
        "{ep}"
    );
}

/// In the console: members read endpoints and logs; only owners change
/// them; another account sees none of it.
#[tokio::test]
async fn in_the_console_members_read_and_only_owners_change() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let (status, made) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[
                ("url", "https://hooks.example.com/in"),
                ("events", "client.revoked client.retired"),
                ("description", "pager"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{made}");
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = made["endpoint"]["id"].as_str().unwrap().to_owned();
    // The secret is kept sealed, never in clear.
    let (sealed,): (String,) = sqlx::query_as("select secret_sealed from webhook_endpoints")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert!(!sealed.contains(&made["secret"].as_str().unwrap()[6..]));

    let (status, inv) = s
        .call(&owner.browser, "team_invite", &[("role", "developer")])
        .await;
    assert_eq!(status, 200, "{inv}");
    let token = inv["link"]
        .as_str()
        .unwrap()
        .split_once("/join#")
        .unwrap()
        .1;
    let dev = s.browser();
    let (status, body) = s
        .call(
            &dev,
            "join",
            &[
                ("token", token),
                ("email", "dev@example.com"),
                ("password", crate::harness::PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let res = s
        .log_in(&dev, "dev@example.com", crate::harness::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    let (status, seen) = s.call(&dev, "webhooks", &[] as &[(&str, &str)]).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["endpoints"][0]["id"], id.as_str());
    assert_eq!(seen["can_manage"], false);
    let (status, _) = s
        .call(
            &dev,
            "webhook_create",
            &[
                ("url", "https://hooks.example.com/x"),
                ("events", "client.created"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    for (f, form) in [
        (
            "webhook_enabled",
            vec![("id", id.as_str()), ("enabled", "false")],
        ),
        ("webhook_delete", vec![("id", id.as_str())]),
    ] {
        let (status, body) = s.call(&dev, f, &form).await;
        assert_eq!(status, 403, "{f}: {body}");
    }
    let (status, _) = s
        .call(&dev, "webhook_deliveries", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 200, "members read the log");

    // Another account: nothing of it.
    let other = s.owner("other@example.com").await;
    let (_, theirs) = s
        .call(&other.browser, "webhooks", &[] as &[(&str, &str)])
        .await;
    assert_eq!(theirs["endpoints"], json!([]));
    for (f, form) in [
        ("webhook_deliveries", vec![("id", id.as_str())]),
        (
            "webhook_enabled",
            vec![("id", id.as_str()), ("enabled", "false")],
        ),
        ("webhook_delete", vec![("id", id.as_str())]),
    ] {
        let (status, body) = s.call(&other.browser, f, &form).await;
        assert_eq!(status, 404, "{f}: {body}");
    }
    // No events chosen, or a bad URL: refused, nothing made.
    let (status, body) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[("url", "https://hooks.example.com/in"), ("events", "")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[("url", "not a url"), ("events", "client.created")],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(s.count("webhook_endpoints").await, 1);
    // The owner turns it off: the reason says who.
    let (status, off) = s
        .call(
            &owner.browser,
            "webhook_enabled",
            &[("id", id.as_str()), ("enabled", "false")],
        )
        .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(off["disabled_reason"], "Turned off by owner@example.com.");
}

/// The outbox rows an account's endpoint got, as (type, payload).
async fn outbox_rows(s: &TestServer) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select event_type, payload from webhook_messages order by created_at, id")
            .fetch_all(&s.db)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(t, p)| (t, serde_json::from_str(&p).unwrap()))
        .collect()
}

/// Expiry is found by housekeeping, not by a person: it is told all the same,
/// in the transaction that logs it.
#[tokio::test]
async fn an_expired_temporary_client_is_told() {
    let s = TestServer::start().await;
    let (owner, token, _) = manager(&s, "a@example.com").await;
    register(
        &s.base,
        &token,
        "https://hooks.example.com/in",
        &["client.expired"],
    )
    .await;
    let project = s.create_project(&owner, "Backfill", "partner").await;
    let mut form = crate::harness::client_form(&project, "One-off", &["decisions:read"]);
    form.push(("expires_in_hours".into(), "1".into()));
    let (status, body) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 200, "{body}");
    let id = body["client"]["id"].as_str().unwrap().to_owned();
    assert!(
        outbox_rows(&s).await.is_empty(),
        "created is not subscribed"
    );
    s.clock.advance(3601);
    assert_eq!(s.clients.log_expiries().await.unwrap(), 1);
    let rows = outbox_rows(&s).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "client.expired");
    assert_eq!(rows[0].1["data"]["client_id"], id.as_str());
    assert_eq!(rows[0].1["data"]["actor"]["kind"], "system");
    assert!(rows[0].1["data"]["expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // Logged once, told once.
    assert_eq!(s.clients.log_expiries().await.unwrap(), 0);
    assert_eq!(outbox_rows(&s).await.len(), 1);
}

/// A fresh account with an endpoint for `client.created` and one such
/// event: the endpoint, a management token and its client.
async fn one_created_event(s: &TestServer, email: &str) -> (String, String, Creds) {
    let (owner, token, creds) = manager(s, email).await;
    let url = format!("https://{}.example.com/in", email.replace(['@', '.'], "-"));
    let (endpoint, _) = register(&s.base, &token, &url, &["client.created"]).await;
    let project = s.create_project(&owner, "P", "partner").await;
    s.create_client(&owner, &project, &["applications:read"])
        .await;
    (endpoint, token, creds)
}

/// One tenant's backlog and slow receivers hold back nobody else: a node
/// takes each endpoint's next message only when none of that endpoint's is
/// in flight anywhere, and takes accounts in turn, each within its share.
#[tokio::test]
async fn one_tenant_s_backlog_does_not_hold_back_another_s_alerts() {
    use std::collections::HashMap;
    let s = TestServer::start().await;
    let (owner_a, token_a, _) = manager(&s, "a@example.com").await;
    for i in 0..4 {
        register(
            &s.base,
            &token_a,
            &format!("https://hooks{i}.example.com/in"),
            &["client.created"],
        )
        .await;
    }
    // Three client.created events: three messages for each of a's four
    // endpoints, all older than b's one.
    let project_a = s.create_project(&owner_a, "Busy", "partner").await;
    for _ in 0..3 {
        let mut form = crate::harness::client_form(&project_a, "Temp", &["applications:read"]);
        form.push(("expires_in_hours".into(), "1".into()));
        let (status, body) = s.call(&owner_a.browser, "client_create", &form).await;
        assert_eq!(status, 200, "{body}");
    }
    let (b_endpoint, _, _) = one_created_event(&s, "b@example.com").await;
    let outbox = outbox(&s);
    let account_of = |send: &portcullis_core::webhooks::Send| send.account_id.clone();

    // Eight places: a gets its share of three, b's alert goes at once.
    let first = outbox.claim(8, &HashMap::new(), 3).await.unwrap();
    let endpoints: std::collections::HashSet<_> =
        first.iter().map(|x| x.endpoint_id.clone()).collect();
    assert_eq!(endpoints.len(), first.len(), "one per endpoint");
    assert_eq!(first.len(), 4, "three of a's, one of b's");
    assert!(first.iter().any(|x| x.endpoint_id == b_endpoint));
    // While those are sending (a's receivers never answer), nothing more of
    // a's endpoints that are busy is taken, by this node or another.
    let mut busy: HashMap<String, usize> = HashMap::new();
    for x in &first {
        *busy.entry(account_of(x)).or_default() += 1;
    }
    let this_node = outbox.claim(8, &busy, 3).await.unwrap();
    assert!(this_node.is_empty(), "a has its share here; b has no more");
    let other_node = outbox.claim(8, &HashMap::new(), 8).await.unwrap();
    assert_eq!(other_node.len(), 1, "only a's fourth endpoint is free");
    assert!(!endpoints.contains(&other_node[0].endpoint_id));
    // An endpoint's next message follows once its last one is settled (one
    // of a's: b's endpoint had only the one).
    let a_send = first.iter().find(|x| x.endpoint_id != b_endpoint).unwrap();
    outbox
        .settle(a_send, &portcullis_core::webhooks::Outcome::Status(200))
        .await
        .unwrap();
    let next = outbox.claim(8, &HashMap::new(), 8).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].endpoint_id, a_send.endpoint_id);
}

/// "Send again" is for a person: not while the delivery is being sent (it
/// would go twice), and a bounded number of times an hour.
#[tokio::test]
async fn sending_again_is_bounded() {
    let s = TestServer::start().await;
    let (endpoint, token, creds) = one_created_event(&s, "a@example.com").await;
    let outbox = outbox(&s);
    let sending = claim(&outbox, 10).await;
    assert_eq!(sending.len(), 1);
    let message = sending[0].message_id.clone();
    let resend = |s: &TestServer, token: &str| {
        let path = format!("/webhooks/{endpoint}/deliveries/{message}/resend");
        let (token, base) = (token.to_owned(), s.base.clone());
        async move { manage_call(&base, &token, Method::POST, &path, None).await }
    };
    let (status, body) = resend(&s, &token).await;
    assert_eq!(status, 409, "being sent now: {body}");
    outbox
        .settle(
            &sending[0],
            &portcullis_core::webhooks::Outcome::Status(200),
        )
        .await
        .unwrap();
    for _ in 0..portcullis_core::webhooks::RESENDS_PER_HOUR_MAX {
        let (status, body) = resend(&s, &token).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = resend(&s, &token).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("last hour"),
        "{body}"
    );
    s.clock.advance(3600);
    let token = s.access_token(&creds, MANAGE).await;
    assert_eq!(resend(&s, &token).await.0, 200);
}
