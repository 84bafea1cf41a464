//! JWKS, RFC 8414 metadata, verifying tokens with an independent library,
//! and signing-key storage and rotation.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use portcullis_core::Clock;
use serde_json::Value;

use crate::harness::TestServer;

async fn get_json(s: &TestServer, path: &str) -> (reqwest::header::HeaderMap, Value) {
    let res = reqwest::get(s.url(path)).await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let h = res.headers().clone();
    (h, res.json().await.unwrap())
}

/// Verifies `token` with jsonwebtoken, using nothing but the JWKS document.
async fn verify_independently(s: &TestServer, token: &str, audience: &str) -> Value {
    let (_, jwks) = get_json(s, "/.well-known/jwks.json").await;
    let set: JwkSet = serde_json::from_value(jwks).unwrap();
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[&s.base]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    decode::<Value>(token, &key, &validation).unwrap().claims
}

#[tokio::test]
async fn metadata_document_describes_the_endpoints() {
    let s = TestServer::start().await;
    let (h, m) = get_json(&s, "/.well-known/oauth-authorization-server").await;
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(m["issuer"], s.base);
    assert_eq!(m["token_endpoint"], s.url("/oauth/token"));
    assert_eq!(m["jwks_uri"], s.url("/.well-known/jwks.json"));
    assert_eq!(m["introspection_endpoint"], s.url("/oauth/introspect"));
    assert_eq!(m["revocation_endpoint"], s.url("/oauth/revoke"));
    assert_eq!(
        m["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        m["token_endpoint_auth_signing_alg_values_supported"],
        serde_json::json!(["ES256", "RS256", "EdDSA"])
    );
    assert_eq!(m["scope_parameter_required"], true);
    let scopes: Vec<&str> = m["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        scopes.len(),
        17 + 8,
        "scopes.toml's and the management API's"
    );
    assert!(scopes.contains(&"applications:read"));
    assert!(scopes.contains(&"manage:projects:read"));
    assert!(scopes.contains(&"caas:users:delete"));
}

#[tokio::test]
async fn the_issuer_setting_is_used_for_iss_and_metadata() {
    let s = TestServer::start_with(|c| {
        c.issuer = Some("https://auth.example.com/".parse().unwrap());
    })
    .await;
    let (_, m) = get_json(&s, "/.well-known/oauth-authorization-server").await;
    assert_eq!(m["issuer"], "https://auth.example.com");
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let token = s.access_token(&creds, "applications:read").await;
    let (_, claims) = crate::harness::decode_jwt(&token);
    assert_eq!(claims["iss"], "https://auth.example.com");
    assert_eq!(claims["aud"], "https://auth.example.com/partner/v1");
}

#[tokio::test]
async fn es256_tokens_verify_with_an_independent_library_from_the_jwks() {
    let s = TestServer::start().await;
    let (h, jwks) = get_json(&s, "/.well-known/jwks.json").await;
    assert_eq!(h["cache-control"], "public, max-age=300");
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "never the private part");

    let (_, _, creds) = s
        .partner_client(
            "a@example.com",
            &["applications:read", "payments:provision"],
        )
        .await;
    let token = s.access_token(&creds, "payments:provision").await;
    let claims = verify_independently(&s, &token, &format!("{}/partner/v1", s.base)).await;
    assert_eq!(claims["scope"], "payments:provision");
    assert_eq!(decode_header(&token).unwrap().alg, Algorithm::ES256);
}

#[tokio::test]
async fn an_rs256_api_gets_rs256_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let catalogue = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml"))
        .unwrap()
        .replacen("signing_alg = \"ES256\"", "signing_alg = \"RS256\"", 1);
    let path = dir.path().join("scopes.toml");
    std::fs::write(&path, catalogue).unwrap();
    let s = TestServer::start_with(|c| c.scopes = path.clone()).await;
    let (_, jwks) = get_json(&s, "/.well-known/jwks.json").await;
    let kinds: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"RS256") && kinds.contains(&"ES256"),
        "{kinds:?}"
    );

    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let token = s.access_token(&creds, "applications:read").await;
    assert_eq!(decode_header(&token).unwrap().alg, Algorithm::RS256);
    verify_independently(&s, &token, &format!("{}/partner/v1", s.base)).await;
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest_and_rotation_keeps_old_keys_published() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let old_token = s.access_token(&creds, "applications:read").await;
    let old_kid = decode_header(&old_token).unwrap().kid.unwrap();

    // The private key is not stored in clear: no PKCS#8 header, no "d".
    let (sealed, jwk): (String, String) =
        sqlx::query_as("select private_sealed, public_jwk from signing_keys")
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert!(!sealed.starts_with("MIG"), "looks like clear DER in base64");
    assert!(!jwk.contains("\"d\""));

    // Rotate as `portcullis keys rotate` does.
    let master =
        portcullis_core::master_key::MasterKey::load_or_create(&s.dir.path().join("master.key"))
            .unwrap();
    let now = s.clock.now();
    let kids = portcullis_core::keyring::Keyring::rotate(
        &s.db,
        &master,
        &[portcullis_core::catalogue::SigningAlg::ES256],
        now,
    )
    .await
    .unwrap();
    // The feed applies the rotation too (on PostgreSQL, when notified): let
    // it finish first, or its reload, begun before the clock moves below,
    // could land after the test's own.
    s.feed.catch_up().await.unwrap();
    s.issuer.keyring().reload(now).await.unwrap();
    let (_, jwks) = get_json(&s, "/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "both published");

    // The new key signs only after the publication lead time.
    let t = s.access_token(&creds, "applications:read").await;
    assert_eq!(decode_header(&t).unwrap().kid.unwrap(), old_kid);
    s.clock.advance(portcullis_core::keyring::PUBLISH_LEAD_SECS);
    s.issuer.keyring().reload(s.clock.now()).await.unwrap();
    let t = s.access_token(&creds, "applications:read").await;
    assert_eq!(decode_header(&t).unwrap().kid.unwrap(), kids[0]);
    verify_independently(&s, &t, &format!("{}/partner/v1", s.base)).await;

    // Once the old key's tokens have all expired it is unpublished.
    s.clock
        .advance(portcullis_core::keyring::RETIRED_KEY_GRACE_SECS);
    s.issuer.keyring().reload(s.clock.now()).await.unwrap();
    let (_, jwks) = get_json(&s, "/.well-known/jwks.json").await;
    let left: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(left, vec![kids[0].as_str()]);
}
