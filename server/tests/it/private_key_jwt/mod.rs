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

mod refusals;
mod rotation;
mod third_party;
