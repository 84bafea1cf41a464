//! DPoP (RFC 9449) over real HTTP: proofs built with `jsonwebtoken` (which
//! the product does not use for its checks), a token bound at the token
//! endpoint (`cnf.jkt`, RFC 7638), and the in-process gate of the reference
//! APIs refusing every way the binding can be broken. Nonces and proofs
//! across several nodes are in `cluster`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::Header;
use reqwest::Client;
use serde_json::{json, Value};

use crate::harness::{decode_jwt, Creds, TestServer};
use crate::private_key_jwt::TestKey;

mod cluster;

/// A DPoP proof (§4.2) by `key` for `method` `url`, hashing `token` if given.
pub(crate) fn proof(
    key: &TestKey,
    method: &str,
    url: &str,
    token: Option<&str>,
    iat: i64,
) -> String {
    proof_with(key, method, url, token, None, iat)
}

/// [`proof`], carrying a server's `nonce` if given (§8, §9).
pub(crate) fn proof_with(
    key: &TestKey,
    method: &str,
    url: &str,
    token: Option<&str>,
    nonce: Option<&str>,
    iat: i64,
) -> String {
    let mut claims = json!({ "htm": method, "htu": url, "iat": iat,
        "jti": portcullis_core::ids::new_id("dpop") });
    if let Some(t) = token {
        let hash = ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
        claims["ath"] = json!(B64URL.encode(hash));
    }
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    sign_proof(key, &claims)
}

/// `claims` as a DPoP proof: `typ` dpop+jwt, the public key in `jwk`.
fn sign_proof(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.typ = Some("dpop+jwt".into());
    let mut public = key.jwk.clone();
    public.as_object_mut().unwrap().remove("kid");
    header.jwk = Some(serde_json::from_value(public).unwrap());
    jsonwebtoken::encode(&header, claims, &key.signing).unwrap()
}

/// RFC 7638 §3 for an EC key, written out here (not the product's code).
fn thumbprint(jwk: &Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap(),
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    B64URL.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

pub(crate) async fn bound_token(s: &TestServer, creds: &Creds, key: &TestKey) -> (u16, Value) {
    let url = s.url("/oauth/token");
    let res = ask_bound(&url, &url, creds, key, None, s.clock_now()).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// A token request for `applications:read` sent to `post_to`, with a
/// proof naming `htu` (the issuer's token endpoint) and `nonce` if given.
async fn ask_bound(
    post_to: &str,
    htu: &str,
    creds: &Creds,
    key: &TestKey,
    nonce: Option<&str>,
    iat: i64,
) -> reqwest::Response {
    Client::new()
        .post(post_to)
        .basic_auth(&creds.id, Some(&creds.secret))
        .header("DPoP", proof_with(key, "POST", htu, None, nonce, iat))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "applications:read"),
        ])
        .send()
        .await
        .unwrap()
}

async fn call(
    s: &TestServer,
    scheme: &str,
    token: &str,
    dpop: Option<String>,
) -> (u16, String, Value) {
    call_at(&s.url("/partner/v1/applications"), scheme, token, dpop).await
}

