//! Two keys at once, who may change them, and a `jti` used once across
//! the cluster.

use super::*;

#[tokio::test]
async fn two_keys_at_once_rotate_a_key_client_without_downtime() {
    let s = TestServer::start().await;
    let owner = s.owner("rotate-keys@example.com").await;
    let project = s.create_project(&owner, "Rotating", "partner").await;
    let old = TestKey::es256(Some("2026-old"));
    let new = TestKey::ed25519(Some("2026-new"));
    let made = key_client(
        &s,
        &owner,
        &project,
        &["applications:read"],
        &old.jwk.to_string(),
    )
    .await;
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let token_url = s.url("/oauth/token");
    let mint = |key: &TestKey| {
        let assertion = key.sign(&claims(&id, &s.base, s.clock_now()));
        let url = token_url.clone();
        async move { with_assertion(&url, None, &assertion, &[GRANT, SCOPE]).await }
    };
    let (status, body) = mint(&old).await;
    assert_eq!(status, 200);
    let old_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(mint(&new).await.0, 401, "not yet trusted");

    // Step 1: both keys.
    let both = format!("{}{}", old.pem, new.pem);
    let (status, body) = s
        .call(
            &owner.browser,
            "client_set_keys",
            &[("client_id", id.as_str()), ("public_keys", both.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["keys"].as_array().unwrap().len(), 2);
    assert_eq!(mint(&old).await.0, 200);
    assert_eq!(mint(&new).await.0, 200);
    // Step 2: the new key alone; the old one is refused at once, and a
    // token it minted before stays good until it expires.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_set_keys",
            &[
                ("client_id", id.as_str()),
                ("public_keys", &new.jwk.to_string()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mint(&old).await.0, 401);
    assert_eq!(mint(&new).await.0, 200);
    assert!(s.issuer.check(&old_token).is_ok());
    // Audited, for the account and its webhooks.
    let (entries,): (i64,) =
        sqlx::query_as("select count(*) from audit_events where action = 'client.keys_changed'")
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(entries, 2);

    // What cannot be done, with the reason.
    for (form, status, says) in [
        (
            vec![
                ("client_id", id.as_str()),
                (
                    "public_keys",
                    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                ),
            ],
            422,
            "private key",
        ),
        (
            vec![
                ("client_id", id.as_str()),
                ("public_keys", r#"{"kty":"oct","k":"c2VjcmV0"}"#),
            ],
            422,
            "symmetric",
        ),
    ] {
        let (got, body) = s.call(&owner.browser, "client_set_keys", &form).await;
        assert_eq!(got, status, "{body}");
        assert!(body.to_string().contains(says), "{body}");
    }
    let (status, body) = s
        .call(
            &owner.browser,
            "client_rotate",
            &[("client_id", id.as_str())],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let secret_client = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let (status, _) = s
        .call(
            &owner.browser,
            "client_set_keys",
            &[
                ("client_id", secret_client.id.as_str()),
                ("public_keys", &new.jwk.to_string()),
            ],
        )
        .await;
    assert_eq!(status, 409, "a secret client has no keys to change");
}

#[tokio::test]
async fn a_viewer_cannot_change_keys_and_another_account_cannot_see_the_client() {
    let s = TestServer::start().await;
    let owner = s.owner("mine@example.com").await;
    let project = s.create_project(&owner, "Mine", "partner").await;
    let key = TestKey::es256(None);
    let made = key_client(&s, &owner, &project, &["applications:read"], &key.pem).await;
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let viewer = s.member(&owner, "viewer", "viewer@example.com").await;
    let stranger = s.owner("stranger@example.com").await;
    let other = TestKey::es256(None).jwk.to_string();
    let form = [("client_id", id.as_str()), ("public_keys", other.as_str())];
    assert_eq!(s.call(&viewer, "client_set_keys", &form).await.0, 403);
    assert_eq!(
        s.call(&stranger.browser, "client_set_keys", &form).await.0,
        404
    );
    // The keys are still the first ones.
    let assertion = key.sign(&claims(&id, &s.base, s.clock_now()));
    let (status, _) =
        with_assertion(&s.url("/oauth/token"), None, &assertion, &[GRANT, SCOPE]).await;
    assert_eq!(status, 200);
}

/// A second use of a jti is refused on another node of the cluster: by
/// the shared database, and by Redis when the nodes share one.
#[tokio::test]
async fn a_jti_is_used_once_across_the_cluster() {
    let mut clusters = vec![Cluster::start_on_test_backend(2).await];
    if let (Ok(_), true) = (std::env::var(REDIS_ENV), crate::harness::on_postgres()) {
        let admin = std::env::var("PORTCULLIS_TEST_POSTGRES").unwrap();
        clusters.push(Cluster::start(&admin, 2, true).await);
    }
    for c in &clusters {
        let owner = c.owner(0, "cluster-keys@example.com").await;
        let project = c.project(0, &owner, "Across").await;
        let key = TestKey::es256(Some("k"));
        let mut form = client_form(&project, "Signer", &["applications:read"]);
        form.push(("public_keys".into(), key.jwk.to_string()));
        let (status, body) = c.call(0, &owner, "client_create", &form).await;
        assert_eq!(status, 200, "{body}");
        let id = body["client"]["id"].as_str().unwrap().to_owned();
        let now = portcullis_core::Clock::now(&portcullis_core::SystemClock);
        let assertion = key.sign(&claims(&id, &c.public_url, now));
        let first = crate::cluster::within(
            std::time::Duration::from_secs(5),
            "node 1 knows the client",
            || {
                let url = c.url(1, "/oauth/token");
                let fresh = key.sign(&claims(&id, &c.public_url, now));
                async move { with_assertion(&url, None, &fresh, &[GRANT, SCOPE]).await.0 == 200 }
            },
        );
        first.await;
        let (status, body) =
            with_assertion(&c.url(0, "/oauth/token"), None, &assertion, &[GRANT, SCOPE]).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) =
            with_assertion(&c.url(1, "/oauth/token"), None, &assertion, &[GRANT, SCOPE]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "replayed on node 1"
        );
    }
}
