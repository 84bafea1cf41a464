//! Webhooks in the console (members read, only owners change), and the
//! housekeeping's own event: an expired temporary client.

use super::*;

/// In the console: members read endpoints and logs; only owners change
/// them; another account sees none of it.
#[tokio::test]
async fn in_the_console_members_read_and_only_owners_change() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let (status, made) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[
                ("url", "https://hooks.example.com/in"),
                ("events", "client.revoked client.retired"),
                ("description", "pager"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{made}");
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = made["endpoint"]["id"].as_str().unwrap().to_owned();
    // The secret is kept sealed, never in clear.
    let (sealed,): (String,) = sqlx::query_as("select secret_sealed from webhook_endpoints")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert!(!sealed.contains(&made["secret"].as_str().unwrap()[6..]));

    let (status, inv) = s
        .call(&owner.browser, "team_invite", &[("role", "developer")])
        .await;
    assert_eq!(status, 200, "{inv}");
    let token = inv["link"]
        .as_str()
        .unwrap()
        .split_once("/join#")
        .unwrap()
        .1;
    let dev = s.browser();
    let (status, body) = s
        .call(
            &dev,
            "join",
            &[
                ("token", token),
                ("email", "dev@example.com"),
                ("password", crate::harness::PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let res = s
        .log_in(&dev, "dev@example.com", crate::harness::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    let (status, seen) = s.call(&dev, "webhooks", &[] as &[(&str, &str)]).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["endpoints"][0]["id"], id.as_str());
    assert_eq!(seen["can_manage"], false);
    let (status, _) = s
        .call(
            &dev,
            "webhook_create",
            &[
                ("url", "https://hooks.example.com/x"),
                ("events", "client.created"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    for (f, form) in [
        (
            "webhook_enabled",
            vec![("id", id.as_str()), ("enabled", "false")],
        ),
        ("webhook_delete", vec![("id", id.as_str())]),
    ] {
        let (status, body) = s.call(&dev, f, &form).await;
        assert_eq!(status, 403, "{f}: {body}");
    }
    let (status, _) = s
        .call(&dev, "webhook_deliveries", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 200, "members read the log");

    // Another account: nothing of it.
    let other = s.owner("other@example.com").await;
    let (_, theirs) = s
        .call(&other.browser, "webhooks", &[] as &[(&str, &str)])
        .await;
    assert_eq!(theirs["endpoints"], json!([]));
    for (f, form) in [
        ("webhook_deliveries", vec![("id", id.as_str())]),
        (
            "webhook_enabled",
            vec![("id", id.as_str()), ("enabled", "false")],
        ),
        ("webhook_delete", vec![("id", id.as_str())]),
    ] {
        let (status, body) = s.call(&other.browser, f, &form).await;
        assert_eq!(status, 404, "{f}: {body}");
    }
    // No events chosen, or a bad URL: refused, nothing made.
    let (status, body) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[("url", "https://hooks.example.com/in"), ("events", "")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[("url", "not a url"), ("events", "client.created")],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(s.count("webhook_endpoints").await, 1);
    // The owner turns it off: the reason says who.
    let (status, off) = s
        .call(
            &owner.browser,
            "webhook_enabled",
            &[("id", id.as_str()), ("enabled", "false")],
        )
        .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(off["disabled_reason"], "Turned off by owner@example.com.");
}

/// Expiry is found by housekeeping, not by a person: it is told all the same,
/// in the transaction that logs it.
#[tokio::test]
async fn an_expired_temporary_client_is_told() {
    let s = TestServer::start().await;
    let (owner, token, _) = manager(&s, "a@example.com").await;
    register(
        &s.base,
        &token,
        "https://hooks.example.com/in",
        &["client.expired"],
    )
    .await;
    let project = s.create_project(&owner, "Backfill", "partner").await;
    let mut form = crate::harness::client_form(&project, "One-off", &["decisions:read"]);
    form.push(("expires_in_hours".into(), "1".into()));
    let (status, body) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 200, "{body}");
    let id = body["client"]["id"].as_str().unwrap().to_owned();
    assert!(
        outbox_rows(&s).await.is_empty(),
        "created is not subscribed"
    );
    s.clock.advance(3601);
    assert_eq!(s.clients.log_expiries().await.unwrap(), 1);
    let rows = outbox_rows(&s).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "client.expired");
    assert_eq!(rows[0].1["data"]["client_id"], id.as_str());
    assert_eq!(rows[0].1["data"]["actor"]["kind"], "system");
    assert!(rows[0].1["data"]["expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // Logged once, told once.
    assert_eq!(s.clients.log_expiries().await.unwrap(), 0);
    assert_eq!(outbox_rows(&s).await.len(), 1);
}
