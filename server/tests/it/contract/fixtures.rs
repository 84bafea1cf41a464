//! The items the generated requests act on: one account with a client per
//! reference API and a management client, and what each operation needs.

use std::collections::HashMap;

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::harness::*;

/// Ids that exist, by path parameter, for the requests that need a real
/// item (a broken body must be refused before anything is looked up, but
/// a real item makes sure the body is what is judged).
pub(super) struct Fixtures {
    pub(super) ids: HashMap<&'static str, String>,
}

impl Fixtures {
    pub(super) fn id(&self, path: &str, param: &str) -> Option<String> {
        let key = match path.strip_prefix("/manage/v1") {
            Some(p) => match (p, param) {
                (_, "message_id") => "message",
                ("/projects/{id}/archive", _) => "project to archive",
                // A project none of whose clients holds a secret.
                ("/projects/{id}/keys-only", _) => "keyless project",
                (p, _) if p.starts_with("/projects/") => "project",
                ("/clients/{id}/retire" | "/clients/{id}", _) => "client to retire",
                ("/clients/{id}/keys", _) => "key client",
                ("/clients/{id}/workload", _) => "workload client",
                (p, _) if p.starts_with("/clients/") => "client",
                _ => "endpoint",
            },
            None => match param {
                "user_id" => "user",
                "split_id" => "split",
                _ if path.contains("/applications/") => "application",
                _ if path.contains("/categories/") => "category",
                _ => "transaction",
            },
        };
        self.ids.get(key).cloned()
    }
}

pub(super) struct Api {
    pub(super) token: String,
}

pub(super) async fn post_json(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let res = Client::new()
        .post(s.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{path}");
    res.json().await.unwrap()
}

pub(super) async fn setup(s: &TestServer) -> (HashMap<String, Api>, Fixtures) {
    let owner = s.owner("contract@example.com").await;
    let mut apis = HashMap::new();
    let all = |api: &str| -> Vec<String> {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml"))
            .unwrap();
        let catalogue: toml::Value = toml::from_str(&doc).unwrap();
        catalogue["api"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"].as_str() == Some(api))
            .unwrap()["scope"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sc| sc["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (api, base) in [("partner", "/partner/v1"), ("caas", "/caas/v1")] {
        let scopes = all(api);
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let (project, creds) = s.api_client(&owner, api, api, &refs).await;
        s.set_rate_limit(&owner, &project, 100_000, 100_000).await;
        let token = s.access_token(&creds, &scopes.join(" ")).await;
        apis.insert(base.to_owned(), Api { token });
    }
    let p = &apis["/partner/v1"].token;
    let c = &apis["/caas/v1"].token;
    let app = post_json(
        s,
        p,
        "/partner/v1/applications",
        json!({ "applicant_name": "Ada", "amount_cents": 10_000, "term_months": 12, "annual_income_cents": 10_000_000 }),
    )
    .await;
    let txn = post_json(
        s,
        c,
        "/caas/v1/transactions",
        json!({ "user_id": "user-1", "account_id": "acc-1", "amount_cents": -100_000, "currency": "EUR", "description": "Grocer", "booked_on": "2026-01-02" }),
    )
    .await;
    let txn_id = txn["id"].as_str().unwrap().to_owned();
    let split = post_json(
        s,
        c,
        &format!("/caas/v1/transactions/{txn_id}/splits"),
        json!({ "amount_cents": 10 }),
    )
    .await;
    let category = post_json(s, c, "/caas/v1/categories", json!({ "name": "Pets" })).await;
    let mut ids = HashMap::new();
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    ids.insert("application", id(&app));
    ids.insert("transaction", txn_id);
    ids.insert("split", id(&split));
    ids.insert("category", id(&category));
    ids.insert("user", "user-1".to_owned());
    manage_fixtures(s, &owner, &mut apis, &mut ids).await;
    (apis, Fixtures { ids })
}

/// A management client with every `manage:*` scope, and the items its
/// operations act on: projects, live clients, a webhook endpoint with a
/// message in its log.
pub(super) async fn manage_fixtures(
    s: &TestServer,
    owner: &Owner,
    apis: &mut HashMap<String, Api>,
    ids: &mut HashMap<&'static str, String>,
) {
    let scopes: Vec<String> = portcullis_core::manage::api()
        .scopes
        .into_iter()
        .map(|sc| sc.name)
        .collect();
    let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let (project, creds) = s.api_client(owner, "Pipeline", "manage", &refs).await;
    s.set_rate_limit(owner, &project, 100_000, 100_000).await;
    let token = s.access_token(&creds, &scopes.join(" ")).await;
    let made = |method: Method, path: &str, body: Value| {
        let token = token.clone();
        let path = path.to_owned();
        async move {
            let (status, v) = manage_call(&s.base, &token, method, &path, Some(body)).await;
            assert!([200, 201].contains(&status), "{path}: {status} {v}");
            v
        }
    };
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let endpoint = made(
        Method::POST,
        "/webhooks",
        json!({ "url": "https://hooks.example.com/in", "events": ["client.created"] }),
    )
    .await;
    ids.insert("endpoint", id(&endpoint["endpoint"]));
    for (key, name) in [
        ("project", "Intake"),
        ("project to archive", "Old intake"),
        ("retiring project", "Retiring intake"),
        ("keyless project", "Keyless intake"),
    ] {
        let p = made(
            Method::POST,
            "/projects",
            json!({ "name": name, "api_id": "partner" }),
        )
        .await;
        ids.insert(key, id(&p));
    }
    for (key, project) in [
        ("client", "project"),
        ("client to retire", "retiring project"),
    ] {
        let c = made(
            Method::POST,
            &format!("/projects/{}/clients", ids[project]),
            json!({ "name": key, "scopes": ["applications:read", "applications:write"] }),
        )
        .await;
        ids.insert(key, id(&c["client"]));
    }
    // A private_key_jwt client (RFC 7515 A.3's public key), for the
    // operations that change keys.
    let c = made(
        Method::POST,
        &format!("/projects/{}/clients", ids["retiring project"]),
        json!({ "name": "key client", "scopes": ["applications:read"], "public_keys": concat!(
            r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","#,
            r#""y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#) }),
    )
    .await;
    ids.insert("key client", id(&c["client"]));
    let w = made(
        Method::POST,
        &format!("/projects/{}/clients", ids["retiring project"]),
        json!({ "name": "workload client", "scopes": ["applications:read"],
            "expires_in_hours": 24, "workload": super::values::workload_sample(0, &s.base) }),
    )
    .await;
    ids.insert("workload client", id(&w["client"]));
    let (_, log) = manage_call(
        &s.base,
        &token,
        Method::GET,
        &format!("/webhooks/{}/deliveries", ids["endpoint"]),
        None,
    )
    .await;
    ids.insert("message", id(&log["deliveries"][0]));
    apis.insert("/manage/v1".to_owned(), Api { token });
}
