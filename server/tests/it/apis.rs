//! The bearer gate in front of every reference API endpoint: each is
//! allowed with its scope, refused (403, nothing changed, handler not run)
//! without it, and refused (401) for foreign, expired, revoked and archived
//! projects' tokens; RFC 6750 challenge formats; data isolation.

use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

use crate::support::{Creds, Owner, TestServer};

const PARTNER: [&str; 5] = [
    "applications:read",
    "applications:write",
    "decisions:read",
    "payments:provision",
    "identity:check",
];

const CAAS: [&str; 12] = [
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

async fn call(
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

async fn json(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Ids of freshly made fixtures, for filling `{…}` in paths.
struct Fixtures {
    app: String,
    txn: String,
    split: String,
    category: String,
}

async fn fixtures(s: &TestServer, partner: &str, caas: &str) -> Fixtures {
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
fn endpoints(f: &Fixtures) -> Vec<(Method, String, &'static str, Option<Value>, u16)> {
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

struct Setup {
    owner: Owner,
    partner_project: String,
    caas_project: String,
    partner: Creds,
    caas: Creds,
}

async fn setup(s: &TestServer) -> Setup {
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

fn api_of(path: &str) -> &'static [&'static str] {
    if path.starts_with("/partner") {
        &PARTNER
    } else {
        &CAAS
    }
}

#[tokio::test]
async fn every_endpoint_needs_its_own_scope_and_refuses_bad_tokens() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let full_p = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let full_c = s.access_token(&st.caas, &CAAS.join(" ")).await;
    let f = fixtures(&s, &full_p, &full_c).await;
    let count = endpoints(&f).len();
    // Every scope of the catalogue guards at least one endpoint.
    for scope in PARTNER.iter().chain(CAAS.iter()) {
        assert!(
            endpoints(&f).iter().any(|e| e.2 == *scope),
            "{scope} guards nothing"
        );
    }
    for i in 0..count {
        // Fresh fixtures each time: deletes must not starve later calls.
        let f = fixtures(&s, &full_p, &full_c).await;
        let (method, path, scope, body, ok) = endpoints(&f).swap_remove(i);
        let creds = if path.starts_with("/partner") {
            &st.partner
        } else {
            &st.caas
        };
        // Every other scope of the API, but not this one.
        let others: Vec<&str> = api_of(&path)
            .iter()
            .copied()
            .filter(|s| s != &scope)
            .collect();
        let without = s.access_token(creds, &others.join(" ")).await;
        let before = s.api_rows().await;
        // A body the handler would refuse with 400 proves it never ran.
        let res = Client::new()
            .request(method.clone(), s.url(&path))
            .bearer_auth(&without)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method} {path} without {scope}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer realm=\"portcullis\""),
            "{challenge}"
        );
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!("scope=\"{scope}\"")),
            "{challenge}"
        );
        let (_, body403) = json(res).await;
        assert_eq!(body403["error"], "insufficient_scope");
        assert_eq!(body403["scope"], scope);
        assert_eq!(
            s.api_rows().await,
            before,
            "{method} {path}: nothing written"
        );

        // Exactly this scope is enough.
        let only = s.access_token(creds, scope).await;
        let res = call(&s, method.clone(), &path, Some(&only), body.as_ref()).await;
        let status = res.status().as_u16();
        assert!(
            res.headers().contains_key("ratelimit"),
            "{path}: RateLimit header"
        );
        let (_, answer) = json(res).await;
        assert_eq!(status, ok, "{method} {path} with {scope}: {answer}");

        // A token of the other API, even one holding every scope there.
        let foreign = if path.starts_with("/partner") {
            &full_c
        } else {
            &full_p
        };
        expect_invalid_token(&s, &method, &path, foreign, "other API").await;
        // A revoked token with exactly the right scope.
        let revoked = s.access_token(creds, scope).await;
        let res = s
            .oauth_post("/oauth/revoke", creds, &[("token", revoked.as_str())])
            .await;
        assert_eq!(res.status(), 200);
        expect_invalid_token(&s, &method, &path, &revoked, "revoked").await;
    }

    // Expired: tokens minted now, every endpoint after their hour.
    let f = fixtures(&s, &full_p, &full_c).await;
    let soon_p = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let soon_c = s.access_token(&st.caas, &CAAS.join(" ")).await;
    s.clock.advance(3600);
    for (method, path, ..) in endpoints(&f) {
        let t = if path.starts_with("/partner") {
            &soon_p
        } else {
            &soon_c
        };
        expect_invalid_token(&s, &method, &path, t, "expired").await;
    }
    // A disabled client: archiving the projects disables their clients
    // (support revocation arrives with the staff console).
    let live_p = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let live_c = s.access_token(&st.caas, &CAAS.join(" ")).await;
    let res = s
        .log_in(&st.owner.browser, "a@example.com", crate::support::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    for project in [&st.partner_project, &st.caas_project] {
        let (status, _) = s
            .call(
                &st.owner.browser,
                "project_archive",
                &[("id", project.as_str())],
            )
            .await;
        assert_eq!(status, 200);
    }
    let before = s.api_rows().await;
    for (method, path, ..) in endpoints(&f) {
        let t = if path.starts_with("/partner") {
            &live_p
        } else {
            &live_c
        };
        expect_invalid_token(&s, &method, &path, t, "disabled client").await;
    }
    assert_eq!(s.api_rows().await, before);
}

