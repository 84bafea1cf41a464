//! The bearer gate in front of every reference API endpoint: each is
//! allowed with its scope, refused (403, nothing changed, handler not run)
//! without it, and refused (401) for foreign, expired, revoked and archived
//! projects' tokens; RFC 6750 challenge formats; data isolation.

use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

use crate::harness::{Creds, Owner, TestServer};

pub(super) const PARTNER: [&str; 5] = [
    "applications:read",
    "applications:write",
    "decisions:read",
    "payments:provision",
    "identity:check",
];

pub(super) const CAAS: [&str; 12] = [
    "caas:transactions:read",
    "caas:transactions:write",
    "caas:transactions:delete",
    "caas:transaction_splits:read",
    "caas:transaction_splits:write",
    "caas:transaction_splits:delete",
    "caas:enhanced_transactions:read",
    "caas:regular_transactions:read",
    "caas:categories:read",
    "caas:categories:write",
    "caas:categories:delete",
    "caas:users:delete",
];

pub(super) async fn call(
    s: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut req = Client::new().request(method, s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.unwrap()
}

pub(super) async fn json(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Ids of freshly made fixtures, for filling `{…}` in paths.
pub(super) struct Fixtures {
    pub(super) app: String,
    pub(super) txn: String,
    pub(super) split: String,
    pub(super) category: String,
}

pub(super) async fn fixtures(s: &TestServer, partner: &str, caas: &str) -> Fixtures {
    let (st, app) = json(call(s, Method::POST, "/partner/v1/applications", Some(partner), Some(&json!({
        "applicant_name": "Ada Lovelace", "amount_cents": 1_000_000, "term_months": 24, "annual_income_cents": 6_000_000
    }))).await).await;
    assert_eq!(st, 201, "{app}");
    let (st, txn) = json(
        call(
            s,
            Method::POST,
            "/caas/v1/transactions",
            Some(caas),
            Some(&json!({
                "user_id": "u1", "account_id": "a1", "amount_cents": -1299, "currency": "GBP",
                "description": "NETFLIX.COM 1234", "booked_on": "2026-11-01"
            })),
        )
        .await,
    )
    .await;
    assert_eq!(st, 201, "{txn}");
    let txn_id = txn["id"].as_str().unwrap().to_owned();
    let (st, split) = json(
        call(
            s,
            Method::POST,
            &format!("/caas/v1/transactions/{txn_id}/splits"),
            Some(caas),
            Some(&json!({ "amount_cents": 500, "note": "shared" })),
        )
        .await,
    )
    .await;
    assert_eq!(st, 201, "{split}");
    let (st, cat) = json(
        call(
            s,
            Method::POST,
            "/caas/v1/categories",
            Some(caas),
            Some(&json!({ "name": format!("Custom {}", txn_id) })),
        )
        .await,
    )
    .await;
    assert_eq!(st, 201, "{cat}");
    Fixtures {
        app: app["id"].as_str().unwrap().into(),
        txn: txn_id,
        split: split["id"].as_str().unwrap().into(),
        category: cat["id"].as_str().unwrap().into(),
    }
}

/// Every endpoint: (method, path, scope, body, success status).
pub(super) fn endpoints(f: &Fixtures) -> Vec<(Method, String, &'static str, Option<Value>, u16)> {
    let new_app = json!({ "applicant_name": "Grace Hopper", "amount_cents": 200_000, "term_months": 12, "annual_income_cents": 5_000_000 });
    let new_txn = json!({ "user_id": "u2", "account_id": "a2", "amount_cents": -450, "currency": "EUR", "description": "Cafe Nero 55", "booked_on": "2026-10-30" });
    vec![
        (
            Method::POST,
            "/partner/v1/applications".into(),
            "applications:write",
            Some(new_app),
            201,
        ),
        (
            Method::GET,
            "/partner/v1/applications".into(),
            "applications:read",
            None,
            200,
        ),
        (
            Method::GET,
            format!("/partner/v1/applications/{}", f.app),
            "applications:read",
            None,
            200,
        ),
        (
            Method::GET,
            format!("/partner/v1/applications/{}/decision", f.app),
            "decisions:read",
            None,
            200,
        ),
        (
            Method::POST,
            format!("/partner/v1/applications/{}/payment-links", f.app),
            "payments:provision",
            None,
            201,
        ),
        (
            Method::POST,
            "/partner/v1/identity-checks".into(),
            "identity:check",
            Some(
                json!({ "full_name": "Ada Lovelace", "date_of_birth": "1990-12-10", "document_number": "X1234568" }),
            ),
            201,
        ),
        (
            Method::POST,
            "/caas/v1/transactions".into(),
            "caas:transactions:write",
            Some(new_txn),
            201,
        ),
        (
            Method::GET,
            "/caas/v1/transactions?user_id=u1".into(),
            "caas:transactions:read",
            None,
            200,
        ),
        (
            Method::GET,
            format!("/caas/v1/transactions/{}", f.txn),
            "caas:transactions:read",
            None,
            200,
        ),
        (
            Method::DELETE,
            format!("/caas/v1/transactions/{}", f.txn),
            "caas:transactions:delete",
            None,
            204,
        ),
        (
            Method::POST,
            format!("/caas/v1/transactions/{}/splits", f.txn),
            "caas:transaction_splits:write",
            Some(json!({ "amount_cents": 100 })),
            201,
        ),
        (
            Method::GET,
            format!("/caas/v1/transactions/{}/splits", f.txn),
            "caas:transaction_splits:read",
            None,
            200,
        ),
        (
            Method::DELETE,
            format!("/caas/v1/transactions/{}/splits/{}", f.txn, f.split),
            "caas:transaction_splits:delete",
            None,
            204,
        ),
        (
            Method::GET,
            format!("/caas/v1/transactions/{}/enhanced", f.txn),
            "caas:enhanced_transactions:read",
            None,
            200,
        ),
        (
            Method::GET,
            "/caas/v1/regular-transactions?user_id=u1".into(),
            "caas:regular_transactions:read",
            None,
            200,
        ),
        (
            Method::GET,
            "/caas/v1/categories".into(),
            "caas:categories:read",
            None,
            200,
        ),
        (
            Method::POST,
            "/caas/v1/categories".into(),
            "caas:categories:write",
            Some(json!({ "name": "Pets" })),
            201,
        ),
        (
            Method::DELETE,
            format!("/caas/v1/categories/{}", f.category),
            "caas:categories:delete",
            None,
            204,
        ),
        (
            Method::DELETE,
            "/caas/v1/users/u1".into(),
            "caas:users:delete",
            None,
            200,
        ),
    ]
}

pub(super) struct Setup {
    pub(super) owner: Owner,
    pub(super) partner_project: String,
    pub(super) caas_project: String,
    pub(super) partner: Creds,
    pub(super) caas: Creds,
}

pub(super) async fn setup(s: &TestServer) -> Setup {
    let owner = s.owner("a@example.com").await;
    let (partner_project, partner) = s.api_client(&owner, "Lending", "partner", &PARTNER).await;
    let (caas_project, caas) = s.api_client(&owner, "Enrichment", "caas", &CAAS).await;
    // Room for the many calls of these tests (the bucket has its own test).
    for p in [&partner_project, &caas_project] {
        let (status, _) = s
            .call(
                &owner.browser,
                "project_rate_limit",
                &[
                    ("id", p.as_str()),
                    ("rate_per_sec", "10000"),
                    ("rate_burst", "10000"),
                ],
            )
            .await;
        assert_eq!(status, 200);
    }
    Setup {
        owner,
        partner_project,
        caas_project,
        partner,
        caas,
    }
}

pub(super) fn api_of(path: &str) -> &'static [&'static str] {
    if path.starts_with("/partner") {
        &PARTNER
    } else {
        &CAAS
    }
}

mod buckets;
mod challenges;
mod document;
mod input;
mod scopes;
mod storage;
