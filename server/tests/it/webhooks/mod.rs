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

const ALL_EVENTS: [&str; 12] = [
    "client.created",
    "client.rotated",
    "client.keys_changed",
    "client.retired",
    "client.revoked",
    "client.expired",
    "client.expiring",
    "client.dormant",
    "client.secret_reported",
    "project.rate_limited",
    "project.quota_warning",
    "project.quota_exhausted",
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

mod console;
mod delivery;
mod lifecycle;
mod outbox;
