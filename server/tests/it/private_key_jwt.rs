//! `private_key_jwt` client authentication (RFC 7523 §2.2, claims per §3)
//! over real HTTP. Assertions are signed with `jsonwebtoken`, a JOSE
//! library the product does not use for its own checks, and by Python's
//! authlib (Debian's python3-authlib), a third-party OAuth client.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Client;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};
use serde_json::{json, Value};

use crate::cluster::{Cluster, REDIS_ENV};
use crate::harness::{client_form, Owner, TestServer};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's key pair: the private half signs (with jsonwebtoken), the
/// public half is what the partner pastes.
pub struct TestKey {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub signing: EncodingKey,
    /// The public JWK (with `kid` when set).
    pub jwk: Value,
    /// The public key as PEM (SubjectPublicKeyInfo).
    pub pem: String,
    /// PKCS#8 of the private key, for other signers.
    pub private_pkcs8_pem: String,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl TestKey {
    pub fn es256(kid: Option<&str>) -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        let mut jwk = json!({ "kty": "EC", "crv": "P-256",
            "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..]) });
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        // SubjectPublicKeyInfo of a P-256 key: a fixed prefix, then the point.
        let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
        spki.extend_from_slice(point);
        Self {
            alg: Algorithm::ES256,
            kid: kid.map(str::to_owned),
            signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
            pem: pem("PUBLIC KEY", &spki),
            private_pkcs8_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
        }
    }

    pub fn ed25519(kid: Option<&str>) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let x = pair.public_key().as_ref();
        let mut jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": B64URL.encode(x) });
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        let mut spki = hex::decode("302a300506032b6570032100").unwrap();
        spki.extend_from_slice(x);
        Self {
            alg: Algorithm::EdDSA,
            kid: kid.map(str::to_owned),
            signing: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk,
            pem: pem("PUBLIC KEY", &spki),
            private_pkcs8_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
        }
    }

    pub fn rs256(kid: Option<&str>) -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let public = key.to_public_key();
        let mut jwk = json!({ "kty": "RSA", "n": B64URL.encode(public.n().to_bytes_be()),
            "e": B64URL.encode(public.e().to_bytes_be()) });
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        Self {
            alg: Algorithm::RS256,
            kid: kid.map(str::to_owned),
            signing: EncodingKey::from_rsa_der(key.to_pkcs1_der().unwrap().as_bytes()),
            jwk,
            pem: public
                .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
                .unwrap(),
            private_pkcs8_pem: key
                .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
                .unwrap()
                .to_string(),
        }
    }

    /// A compact JWS of `claims` with this key's algorithm and `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.signing).unwrap()
    }
}

/// RFC 7523 §3 claims for `client_id` at the issuer `aud`, a minute long.
pub fn claims(client_id: &str, aud: &str, now: i64) -> Value {
    json!({ "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
        "jti": portcullis_core::ids::new_id("jti") })
}

