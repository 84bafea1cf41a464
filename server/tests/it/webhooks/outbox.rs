//! The outbox's rules on an in-process server with a hand-moved clock:
//! targets checked, tenants apart, 24 hours of retries then the endpoint
//! off, one tenant's backlog holding back nobody else, sending again
//! bounded.

use super::*;

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
