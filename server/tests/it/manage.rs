//! The management API (`/manage/v1`) on our own tokens: an owner makes a
//! management client; its token creates projects and clients, rotates and
//! retires, reads the audit log and members, always in its own account and
//! never beyond its scopes or a developer's rights.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::harness::*;

const ALL: &str = "manage:projects:read manage:projects:write manage:clients:write \
                   manage:clients:delete manage:audit:read manage:members:read";

async fn call(
    s: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    manage_call(&s.base, token, method, path, body).await
}

/// An owner with a management client holding every manage scope.
async fn management_client(s: &TestServer, email: &str) -> (Owner, Creds) {
    let owner = s.owner(email).await;
    let scopes: Vec<&str> = ALL.split(' ').collect();
    let (_, creds) = s
        .api_client(&owner, "Deploy pipeline", "manage", &scopes)
        .await;
    (owner, creds)
}

#[tokio::test]
async fn a_pipeline_creates_rotates_and_retires_through_the_management_api() {
    let s = TestServer::start().await;
    let (owner, mc) = management_client(&s, "owner@example.com").await;
    let token = s.access_token(&mc, ALL).await;
    let (_, claims) = decode_jwt(&token);
    assert_eq!(claims["aud"], format!("{}/manage/v1", s.base));

    let (status, project) = call(
        &s,
        &token,
        Method::POST,
        "/projects",
        Some(json!({ "name": "Loan intake", "api_id": "partner" })),
    )
    .await;
    assert_eq!(status, 201, "{project}");
    let project_id = project["id"].as_str().unwrap().to_owned();
    let (status, made) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}/clients"),
        Some(json!({ "name": "Primary", "scopes": ["applications:read"] })),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let first = Creds {
        id: made["client"]["id"].as_str().unwrap().into(),
        secret: made["client_secret"].as_str().unwrap().into(),
    };
    assert_eq!(
        s.token_basic(&first, &[("scope", "applications:read")])
            .await
            .status(),
        200
    );

    let (status, rotated) = call(
        &s,
        &token,
        Method::POST,
        &format!("/clients/{}/rotate", first.id),
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    let second = Creds {
        id: rotated["client"]["id"].as_str().unwrap().into(),
        secret: rotated["client_secret"].as_str().unwrap().into(),
    };
    assert_eq!(rotated["client"]["scopes"], json!(["applications:read"]));
    let (status, retired) = call(
        &s,
        &token,
        Method::POST,
        &format!("/clients/{}/retire", first.id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(retired["status"], "disabled");
    assert_eq!(
        s.token_basic(&first, &[("scope", "applications:read")])
            .await
            .status(),
        401
    );
    assert_eq!(
        s.token_basic(&second, &[("scope", "applications:read")])
            .await
            .status(),
        200
    );

    // Narrow, never widen; schedule a retirement and cancel it; delete
    // the retired one; settings and the bucket; archive.
    let second_path = format!("/clients/{}", second.id);
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("{second_path}/narrow"),
        Some(json!({ "scopes": ["applications:read", "decisions:read"] })),
    )
    .await;
    assert_eq!(status, 409, "never widened: {body}");
    let later = s.clock_now() + 3600;
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("{second_path}/retire"),
        Some(json!({ "at": later })),
    )
    .await;
    assert_eq!(
        (status, body["retire_at"].as_i64()),
        (200, Some(later)),
        "{body}"
    );
    let (status, _) = call(
        &s,
        &token,
        Method::POST,
        &format!("{second_path}/keep"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &s,
        &token,
        Method::DELETE,
        &format!("/clients/{}", second.id),
        None,
    )
    .await;
    assert_eq!(
        status, 409,
        "a live client is not deleted: a state conflict"
    );
    let (status, _) = call(
        &s,
        &token,
        Method::DELETE,
        &format!("/clients/{}", first.id),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}"),
        Some(json!({ "name": "Loan intake (prod)", "token_ttl_secs": 900 })),
    )
    .await;
    assert_eq!(
        (status, body["token_ttl_secs"].as_i64()),
        (200, Some(900)),
        "{body}"
    );
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}/rate-limit"),
        Some(json!({ "per_sec": 50, "burst": 100 })),
    )
    .await;
    assert_eq!(
        (status, body["rate_burst"].as_i64()),
        (200, Some(100)),
        "{body}"
    );

    // Reads never show a secret.
    let (status, detail) = call(
        &s,
        &token,
        Method::GET,
        &format!("/projects/{project_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(detail["clients"].as_array().unwrap().len(), 1);
    assert!(!detail.to_string().contains(&second.secret));
    let (_, list) = call(&s, &token, Method::GET, "/projects", None).await;
    assert_eq!(list["projects"].as_array().unwrap().len(), 2, "{list}");

    // The audit log names the management client; members are listed.
    let (status, log) = call(&s, &token, Method::GET, "/audit?action=client.rotate", None).await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(
        log["entries"][0]["actor"],
        format!("management client {}", mc.id)
    );
    let (_, members) = call(&s, &token, Method::GET, "/members", None).await;
    assert_eq!(members["members"][0]["email"], "owner@example.com");
    // The owner sees the same in the console.
    let (_, console_log) = s
        .call(&owner.browser, "audit", &[("action", "client.create")])
        .await;
    assert!(console_log
        .to_string()
        .contains(&format!("management client {}", mc.id)));

    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}/archive"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["archived_at"].is_i64());
    assert_eq!(
        s.token_basic(&second, &[("scope", "applications:read")])
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn scopes_account_and_role_bound_what_a_management_client_can_do() {
    let s = TestServer::start().await;
    let (owner, mc) = management_client(&s, "owner@example.com").await;
    let read_only = s.access_token(&mc, "manage:projects:read").await;
    let (status, body) = call(
        &s,
        &read_only,
        Method::POST,
        "/projects",
        Some(json!({ "name": "X", "api_id": "partner" })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "insufficient_scope");

    let token = s.access_token(&mc, ALL).await;
    // Another account's project is not found.
    let other = s.owner("other@example.com").await;
    let theirs = s.create_project(&other, "Theirs", "partner").await;
    let (status, _) = call(
        &s,
        &token,
        Method::GET,
        &format!("/projects/{theirs}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{theirs}/clients"),
        Some(json!({ "name": "Mine now", "scopes": ["applications:read"] })),
    )
    .await;
    assert_eq!(status, 404);

    // It acts as a developer: no management clients of its own making.
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        "/projects",
        Some(json!({ "name": "More power", "api_id": "manage" })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");

    // A developer cannot make management clients in the console either.
    let (_, invite) = s
        .call(&owner.browser, "team_invite", &[("role", "developer")])
        .await;
    let token_part = invite["link"]
        .as_str()
        .unwrap()
        .split('#')
        .nth(1)
        .unwrap()
        .to_owned();
    let dev = s.browser();
    s.call(
        &dev,
        "join",
        &[
            ("token", token_part.as_str()),
            ("email", "dev@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        s.log_in(&dev, "dev@example.com", PASSWORD).await.status(),
        200
    );
    let (status, body) = s
        .call(
            &dev,
            "project_create",
            &[
                ("name", "Sneaky"),
                ("description", ""),
                ("api_id", "manage"),
                ("token_ttl_secs", ""),
            ],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, overview) = s.call(&dev, "projects", &[] as &[(&str, &str)]).await;
    let offered: Vec<&str> = overview["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(offered, ["partner", "caas"], "not offered to a developer");

    // Bad input: a clear JSON error, nothing made.
    let before = s.count("projects").await;
    for (body, want) in [
        (
            json!({ "name": "X", "api_id": "partner", "colour": "red" }),
            422,
        ),
        (json!({ "name": "", "api_id": "partner" }), 422),
        (json!({ "name": "X", "api_id": "nope" }), 422),
    ] {
        let (status, answer) =
            call(&s, &token, Method::POST, "/projects", Some(body.clone())).await;
        assert_eq!(status, want, "{body} -> {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let res = Client::new()
        .post(s.url("/manage/v1/projects"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(s.count("projects").await, before);
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_create_happen_once() {
    let s = TestServer::start().await;
    let (_, mc) = management_client(&s, "owner@example.com").await;
    let token = s.access_token(&mc, ALL).await;
    let post = |path: &str, key: &str, body: Value| {
        Client::new()
            .post(s.url(&format!("/manage/v1{path}")))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .json(&body)
    };
    let body = json!({ "name": "Retried", "api_id": "partner" });
    let first = post("/projects", "key-1", body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post("/projects", "key-1", body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(
        s.count("projects").await,
        2,
        "the management project and one more"
    );

    // The same key with another request is refused; a new key makes another.
    let other = post(
        "/projects",
        "key-1",
        json!({ "name": "Other", "api_id": "partner" }),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(other.status(), 422);
    let project_id = first["id"].as_str().unwrap();

    // A client's secret is in the first answer only.
    let client_body = json!({ "name": "Primary", "scopes": ["applications:read"] });
    let path = format!("/projects/{project_id}/clients");
    let made: Value = post(&path, "key-2", client_body.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(made["client_secret"].as_str().unwrap().starts_with("pcs_"));
    let replay: Value = post(&path, "key-2", client_body.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replay["client"]["id"], made["client"]["id"]);
    assert_eq!(
        replay["client_secret"],
        Value::Null,
        "a secret is shown once"
    );
    let stored: Vec<(String,)> = sqlx::query_as("select response from idempotency_keys")
        .fetch_all(&s.db)
        .await
        .unwrap();
    assert!(stored
        .iter()
        .all(|(r,)| !r.contains(made["client_secret"].as_str().unwrap())));

    // A failure keeps nothing: the retry runs again.
    let bad = json!({ "name": "", "api_id": "partner" });
    assert_eq!(
        post("/projects", "key-3", bad.clone())
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    let fixed = post("/projects", "key-3", bad).send().await.unwrap();
    assert_eq!(fixed.status(), 422, "ran again, failed again, kept nothing");
    assert!(fixed.headers().get("idempotent-replayed").is_none());

    // After 24 hours the key is forgotten.
    s.clock.advance(24 * 3600 + 1);
    let token = s.access_token(&mc, ALL).await;
    let later = Client::new()
        .post(s.url("/manage/v1/projects"))
        .bearer_auth(&token)
        .header("idempotency-key", "key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        later.status(),
        409,
        "a new project of the same name: {:?}",
        later.text().await
    );
}

/// Each answer of a pipeline run matches the schema `/openapi.json` gives
/// for its operation and status.
#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let s = TestServer::start().await;
    let (_, mc) = management_client(&s, "owner@example.com").await;
    let token = s.access_token(&mc, ALL).await;
    let doc: Value = Client::new()
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let check = |verb: &str, path: &str, status: u16, body: &Value| {
        let op = &doc["paths"][format!("/manage/v1{path}")][verb];
        assert_eq!(op["x-management"], true, "{verb} {path} is documented");
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{verb} {path} documents {status}");
        let mut schema = response["content"]["application/json"]["schema"].clone();
        schema["$defs"] = doc["components"]["schemas"].clone();
        let schema: Value = serde_json::from_str(
            &schema
                .to_string()
                .replace("#/components/schemas/", "#/$defs/"),
        )
        .unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{verb} {path} {status}: {errors:?} in {body}"
        );
    };
    let (status, project) = call(
        &s,
        &token,
        Method::POST,
        "/projects",
        Some(json!({ "name": "P", "api_id": "partner" })),
    )
    .await;
    check("post", "/projects", status, &project);
    let id = project["id"].as_str().unwrap();
    let (status, made) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{id}/clients"),
        Some(json!({ "name": "C", "scopes": ["applications:read"] })),
    )
    .await;
    check("post", "/projects/{id}/clients", status, &made);
    let client = made["client"]["id"].as_str().unwrap();
    let (status, rotated) = call(
        &s,
        &token,
        Method::POST,
        &format!("/clients/{client}/rotate"),
        None,
    )
    .await;
    check("post", "/clients/{id}/rotate", status, &rotated);
    let (status, retired) = call(
        &s,
        &token,
        Method::POST,
        &format!("/clients/{client}/retire"),
        None,
    )
    .await;
    check("post", "/clients/{id}/retire", status, &retired);
    for (path, doc_path) in [
        ("/projects".to_owned(), "/projects"),
        (format!("/projects/{id}"), "/projects/{id}"),
        ("/audit".to_owned(), "/audit"),
        ("/members".to_owned(), "/members"),
    ] {
        let (status, body) = call(&s, &token, Method::GET, &path, None).await;
        check("get", doc_path, status, &body);
    }
    let (status, refused) = call(
        &s,
        &token,
        Method::POST,
        "/projects",
        Some(json!({ "name": "", "api_id": "partner" })),
    )
    .await;
    check("post", "/projects", status, &refused);
    let (status, missing) = call(&s, &token, Method::GET, "/projects/prj_none", None).await;
    check("get", "/projects/{id}", status, &missing);
}

/// The escalation the outside review reproduced: a developer minted a test
/// token for the owner's management client and took over the webhooks.
#[tokio::test]
async fn a_developer_never_gets_a_management_token_by_any_path() {
    let s = TestServer::start().await;
    let scopes: Vec<&str> = "manage:webhooks:read manage:webhooks:write manage:projects:read"
        .split(' ')
        .collect();
    let owner = s.owner("owner@example.com").await;
    let (project, mc) = s
        .api_client(&owner, "Deploy pipeline", "manage", &scopes)
        .await;
    let dev = s.member(&owner, "developer", "dev@example.com").await;
    let (status, body) = s
        .call(
            &dev,
            "client_test_token",
            &[
                ("client_id", mc.id.as_str()),
                ("scopes[0]", "manage:webhooks:write"),
            ],
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.get("access_token").is_none());
    // Nor by rotating it (the successor's secret) or making one.
    let (status, body) = s
        .call(&dev, "client_rotate", &[("client_id", mc.id.as_str())])
        .await;
    assert!(status == 403 || status == 422, "{status} {body}");
    assert!(body.get("client_secret").is_none(), "{body}");
    let (status, body) = s
        .call(
            &dev,
            "client_create",
            &client_form(&project, "Mine", &["manage:webhooks:write"]),
        )
        .await;
    assert!(status == 403 || status == 422, "{status} {body}");
    assert_eq!(s.count("clients").await, 1);
    // Nor change the management client's standing or its project's
    // settings (cancel a retirement, stretch the token lifetime, ...).
    for (name, form) in [
        ("client_keep", vec![("client_id", mc.id.as_str())]),
        ("client_retire", vec![("client_id", mc.id.as_str())]),
        (
            "client_narrow",
            vec![
                ("client_id", mc.id.as_str()),
                ("scopes[0]", "manage:webhooks:read"),
            ],
        ),
        ("client_delete", vec![("client_id", mc.id.as_str())]),
        ("project_archive", vec![("id", project.as_str())]),
        (
            "project_update",
            vec![
                ("id", project.as_str()),
                ("name", "Deploy pipeline"),
                ("token_ttl_secs", "86400"),
            ],
        ),
        (
            "project_rate_limit",
            vec![
                ("id", project.as_str()),
                ("rate_per_sec", "1"),
                ("rate_burst", "1"),
            ],
        ),
    ] {
        let (status, body) = s.call(&dev, name, &form).await;
        assert_eq!(status, 403, "{name}: {body}");
    }
    let (_, seen) = s
        .call(&owner.browser, "project", &[("id", project.as_str())])
        .await;
    assert_eq!(seen["clients"][0]["status"], "active", "{seen}");
    // The owner still may.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_test_token",
            &[
                ("client_id", mc.id.as_str()),
                ("scopes[0]", "manage:webhooks:read"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A kept answer is only for who may make the request now: the scope and
/// the client's standing are checked before the key is looked up.
#[tokio::test]
async fn an_idempotent_replay_needs_the_scope_and_a_live_client() {
    let s = TestServer::start().await;
    let (owner, mc) = management_client(&s, "owner@example.com").await;
    let writer = s.access_token(&mc, ALL).await;
    let reader = s.access_token(&mc, "manage:projects:read").await;
    let post = |token: &str| {
        Client::new()
            .post(s.url("/manage/v1/projects"))
            .bearer_auth(token)
            .header("idempotency-key", "deploy-42")
            .json(&json!({ "name": "Replayed", "api_id": "partner" }))
    };
    let first = post(&writer).send().await.unwrap();
    assert_eq!(first.status(), 201);
    let replay = post(&reader).send().await.unwrap();
    assert_eq!(replay.status(), 403, "no write scope, no kept answer");
    assert!(replay.headers().get("idempotent-replayed").is_none());
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    // A retired client's token gets nothing either, even with the scope.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[("client_id", mc.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let replay = post(&writer).send().await.unwrap();
    assert_eq!(replay.status(), 401);
    assert!(replay.headers().get("idempotent-replayed").is_none());
}

/// A request cut off by the request timeout does not leave its key
/// answering 409 for a day: a little past the timeout it is free again (not
/// sooner: the cut-off request may have committed, and a retry would make
/// it twice).
#[tokio::test]
async fn a_request_cut_off_by_the_timeout_frees_its_idempotency_key_soon_after() {
    let s = TestServer::start_with(|c| c.request_timeout_secs = 1).await;
    let (_, mc) = management_client(&s, "owner@example.com").await;
    let token = s.access_token(&mc, ALL).await;
    // Hold the account's row so the create cannot finish in time.
    let mut blocker = s.db.begin().await.unwrap();
    sqlx::query("update accounts set name = name")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let req = || {
        Client::new()
            .post(s.url("/manage/v1/projects"))
            .bearer_auth(&token)
            .header("idempotency-key", "slow-1")
            .json(&json!({ "name": "Slow", "api_id": "partner" }))
    };
    let cut = req().send().await.unwrap();
    assert_eq!(cut.status(), 408);
    blocker.rollback().await.unwrap();
    // On SQLite the cut came before the key was taken (one writer at a
    // time); on PostgreSQL the key is held: 409 until timeout + margin.
    let status = req().send().await.unwrap().status().as_u16();
    if status == 409 {
        // Still held at the timeout and margin's end, free past it.
        s.clock
            .advance(1 + portcullis_core::idempotency::RUNNING_MARGIN_SECS);
        assert_eq!(req().send().await.unwrap().status(), 409);
        s.clock.advance(1);
        assert_eq!(req().send().await.unwrap().status(), 201);
    } else {
        assert_eq!(status, 201);
    }
    assert_eq!(
        s.count("projects").await,
        2,
        "the management project and one"
    );
}

/// The document states what a webhook URL is (a URI, https) and the API
/// holds callers to exactly that: what the schema refuses is refused.
#[tokio::test]
async fn a_webhook_url_is_a_uri_with_https_as_the_document_says() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let (_, creds) = s
        .api_client(&owner, "Hooks", "manage", &["manage:webhooks:write"])
        .await;
    let token = s.access_token(&creds, "manage:webhooks:write").await;
    let doc: Value = Client::new()
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = &doc["paths"]["/manage/v1/webhooks"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["properties"]["url"];
    assert_eq!(url["format"], "uri", "{url}");
    assert_eq!(url["pattern"], "^https://", "{url}");
    for bad in [
        " https://hooks.example.com/in",
        "https://hooks.example.com/a b",
        "HTTPS://hooks.example.com/in",
        "https://hooks.example.com/é",
    ] {
        let (status, body) = call(
            &s,
            &token,
            Method::POST,
            "/webhooks",
            Some(json!({ "url": bad, "events": ["client.revoked"] })),
        )
        .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("url")),
            "{bad}: {body}"
        );
    }
    assert_eq!(s.count("webhook_endpoints").await, 0);
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        "/webhooks",
        Some(json!({ "url": "https://hooks.example.com/in", "events": ["client.revoked"] })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}