/// A key client made in the console with `public_keys` pasted.
pub async fn key_client(
    s: &TestServer,
    owner: &Owner,
    project: &str,
    scopes: &[&str],
    public_keys: &str,
) -> Value {
    let mut form = client_form(project, "Signer", scopes);
    form.push(("public_keys".into(), public_keys.into()));
    let (status, body) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// POST an OAuth endpoint with a client assertion (and `client_id` if given).
pub async fn with_assertion(
    url: &str,
    client_id: Option<&str>,
    assertion: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    if let Some(id) = client_id {
        form.push(("client_id", id));
    }
    form.extend_from_slice(params);
    let res = Client::new().post(url).form(&form).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");
const SCOPE: (&str, &str) = ("scope", "applications:read");

#[tokio::test]
async fn a_key_client_gets_tokens_with_a_signed_assertion_and_has_no_secret() {
    let s = TestServer::start().await;
    let owner = s.owner("keys@example.com").await;
    let project = s.create_project(&owner, "Signed", "partner").await;
    let es = TestKey::es256(Some("es-1"));
    let made = key_client(
        &s,
        &owner,
        &project,
        &["applications:read"],
        &es.jwk.to_string(),
    )
    .await;
    assert_eq!(
        made["client_secret"],
        Value::Null,
        "no secret is ever shown"
    );
    assert_eq!(made["client"]["keys"][0]["kid"], "es-1");
    assert_eq!(made["client"]["keys"][0]["alg"], "ES256");
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let token_url = s.url("/oauth/token");
    let now = s.clock_now();

    // With client_id, without it (sub names the client), and with the
    // token endpoint's URL as the audience: all accepted.
    for (client_id, aud) in [
        (Some(id.as_str()), s.base.clone()),
        (None, s.base.clone()),
        (Some(id.as_str()), token_url.clone()),
    ] {
        let assertion = es.sign(&claims(&id, &aud, now));
        let (status, body) =
            with_assertion(&token_url, client_id, &assertion, &[GRANT, SCOPE]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "applications:read");
        let (_, minted) = crate::harness::decode_jwt(body["access_token"].as_str().unwrap());
        assert_eq!(minted["client_id"], id);
    }

    // Introspection and revocation take the same authentication.
    let assertion = es.sign(&claims(&id, &s.base, now));
    let (_, body) = with_assertion(&token_url, None, &assertion, &[GRANT, SCOPE]).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let assertion = es.sign(&claims(&id, &s.base, now));
    let (status, body) = with_assertion(
        &s.url("/oauth/introspect"),
        None,
        &assertion,
        &[("token", &access)],
    )
    .await;
    assert_eq!((status, &body["active"]), (200, &json!(true)), "{body}");
    let assertion = es.sign(&claims(&id, &s.base, now));
    let (status, _) = with_assertion(
        &s.url("/oauth/revoke"),
        None,
        &assertion,
        &[("token", &access)],
    )
    .await;
    assert_eq!(status, 200);

    // Ed25519 pasted as PEM (named by its thumbprint) and RSA as a JWK Set.
    let ed = TestKey::ed25519(None);
    let made = key_client(&s, &owner, &project, &["applications:read"], &ed.pem).await;
    let ed_id = made["client"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["client"]["keys"][0]["alg"], "EdDSA");
    let (status, body) = with_assertion(
        &token_url,
        None,
        &ed.sign(&claims(&ed_id, &s.base, now)),
        &[GRANT, SCOPE],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    s.call(
        &owner.browser,
        "client_retire",
        &[("client_id", ed_id.as_str())],
    )
    .await;
    let rs = TestKey::rs256(Some("rs-1"));
    let set = json!({ "keys": [rs.jwk] }).to_string();
    let made = key_client(&s, &owner, &project, &["applications:read"], &set).await;
    let rs_id = made["client"]["id"].as_str().unwrap().to_owned();
    let (status, body) = with_assertion(
        &token_url,
        Some(&rs_id),
        &rs.sign(&claims(&rs_id, &s.base, now)),
        &[GRANT, SCOPE],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The metadata says so (RFC 8414 §2).
    let meta: Value = reqwest::get(s.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for field in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert!(
            meta[field]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt")),
            "{field}"
        );
    }
    assert_eq!(
        meta["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "RS256", "EdDSA"])
    );
}

#[tokio::test]
async fn every_bad_assertion_is_the_wrong_secrets_401_and_counts_toward_the_address_guard() {
    let s = TestServer::start().await;
    let (owner, project, secret_client) = s
        .partner_client("bad@example.com", &["applications:read"])
        .await;
    let key = TestKey::es256(Some("k1"));
    let made = key_client(
        &s,
        &owner,
        &project,
        &["applications:read"],
        &key.jwk.to_string(),
    )
    .await;
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let token_url = s.url("/oauth/token");
    let now = s.clock_now();

    // What a wrong secret gets (client_secret_post: no Basic challenge).
    let wrong = Client::new()
        .post(&token_url)
        .form(&[
            ("client_id", secret_client.id.as_str()),
            ("client_secret", "pcs_wrong"),
            GRANT,
            SCOPE,
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("www-authenticate").is_none());
    let wrong_body: Value = wrong.json().await.unwrap();

    let other = TestKey::es256(Some("k1"));
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims(&id, &s.base, now);
        change(&mut c);
        key.sign(&c)
    };
    let unsigned = |alg: &str| {
        let header = B64URL.encode(json!({ "alg": alg, "kid": "k1" }).to_string());
        let body = B64URL.encode(claims(&id, &s.base, now).to_string());
        format!("{header}.{body}.")
    };
    // HMAC keyed with the public key's bytes: the classic confusion.
    let hmac = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let secret = key.jwk.to_string();
        jsonwebtoken::encode(
            &h,
            &claims(&id, &s.base, now),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let critical = {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("k1".into());
        let mut header = serde_json::to_value(&h).unwrap();
        header["crit"] = json!(["exp"]);
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims(&id, &s.base, now).to_string())
        );
        // Signed properly, so only the crit header is wrong.
        let sig =
            jsonwebtoken::crypto::sign(input.as_bytes(), &key.signing, Algorithm::ES256).unwrap();
        format!("{input}.{sig}")
    };
    let reused = key.sign(&claims(&id, &s.base, now));
    let (status, _) = with_assertion(&token_url, None, &reused, &[GRANT, SCOPE]).await;
    assert_eq!(status, 200, "its first use");
    let cases: Vec<(&str, String)> = vec![
        ("the same jti again", reused.clone()),
        (
            "another audience",
            with(&|c| c["aud"] = json!("https://elsewhere.example")),
        ),
        (
            "the issuer with a trailing slash",
            with(&|c| c["aud"] = json!(format!("{}/", s.base))),
        ),
        (
            "expired",
            with(&|c| {
                c["iat"] = json!(now - 200);
                c["exp"] = json!(now - 100)
            }),
        ),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        ("ten minutes long", with(&|c| c["exp"] = json!(now + 600))),
        (
            "issued in the future",
            with(&|c| {
                c["iat"] = json!(now + 120);
                c["exp"] = json!(now + 180)
            }),
        ),
        (
            "no jti",
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
        ),
        (
            "iss is not the client",
            with(&|c| c["iss"] = json!(secret_client.id)),
        ),
        (
            "sub is another client",
            with(&|c| c["sub"] = json!(secret_client.id)),
        ),
        (
            "signed by another key with the same kid",
            other.sign(&claims(&id, &s.base, now)),
        ),
        ("alg none", unsigned("none")),
        ("HS256 keyed with the public key", hmac),
        ("a critical header", critical),
        ("not a JWT", "not-a-jwt".into()),
    ];
    for (what, assertion) in &cases {
        let (status, body) =
            with_assertion(&token_url, Some(&id), assertion, &[GRANT, SCOPE]).await;
        assert_eq!((status, &body), (401, &wrong_body), "{what}");
    }
    // A secret for the key client, and an assertion for the secret client.
    let res = s
        .oauth_post(
            "/oauth/token",
            &crate::harness::Creds {
                id: id.clone(),
                secret: secret_client.secret.clone(),
            },
            &[GRANT, SCOPE],
        )
        .await;
    assert_eq!(res.status(), 401);
    let assertion = key.sign(&claims(&secret_client.id, &s.base, now));
    let (status, body) = with_assertion(
        &token_url,
        Some(&secret_client.id),
        &assertion,
        &[GRANT, SCOPE],
    )
    .await;
    assert_eq!((status, &body), (401, &wrong_body));
    // Mixing methods, or an unknown assertion type, is a malformed request.
    let res = Client::new()
        .post(&token_url)
        .basic_auth(&secret_client.id, Some(&secret_client.secret))
        .form(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", reused.as_str()),
            GRANT,
            SCOPE,
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = Client::new()
        .post(&token_url)
        .form(&[
            ("client_assertion_type", "urn:example:saml"),
            ("client_assertion", reused.as_str()),
            GRANT,
            SCOPE,
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Nothing but the one good assertion minted a token.
    let usage = s.issuer.registry().client(&id).unwrap().usage.clone();
    assert_eq!(usage.minted_in_last(5, s.clock_now()), 1);
    // Those failures counted toward this address's guard: a few more and
    // even a good assertion waits.
    let mut limited = false;
    for _ in 0..10 {
        let (status, _) = with_assertion(&token_url, Some(&id), "x.y.z", &[GRANT, SCOPE]).await;
        if status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "the per-address guard counts bad assertions");
    let good = key.sign(&claims(&id, &s.base, now));
    let (status, body) = with_assertion(&token_url, Some(&id), &good, &[GRANT, SCOPE]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
}

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

/// authlib's `PrivateKeyJWT` (a third-party OAuth client) gets a token;
/// reusing one of its assertions is refused. authlib signs a
/// one-hour assertion by default, so the script asks for one minute.
#[tokio::test]
async fn authlib_private_key_jwt_gets_a_token() {
    let s = TestServer::start().await;
    let owner = s.owner("authlib@example.com").await;
    let project = s.create_project(&owner, "Python", "partner").await;
    let key = TestKey::es256(Some("py-1"));
    let made = key_client(&s, &owner, &project, &["applications:read"], &key.pem).await;
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, &key.private_pkcs8_pem).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/authlib_client.py");
    let args = [
        s.url("/oauth/token"),
        id.clone(),
        key_file.to_str().unwrap().to_owned(),
        "applications:read".into(),
    ];
    // Off the runtime: the server under test answers on it.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("/usr/bin/python3")
            .arg(script)
            .args(args)
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .output()
            .expect("Debian's python3 with python3-authlib (make test installs it)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["token_type"], "Bearer", "{stdout}");
    assert_eq!(lines[0]["scope"], "applications:read");
    assert!(s
        .issuer
        .check(lines[0]["access_token"].as_str().unwrap())
        .is_ok());
    assert_eq!(lines[1]["status"], 401, "the replayed assertion: {stdout}");
    assert_eq!(lines[1]["error"], "invalid_client");
}

/// A partner's key server on loopback: serves `keys` and counts fetches.
struct KeyServer {
    url: String,
    keys: std::sync::Arc<std::sync::Mutex<Value>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl KeyServer {
    async fn start(keys: Value) -> Self {
        use std::sync::atomic::Ordering;
        let served = std::sync::Arc::new(std::sync::Mutex::new(keys));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, h) = (served.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                h.fetch_add(1, Ordering::SeqCst);
                let body = s.lock().unwrap().clone();
                async move { axum::Json(body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            keys: served,
            hits,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn keys_at_a_jwks_uri_are_cached_and_a_new_kid_is_fetched_within_seconds() {
    let a = TestKey::es256(Some("a"));
    let b = TestKey::rs256(Some("b"));
    let partner =
        KeyServer::start(json!({ "keys": [a.jwk, { "kty": "oct", "k": "c2VjcmV0" }] })).await;

    // By default a loopback (or any private) jwks_uri is refused.
    let strict = TestServer::start().await;
    let owner = strict.owner("strict@example.com").await;
    let project = strict.create_project(&owner, "Hosted", "partner").await;
    let mut form = client_form(&project, "Hosted", &["applications:read"]);
    form.push(("jwks_uri".into(), partner.url.clone()));
    let (status, body) = strict.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("jwks_uri"), "{body}");
    assert_eq!(partner.hits(), 0, "not even fetched");

    let s = TestServer::start_with(|c| c.key_fetch_private_targets = true).await;
    let owner = s.owner("hosted@example.com").await;
    let project = s.create_project(&owner, "Hosted", "partner").await;
    let mut form = client_form(&project, "Hosted", &["applications:read"]);
    form.push(("jwks_uri".into(), partner.url.clone()));
    let (status, made) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["client"]["jwks_uri"], partner.url.as_str());
    assert_eq!(made["client_secret"], Value::Null);
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let token_url = s.url("/oauth/token");
    let mint = |key: &TestKey| {
        let assertion = key.sign(&claims(&id, &s.base, s.clock_now()));
        let url = token_url.clone();
        async move {
            with_assertion(&url, None, &assertion, &[GRANT, SCOPE])
                .await
                .0
        }
    };
    for _ in 0..5 {
        assert_eq!(mint(&a).await, 200);
    }
    let fetched = partner.hits();
    assert!(
        fetched <= 2,
        "checked when set, then cached: {fetched} fetches"
    );

    // The partner publishes a new key; a flood of made-up kids meanwhile
    // does not make this server fetch again and again.
    *partner.keys.lock().unwrap() = json!({ "keys": [b.jwk] });
    let mut stranger = TestKey::es256(Some("made-up"));
    for _ in 0..10 {
        assert_eq!(mint(&stranger).await, 401);
        stranger = TestKey::es256(Some("made-up"));
    }
    assert!(
        partner.hits() <= fetched + 1,
        "at most one fetch within five seconds"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    assert_eq!(mint(&b).await, 200, "the new kid is fetched");
    assert_eq!(mint(&a).await, 401, "the old key is gone from the set");
}
