//! Rotation without downtime, scheduled retirement and temporary clients.

use reqwest::Client;
use serde_json::Value;

use crate::harness::{client_form, Creds, TestServer, PASSWORD};

async fn gate_status(s: &TestServer, token: &str) -> u16 {
    Client::new()
        .get(s.url("/partner/v1/applications"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn client_json(
    s: &TestServer,
    owner: &crate::harness::Owner,
    project: &str,
    id: &str,
) -> Value {
    let (_, detail) = s.call(&owner.browser, "project", &[("id", project)]).await;
    detail["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn rotate_then_retire_the_old_client_and_its_tokens_stop_at_once() {
    let s = TestServer::start().await;
    let (owner, project, old) = s
        .partner_client("a@example.com", &["applications:read", "decisions:read"])
        .await;
    let old_token = s.access_token(&old, "applications:read").await;

    let (status, body) = s
        .call(
            &owner.browser,
            "client_rotate",
            &[("client_id", old.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let new = Creds {
        id: body["client"]["id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
    };
    assert_ne!(new.id, old.id);
    assert_eq!(
        body["client"]["scopes"],
        serde_json::json!(["applications:read", "decisions:read"])
    );
    // Both work side by side.
    s.access_token(&new, "decisions:read").await;
    let new_token = s.access_token(&new, "applications:read").await;
    assert_eq!(gate_status(&s, &old_token).await, 200);
    let c = client_json(&s, &owner, &project, &new.id).await;
    assert_eq!(
        (c["minted_last_5m"].as_u64(), c["minted_last_hour"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        client_json(&s, &owner, &project, &old.id).await["minted_last_hour"],
        1
    );
    // At most two live clients: no second rotation, no third client.
    let (status, _) = s
        .call(
            &owner.browser,
            "client_rotate",
            &[("client_id", new.id.as_str())],
        )
        .await;
    assert_eq!(status, 409, "a state conflict");
    let (status, _) = s
        .call(
            &owner.browser,
            "client_create",
            &client_form(&project, "Third", &["applications:read"]),
        )
        .await;
    assert_eq!(status, 409, "the cap is a state conflict");

    // Retire the old client now.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[("client_id", old.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "disabled");
    assert_eq!(body["disabled_reason"], "Retired by a@example.com");
    let res = s.token_basic(&old, &[("scope", "applications:read")]).await;
    assert_eq!(res.status(), 401, "the token endpoint refuses it");
    assert_eq!(
        gate_status(&s, &old_token).await,
        401,
        "its tokens are refused at once"
    );
    let res = s
        .oauth_post("/oauth/introspect", &new, &[("token", old_token.as_str())])
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["active"], false);
    assert_eq!(
        gate_status(&s, &new_token).await,
        200,
        "the new client carries on"
    );

    // The retired client can be deleted; a live one cannot.
    let (status, _) = s
        .call(
            &owner.browser,
            "client_delete",
            &[("client_id", new.id.as_str())],
        )
        .await;
    assert_eq!(status, 409, "a live client is not deleted");
    let (status, _) = s
        .call(
            &owner.browser,
            "client_delete",
            &[("client_id", old.id.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        client_json(&s, &owner, &project, &old.id).await,
        Value::Null
    );
    let res = s.token_basic(&old, &[("scope", "applications:read")]).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        gate_status(&s, &old_token).await,
        401,
        "a deleted client's live token stays refused (its tombstone)"
    );
}

#[tokio::test]
async fn a_scheduled_retirement_happens_by_itself_and_can_be_cancelled() {
    let s = TestServer::start().await;
    let (owner, project, old) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let (_, body) = s
        .call(
            &owner.browser,
            "client_rotate",
            &[("client_id", old.id.as_str())],
        )
        .await;
    let new_id = body["client"]["id"].as_str().unwrap().to_owned();
    let token = s.access_token(&old, "applications:read").await;

    // Schedule in an hour (the form sends a UTC datetime-local value).
    let at = s.clock_now() + 3600;
    let at_text = portcullis_core::calendar::datetime_local(at);
    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[
                ("client_id", old.id.as_str()),
                ("retire_at", at_text.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active");
    assert_eq!(body["retire_at"].as_i64().unwrap(), at - at.rem_euclid(60));
    // Stored, so it survives a restart.
    let (stored,): (Option<i64>,) = sqlx::query_as("select retire_at from clients where id = $1")
        .bind(&old.id)
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert_eq!(stored, Some(at - at.rem_euclid(60)));
    assert_eq!(s.clients.retire_due().await.unwrap(), 0, "not yet");
    assert_eq!(gate_status(&s, &token).await, 200);

    // The time comes: refused from that second on, before the housekeeping
    // has marked anything…
    let due = at - at.rem_euclid(60);
    s.clock.advance(due - 1 - s.clock_now());
    assert_eq!(gate_status(&s, &token).await, 200, "a second before");
    s.clock.advance(1);
    let res = s.token_basic(&old, &[("scope", "applications:read")]).await;
    assert_eq!(res.status(), 401);
    assert_eq!(gate_status(&s, &token).await, 401);
    // …which then retires it, no request involved.
    s.clock.advance(at - s.clock_now());
    assert_eq!(s.clients.retire_due().await.unwrap(), 1);
    let res = s.token_basic(&old, &[("scope", "applications:read")]).await;
    assert_eq!(res.status(), 401);
    assert_eq!(gate_status(&s, &token).await, 401);
    let res = s.log_in(&owner.browser, "a@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let c = client_json(&s, &owner, &project, &old.id).await;
    assert_eq!(
        (c["status"].as_str(), c["disabled_reason"].as_str()),
        (Some("disabled"), Some("Retired as scheduled"))
    );

    // Scheduling, then cancelling, leaves the client alone.
    let later = s.clock_now() + 7200;
    let later_text = portcullis_core::calendar::datetime_local(later);
    let (status, _) = s
        .call(
            &owner.browser,
            "client_retire",
            &[
                ("client_id", new_id.as_str()),
                ("retire_at", later_text.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s
        .call(
            &owner.browser,
            "client_keep",
            &[("client_id", new_id.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    s.clock.advance(7200);
    assert_eq!(s.clients.retire_due().await.unwrap(), 0);
    let res = s.log_in(&owner.browser, "a@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    // A garbled time is refused.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[("client_id", new_id.as_str()), ("retire_at", "tomorrow")],
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("retire_at")));
}

#[tokio::test]
async fn temporary_clients_expire_and_no_token_outlives_them() {
    let s = TestServer::start().await;
    let (owner, project, _) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    for bad in ["0", "721", "soon"] {
        let mut form = client_form(&project, "One-off", &["decisions:read"]);
        form.push(("expires_in_hours".into(), bad.into()));
        let (status, body) = s.call(&owner.browser, "client_create", &form).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("expires_in_hours")),
            "{bad}"
        );
    }
    let mut form = client_form(&project, "Backfill", &["decisions:read"]);
    form.push(("expires_in_hours".into(), "1".into()));
    let (status, body) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 200, "{body}");
    let temp = Creds {
        id: body["client"]["id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
    };
    let expires_at = body["client"]["expires_at"].as_i64().unwrap();
    assert_eq!(expires_at, s.clock_now() + 3600);
    // Temporary clients live beside the two long-lived ones.
    s.call(
        &owner.browser,
        "client_create",
        &client_form(&project, "Second", &["applications:read"]),
    )
    .await;

    // Half an hour in, a token lives only until the client's expiry.
    s.clock.advance(1800);
    let res = s.token_basic(&temp, &[("scope", "decisions:read")]).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["expires_in"], 1800);
    let (_, claims) = crate::harness::decode_jwt(body["access_token"].as_str().unwrap());
    assert_eq!(claims["exp"].as_i64().unwrap(), expires_at);

    s.clock.advance(1800);
    let res = s.token_basic(&temp, &[("scope", "decisions:read")]).await;
    assert_eq!(res.status(), 401, "refused after expiry");
    let res = s.log_in(&owner.browser, "a@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        client_json(&s, &owner, &project, &temp.id).await["status"],
        "expired"
    );
    let (status, _) = s
        .call(
            &owner.browser,
            "client_delete",
            &[("client_id", temp.id.as_str())],
        )
        .await;
    assert_eq!(status, 200);
}