/// 401 invalid_token, and nothing written.
async fn expect_invalid_token(s: &TestServer, method: &Method, path: &str, token: &str, why: &str) {
    let before = s.api_rows().await;
    let res = Client::new()
        .request(method.clone(), s.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "{method} {path}: {why}");
    let c = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        c.contains("error=\"invalid_token\""),
        "{method} {path}: {why}: {c}"
    );
    assert_eq!(
        s.api_rows().await,
        before,
        "{method} {path}: {why}: nothing written"
    );
}

#[tokio::test]
async fn foreign_expired_revoked_and_archived_tokens_are_invalid_token() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let partner = s.access_token(&st.partner, "applications:read").await;
    let caas = s.access_token(&st.caas, "caas:categories:read").await;
    let read = |t: String| {
        let url = s.url("/partner/v1/applications");
        async move { Client::new().get(url).bearer_auth(t).send().await.unwrap() }
    };
    let invalid = |res: Response, why: &'static str| async move {
        assert_eq!(res.status(), 401, "{why}");
        let c = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(c.contains("error=\"invalid_token\""), "{why}: {c}");
        let (_, body) = json(res).await;
        assert_eq!(body["error"], "invalid_token", "{why}");
        body
    };
    assert_eq!(read(partner.clone()).await.status(), 200);
    // A token for the other API.
    let body = invalid(read(caas.clone()).await, "other API").await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("another API"));
    // Tampered.
    let mut tampered = partner.clone();
    tampered.replace_range(tampered.len() - 5.., "AAAAA");
    invalid(read(tampered).await, "tampered").await;
    invalid(read("not.a.jwt".into()).await, "garbage").await;
    // Revoked: refused at once.
    let revoked = s.access_token(&st.partner, "applications:read").await;
    assert_eq!(read(revoked.clone()).await.status(), 200);
    let res = s
        .oauth_post("/oauth/revoke", &st.partner, &[("token", revoked.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let body = invalid(read(revoked).await, "revoked").await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("revoked"));
    // Expired.
    s.clock.advance(3600);
    invalid(read(partner).await, "expired").await;
    // A live token of a project that is then archived (its client disabled).
    let live = s.access_token(&st.partner, "applications:read").await;
    let res = read(live.clone()).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    // The console session idled out while the clock moved on.
    let res = s
        .log_in(&st.owner.browser, "a@example.com", crate::support::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    let (status, _) = s
        .call(
            &st.owner.browser,
            "project_archive",
            &[("id", st.partner_project.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    invalid(read(live).await, "archived project").await;
}

#[tokio::test]
async fn challenges_follow_rfc_6750() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let token = s.access_token(&st.partner, "applications:read").await;
    // No credentials: a bare challenge.
    let res = call(&s, Method::GET, "/partner/v1/applications", None, None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );
    // Another scheme is no bearer credential either.
    let res = Client::new()
        .get(s.url("/partner/v1/applications"))
        .basic_auth("x", Some("y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );
    // Malformed: 400 invalid_request.
    for bad in ["Bearer", "Bearer ", "Bearer a b"] {
        let res = Client::new()
            .get(s.url("/partner/v1/applications"))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad:?}");
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_request\""));
    }
    let res = Client::new()
        .get(s.url(&format!("/partner/v1/applications?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "tokens in the query string are refused");
    let res = Client::new()
        .get(s.url("/partner/v1/applications"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "two Authorization headers");
    // The scheme is case-insensitive.
    let res = Client::new()
        .get(s.url("/partner/v1/applications"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Unknown paths under an API: JSON 404.
    let (status, body) =
        json(call(&s, Method::GET, "/partner/v1/nope", Some(&token), None).await).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn input_is_validated_and_data_is_per_project() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let full = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let post = |body: Value| {
        let req = Client::new()
            .post(s.url("/partner/v1/applications"))
            .bearer_auth(&full)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let (status, body) = json(post(json!({ "applicant_name": "A", "amount_cents": 5, "term_months": 12, "annual_income_cents": 1 })).await).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("amount_cents"))
    );
    let (status, _) = json(post(json!({ "applicant_name": "A" })).await).await;
    assert_eq!(status, 422, "missing fields");
    let (status, _) = json(post(json!({ "applicant_name": "A", "amount_cents": 500, "term_months": 12, "annual_income_cents": 1, "extra": 1 })).await).await;
    assert_eq!(status, 422, "unknown fields");
    let res = Client::new()
        .post(s.url("/partner/v1/applications"))
        .bearer_auth(&full)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(s.api_rows().await, 0, "nothing written by bad input");

    // The rule decides; a declined application cannot be paid out.
    let (_, declined) = json(post(json!({ "applicant_name": "B", "amount_cents": 6_000_000, "term_months": 24, "annual_income_cents": 90_000_000 })).await).await;
    let id = declined["id"].as_str().unwrap();
    let (_, decision) = json(
        call(
            &s,
            Method::GET,
            &format!("/partner/v1/applications/{id}/decision"),
            Some(&full),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(decision["outcome"], "declined");
    let (status, _) = json(
        call(
            &s,
            Method::POST,
            &format!("/partner/v1/applications/{id}/payment-links"),
            Some(&full),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);

    // Another project of the same account sees none of it.
    let (_, other) = s.api_client(&st.owner, "Second", "partner", &PARTNER).await;
    let other_token = s.access_token(&other, "applications:read").await;
    let (status, _) = json(
        call(
            &s,
            Method::GET,
            &format!("/partner/v1/applications/{id}"),
            Some(&other_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    let (_, list) = json(
        call(
            &s,
            Method::GET,
            "/partner/v1/applications",
            Some(&other_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list["applications"], json!([]));

    // The write scope returns what it created without the read scope.
    let caas_write = s.access_token(&st.caas, "caas:transactions:write").await;
    let (status, txn) = json(
        call(
            &s,
            Method::POST,
            "/caas/v1/transactions",
            Some(&caas_write),
            Some(&json!({
        "user_id": "u9", "account_id": "a9", "amount_cents": -3000, "currency": "GBP",
        "description": "TESCO STORES 3297", "booked_on": "2026-11-02" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            txn["merchant"].as_str(),
            txn["category_id"].as_str(),
            txn["currency"].as_str()
        ),
        (Some("TESCO STORES"), Some("cat_groceries"), Some("GBP"))
    );
    let (status, _) = json(
        call(
            &s,
            Method::GET,
            &format!("/caas/v1/transactions/{}", txn["id"].as_str().unwrap()),
            Some(&caas_write),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "but cannot read it back");
}

#[tokio::test]
async fn a_project_bucket_limits_bursts_and_recovers() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let (status, body) = s
        .call(
            &st.owner.browser,
            "project_rate_limit",
            &[
                ("id", st.partner_project.as_str()),
                ("rate_per_sec", "10"),
                ("rate_burst", "10"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Minted before the limit bites (minting is charged too).
    let token = s.access_token(&st.partner, "applications:read").await;
    // Let the bucket refill after that mint.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let client = Client::new();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let req = client
                .get(s.url("/partner/v1/applications"))
                .bearer_auth(&token);
            tokio::spawn(async move { req.send().await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let ok = results.iter().filter(|r| r.status() == 200).count();
    assert!((9..=11).contains(&ok), "{ok} passed");
    let limited: Vec<&Response> = results.iter().filter(|r| r.status() == 429).collect();
    assert_eq!(ok + limited.len(), 50);
    let h = limited[0].headers();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry));
    assert_eq!(h["ratelimit-policy"], "\"project\";q=10;w=1");
    assert!(h["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"project\";r=0;t="));
    let allowed = results.iter().find(|r| r.status() == 200).unwrap();
    assert!(allowed.headers()["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"project\";r="));

    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    let res = client
        .get(s.url("/partner/v1/applications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "passes again after Retry-After");

    // The token endpoint draws on the same bucket.
    for _ in 0..12 {
        let _ = s
            .token_basic(&st.partner, &[("scope", "applications:read")])
            .await;
    }
    let res = s
        .token_basic(&st.partner, &[("scope", "applications:read")])
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");

    // The console shows the traffic of this minute.
    let (_, detail) = s
        .call(
            &st.owner.browser,
            "project",
            &[("id", st.partner_project.as_str())],
        )
        .await;
    let last = detail["traffic"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(last["limited"].as_u64().unwrap() >= 39, "{last}");
    assert!(last["allowed"].as_u64().unwrap() >= 10, "{last}");
    assert_eq!(detail["project"]["rate_per_sec"], 10);

    // Bad settings are refused and change nothing.
    for (rate, burst, field) in [
        ("0", "10", "rate_per_sec"),
        ("10", "5", "rate_burst"),
        ("x", "10", "rate_per_sec"),
    ] {
        let (status, body) = s
            .call(
                &st.owner.browser,
                "project_rate_limit",
                &[
                    ("id", st.partner_project.as_str()),
                    ("rate_per_sec", rate),
                    ("rate_burst", burst),
                ],
            )
            .await;
        assert_eq!((status, body["field"].as_str()), (422, Some(field)));
    }
}

#[tokio::test]
async fn the_openapi_document_names_each_operations_scope() {
    let s = TestServer::start().await;
    let res = reqwest::get(s.url("/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths["/partner/v1/applications"]["post"]["x-required-scope"],
        "applications:write"
    );
    assert_eq!(
        paths["/partner/v1/applications"]["post"]["security"][0]["portcullis"][0],
        "applications:write"
    );
    assert_eq!(
        paths["/caas/v1/users/{user_id}"]["delete"]["x-required-scope"],
        "caas:users:delete"
    );
    assert!(
        paths.contains_key("/oauth/token")
            && paths.contains_key("/oauth/introspect")
            && paths.contains_key("/oauth/revoke")
    );
    let count = |prefix: &str| -> usize {
        paths
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, v)| v.as_object().unwrap().len())
            .sum()
    };
    assert_eq!(
        count("/partner/") + count("/caas/"),
        19,
        "every reference operation is documented"
    );
    assert_eq!(count("/manage/v1/"), 23, "and every management operation");
    let scopes = doc["components"]["securitySchemes"]["portcullis"]["flows"]["clientCredentials"]
        ["scopes"]
        .as_object()
        .unwrap();
    assert_eq!(
        scopes.len(),
        17 + 8,
        "scopes.toml's and the management API's"
    );
}
