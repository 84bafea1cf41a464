//! Answers against the documented schemas, and the edges: no management
//! token for a developer, replays, timeouts, webhook URLs.

use super::*;

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
