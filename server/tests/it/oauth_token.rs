//! The token endpoint's contract (RFC 6749 §4.4, §5; RFC 9068); client
//! authentication (§2.3.1) is in `oauth_client_auth.rs`.

use reqwest::Client;
use serde_json::{json, Value};

use portcullis_core::Clock;

use crate::harness::{decode_jwt, TestServer};

pub(crate) async fn json_of(res: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap())
}

pub(crate) fn assert_no_store(h: &reqwest::header::HeaderMap) {
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["pragma"], "no-cache");
}

#[tokio::test]
async fn basic_auth_mints_a_token_with_exactly_the_requested_scopes() {
    let s = TestServer::start().await;
    let (_, project, creds) = s
        .partner_client("a@example.com", &["applications:read", "decisions:read"])
        .await;
    let res = s.token_basic(&creds, &[("scope", "decisions:read")]).await;
    let (status, h, body) = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    assert_no_store(&h);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "decisions:read");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = decode_jwt(token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].as_str().unwrap().starts_with("key_"));
    assert_eq!(claims["iss"], s.base);
    assert_eq!(claims["sub"], creds.id);
    assert_eq!(claims["client_id"], creds.id);
    assert_eq!(claims["aud"], format!("{}/partner/v1", s.base));
    assert_eq!(claims["scope"], "decisions:read");
    assert_eq!(claims["project_id"], project);
    assert!(claims["account_id"].as_str().unwrap().starts_with("acc_"));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(iat, s.clock.now());
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 3600);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 32, "128-bit jti in hex");
    // Two scopes, asked in any order and repeated, come back sorted once.
    let res = s
        .token_basic(
            &creds,
            &[("scope", "decisions:read applications:read decisions:read")],
        )
        .await;
    let (_, _, body) = json_of(res).await;
    assert_eq!(body["scope"], "applications:read decisions:read");
    let (_, claims2) = decode_jwt(body["access_token"].as_str().unwrap());
    assert_ne!(claims2["jti"], jti);
}

#[tokio::test]
async fn client_secret_post_works_and_both_methods_at_once_is_invalid_request() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let res = s
        .oauth_post(
            "/oauth/token",
            &creds,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "applications:read"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);

    let res = Client::new()
        .post(s.url("/oauth/token"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "applications:read"),
            ("client_secret", creds.secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, h, body) = json_of(res).await;
    assert_eq!(status, 400);
    assert_no_store(&h);
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("one client authentication method"));
}

#[tokio::test]
async fn repeated_parameters_and_wrong_content_type_are_invalid_request() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let res = s
        .token_basic(
            &creds,
            &[
                ("scope", "applications:read"),
                ("scope", "applications:read"),
            ],
        )
        .await;
    let (status, _, body) = json_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("scope parameter is repeated"));

    let res = Client::new()
        .post(s.url("/oauth/token"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .json(&json!({"grant_type": "client_credentials", "scope": "applications:read"}))
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let res = Client::new()
        .get(s.url("/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn grant_type_must_be_client_credentials() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let res = Client::new()
        .post(s.url("/oauth/token"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[("scope", "applications:read")])
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    for grant in ["password", "authorization_code", "refresh_token"] {
        let res = Client::new()
            .post(s.url("/oauth/token"))
            .basic_auth(&creds.id, Some(&creds.secret))
            .form(&[("grant_type", grant), ("scope", "applications:read")])
            .send()
            .await
            .unwrap();
        let (status, h, body) = json_of(res).await;
        assert_eq!(status, 400);
        assert_no_store(&h);
        assert_eq!(body["error"], "unsupported_grant_type", "{grant}");
    }
}

#[tokio::test]
async fn scopes_outside_the_client_or_omitted_are_invalid_scope_and_mint_nothing() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    for scope in [
        None,
        Some(""),
        Some("applications:write"),
        Some("applications:read applications:write"),
        Some("caas:transactions:read"),
        Some("no-such-scope"),
    ] {
        let params: Vec<(&str, &str)> = scope.map(|v| vec![("scope", v)]).unwrap_or_default();
        let res = s.token_basic(&creds, &params).await;
        let (status, h, body) = json_of(res).await;
        assert_eq!(status, 400, "{scope:?}");
        assert_no_store(&h);
        assert_eq!(body["error"], "invalid_scope", "{scope:?}");
        assert!(body.get("access_token").is_none());
    }
    // The omitted-scope answer tells the caller what it may ask for.
    let (_, _, body) = json_of(s.token_basic(&creds, &[]).await).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("applications:read"));
}

#[tokio::test]
async fn archived_projects_clients_are_invalid_client() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let token = s.access_token(&creds, "applications:read").await;
    let (status, _) = s
        .call(
            &owner.browser,
            "project_archive",
            &[("id", project.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, body) = json_of(
        s.token_basic(&creds, &[("scope", "applications:read")])
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // And the tokens it already has are no longer active.
    let res = s
        .oauth_post("/oauth/introspect", &creds, &[("token", token.as_str())])
        .await;
    assert_eq!(
        res.status(),
        401,
        "an archived project's client cannot introspect either"
    );
}

#[tokio::test]
async fn token_lifetime_follows_the_project_setting() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let (status, body) = s
        .call(
            &owner.browser,
            "project_update",
            &[
                ("id", project.as_str()),
                ("name", "Loan intake"),
                ("description", "Nightly batch"),
                ("token_ttl_secs", "600"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let res = s
        .token_basic(&creds, &[("scope", "applications:read")])
        .await;
    let (_, _, body) = json_of(res).await;
    assert_eq!(body["expires_in"], 600);
    let (_, claims) = decode_jwt(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
}