/// `GET url` with `token` under `scheme` and the proof if given: status,
/// `WWW-Authenticate` and body.
async fn call_at(
    url: &str,
    scheme: &str,
    token: &str,
    dpop: Option<String>,
) -> (u16, String, Value) {
    let mut req = Client::new()
        .get(url)
        .header("authorization", format!("{scheme} {token}"));
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_dpop_bound_token_passes_the_gate_only_with_a_fresh_proof_by_its_key() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("dpop@example.com", &["applications:read"])
        .await;
    let key = TestKey::es256(None);
    let (status, body) = bound_token(&s, &creds, &key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (_, claims) = decode_jwt(&token);
    assert_eq!(claims["cnf"]["jkt"], thumbprint(&key.jwk));
    // Introspection says so too.
    let res = s
        .oauth_post("/oauth/introspect", &creds, &[("token", &token)])
        .await;
    let intro: Value = res.json().await.unwrap();
    assert_eq!(intro["cnf"]["jkt"], thumbprint(&key.jwk));

    let url = s.url("/partner/v1/applications");
    let now = s.clock_now();
    let good = || proof(&key, "GET", &url, Some(&token), now);
    let (status, _, body) = call(&s, "DPoP", &token, Some(good())).await;
    assert_eq!(status, 200, "{body}");

    // Every broken binding: 401 with RFC 9449's challenge.
    let other = TestKey::es256(None);
    let replayed = good();
    assert_eq!(
        call(&s, "DPoP", &token, Some(replayed.clone())).await.0,
        200
    );
    for (what, scheme, dpop, error) in [
        ("as Bearer", "Bearer", None, "invalid_token"),
        (
            "as Bearer with a proof",
            "Bearer",
            Some(good()),
            "invalid_token",
        ),
        ("no proof", "DPoP", None, "invalid_dpop_proof"),
        (
            "a replayed proof",
            "DPoP",
            Some(replayed),
            "invalid_dpop_proof",
        ),
        (
            "another method",
            "DPoP",
            Some(proof(&key, "POST", &url, Some(&token), now)),
            "invalid_dpop_proof",
        ),
        (
            "another URL",
            "DPoP",
            Some(proof(
                &key,
                "GET",
                &s.url("/partner/v1/decisions"),
                Some(&token),
                now,
            )),
            "invalid_dpop_proof",
        ),
        (
            "no ath",
            "DPoP",
            Some(proof(&key, "GET", &url, None, now)),
            "invalid_dpop_proof",
        ),
        (
            "another token's ath",
            "DPoP",
            Some(proof(&key, "GET", &url, Some("x"), now)),
            "invalid_dpop_proof",
        ),
        (
            "another key",
            "DPoP",
            Some(proof(&other, "GET", &url, Some(&token), now)),
            "invalid_dpop_proof",
        ),
        (
            "an old proof",
            "DPoP",
            Some(proof(&key, "GET", &url, Some(&token), now - 120)),
            "invalid_dpop_proof",
        ),
    ] {
        let (status, challenge, body) = call(&s, scheme, &token, dpop).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(challenge.starts_with("DPoP "), "{what}: {challenge}");
        assert!(
            challenge.contains(&format!("error=\"{error}\"")),
            "{what}: {challenge}"
        );
        assert!(
            challenge.contains("algs=\"ES256 RS256 EdDSA\""),
            "{what}: {challenge}"
        );
    }

    // An unbound token is a bearer token: DPoP with it is refused.
    let plain = s.access_token(&creds, "applications:read").await;
    assert_eq!(call(&s, "Bearer", &plain, None).await.0, 200);
    let (status, _, _) = call(
        &s,
        "DPoP",
        &plain,
        Some(proof(&key, "GET", &url, Some(&plain), now)),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_token_endpoint_refuses_a_bad_proof_and_a_replayed_one() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("dpop-token@example.com", &["applications:read"])
        .await;
    let key = TestKey::ed25519(None);
    let url = s.url("/oauth/token");
    let send = |dpop: Vec<String>| {
        let (url, creds) = (url.clone(), creds.clone());
        async move {
            let mut req = Client::new()
                .post(&url)
                .basic_auth(&creds.id, Some(&creds.secret))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "applications:read"),
                ]);
            for p in dpop {
                req = req.header("DPoP", p);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let now = s.clock_now();
    let good = proof(&key, "POST", &url, None, now);
    assert_eq!(send(vec![good.clone()]).await.0, 200);
    for (what, dpop) in [
        ("replayed", vec![good.clone()]),
        (
            "for another URL",
            vec![proof(&key, "POST", &s.url("/oauth/revoke"), None, now)],
        ),
        ("for GET", vec![proof(&key, "GET", &url, None, now)]),
        (
            "two headers",
            vec![
                proof(&key, "POST", &url, None, now),
                proof(&key, "POST", &url, None, now),
            ],
        ),
        ("not a JWT", vec!["x.y.z".into()]),
    ] {
        assert_eq!(
            send(dpop).await,
            (400, "invalid_dpop_proof".to_owned()),
            "{what}"
        );
    }
    let meta: Value = reqwest::get(s.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256", "EdDSA"])
    );
}

/// A proof like [`proof`], carrying `nonce`.
fn proof_with_nonce(key: &TestKey, url: &str, nonce: &str, iat: i64) -> String {
    proof_with(key, "POST", url, None, Some(nonce), iat)
}
