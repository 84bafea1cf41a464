//! Deliveries by real `portcullis serve` processes to a real receiver,
//! checked with the Standard Webhooks library, and a node killed with a
//! delivery still to make.

use super::*;

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
