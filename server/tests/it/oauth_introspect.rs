//! Introspection (RFC 7662) and revocation (RFC 7009), within and across
//! tenants.

use serde_json::{json, Value};

use crate::harness::{decode_jwt, TestServer};

async fn introspect(s: &TestServer, caller: &crate::harness::Creds, token: &str) -> (u16, Value) {
    let res = s
        .oauth_post("/oauth/introspect", caller, &[("token", token)])
        .await;
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-store");
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_token_is_active_for_its_own_project_only() {
    let s = TestServer::start().await;
    let (owner_a, project_a, a) = s
        .partner_client("a@example.com", &["applications:read", "decisions:read"])
        .await;
    let token = s.access_token(&a, "decisions:read").await;
    let (_, claims) = decode_jwt(&token);

    let (status, body) = introspect(&s, &a, &token).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "Bearer");
    for field in [
        "iss",
        "sub",
        "client_id",
        "aud",
        "iat",
        "exp",
        "jti",
        "scope",
        "account_id",
    ] {
        assert_eq!(body[field], claims[field], "{field}");
    }
    assert_eq!(body["project_id"], project_a);

    // Another client of the same project (a resource server's own client).
    let rs = s
        .create_client(&owner_a, &project_a, &["applications:read"])
        .await;
    assert_eq!(introspect(&s, &rs, &token).await.1["active"], true);

    // A client of another project of the same account learns nothing.
    let (_, elsewhere) = s
        .api_client(
            &owner_a,
            "Other integration",
            "partner",
            &["applications:read"],
        )
        .await;
    assert_eq!(
        introspect(&s, &elsewhere, &token).await.1,
        json!({ "active": false })
    );

    // Another account's client learns nothing.
    let (_, _, b) = s
        .partner_client("b@example.com", &["applications:read"])
        .await;
    let (status, body) = introspect(&s, &b, &token).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "active": false }));

    // Garbage, a tampered token and an expired one: exactly inactive.
    let mut tampered = token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    for bad in ["garbage", "a.b.c", tampered.as_str()] {
        assert_eq!(
            introspect(&s, &a, bad).await.1,
            json!({ "active": false }),
            "{bad}"
        );
    }
    s.clock.advance(3600);
    assert_eq!(
        introspect(&s, &a, &token).await.1,
        json!({ "active": false })
    );
}

#[tokio::test]
async fn introspection_needs_client_authentication_and_a_token() {
    let s = TestServer::start().await;
    let (_, _, a) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let token = s.access_token(&a, "applications:read").await;
    let res = reqwest::Client::new()
        .post(s.url("/oauth/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let (status, body) = {
        let res = s.oauth_post("/oauth/introspect", &a, &[]).await;
        (res.status().as_u16(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn a_client_revokes_its_own_token_and_only_its_own() {
    let s = TestServer::start().await;
    let (owner_a, project_a, a) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let a2 = s
        .create_client(&owner_a, &project_a, &["applications:read"])
        .await;
    let (_, _, b) = s
        .partner_client("b@example.com", &["applications:read"])
        .await;
    let token = s.access_token(&a, "applications:read").await;

    // Another account's client, and another client of the same account:
    // 200, and nothing happens.
    for other in [&b, &a2] {
        let res = s
            .oauth_post("/oauth/revoke", other, &[("token", token.as_str())])
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
    }
    assert_eq!(s.count("revoked_tokens").await, 0);
    assert_eq!(introspect(&s, &a, &token).await.1["active"], true);

    // Unknown tokens: 200 too.
    let res = s
        .oauth_post("/oauth/revoke", &a, &[("token", "not-a-token")])
        .await;
    assert_eq!(res.status(), 200);

    // The token's own client: revoked, at once, and recorded.
    let res = s
        .oauth_post(
            "/oauth/revoke",
            &a,
            &[
                ("token", token.as_str()),
                ("token_type_hint", "access_token"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect(&s, &a, &token).await.1,
        json!({ "active": false })
    );
    assert_eq!(s.count("revoked_tokens").await, 1);
    let (_, claims) = decode_jwt(&token);
    let (jti,): (String,) = sqlx::query_as("select jti from revoked_tokens")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert_eq!(jti, claims["jti"].as_str().unwrap());

    // Revoking again is harmless; new tokens still work.
    let res = s
        .oauth_post("/oauth/revoke", &a, &[("token", token.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let fresh = s.access_token(&a, "applications:read").await;
    assert_eq!(introspect(&s, &a, &fresh).await.1["active"], true);

    // Bad credentials are refused before anything else.
    let mut wrong = a.clone();
    wrong.secret.push('x');
    let res = s
        .oauth_post("/oauth/revoke", &wrong, &[("token", fresh.as_str())])
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(introspect(&s, &a, &fresh).await.1["active"], true);
}

#[tokio::test]
async fn introspection_and_revocation_draw_on_the_projects_bucket() {
    let s = TestServer::start().await;
    let (owner, project, a) = s
        .partner_client("bucket@example.com", &["applications:read"])
        .await;
    s.set_rate_limit(&owner, &project, 1, 1).await;
    // The bucket holds one request: the token takes it…
    let token = s.access_token(&a, "applications:read").await;
    // …so introspection, charged too, must wait for the next one.
    let (status, body) = introspect(&s, &a, &token).await;
    assert_eq!(status, 429, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = introspect(&s, &a, &token).await;
    assert_eq!(status, 200, "{body}");
    let res = s
        .oauth_post("/oauth/revoke", &a, &[("token", token.as_str())])
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn past_the_cap_a_revocation_revokes_every_earlier_token_and_memory_stops_growing() {
    use portcullis_core::issuer::REVOKED_IDS_PER_CLIENT_MAX;
    let s = TestServer::start().await;
    let (owner, project, a) = s
        .partner_client("many@example.com", &["applications:read"])
        .await;
    s.set_rate_limit(&owner, &project, 100_000, 100_000).await;
    let kept = s.access_token(&a, "applications:read").await;
    for _ in 0..REVOKED_IDS_PER_CLIENT_MAX {
        let t = s.access_token(&a, "applications:read").await;
        let res = s
            .oauth_post("/oauth/revoke", &a, &[("token", t.as_str())])
            .await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        introspect(&s, &a, &kept).await.1["active"],
        true,
        "not revoked yet"
    );
    // One more: the cap is reached, and every token issued so far goes.
    let last = s.access_token(&a, "applications:read").await;
    let res = s
        .oauth_post("/oauth/revoke", &a, &[("token", last.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect(&s, &a, &last).await.1,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(&s, &a, &kept).await.1,
        json!({ "active": false })
    );
    assert_eq!(s.count("revoked_tokens").await, REVOKED_IDS_PER_CLIENT_MAX);
    let res = reqwest::Client::new()
        .get(s.url("/partner/v1/applications"))
        .bearer_auth(&kept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the gate refuses it too");
    // Tokens issued afterwards work.
    s.clock.advance(1);
    let fresh = s.access_token(&a, "applications:read").await;
    assert_eq!(introspect(&s, &a, &fresh).await.1["active"], true);
}
