//! What bounds a management client (scopes, account, role) and an
//! idempotency key's one create.

use super::*;

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
