//! `POST /oauth/secret-reports`: a scanner's signed report of a leaked
//! client secret retires the client at once; anything unsigned, or not
//! ours, changes nothing.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::Client;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};

use crate::harness::*;

const KEY_ID: &str = "test-key-1";

/// A P-256 key pair, and the key document a scanner publishes for it.
fn scanner_key() -> (EcdsaKeyPair, String) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // SubjectPublicKeyInfo for P-256: a fixed prefix, then the point.
    let mut spki = hex_bytes("3059301306072a8648ce3d020106082a8648ce3d030107034200");
    spki.extend_from_slice(pair.public_key().as_ref());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        B64.encode(spki)
    );
    let doc =
        json!({ "public_keys": [{ "key_identifier": KEY_ID, "key": pem, "is_current": true }] });
    (pair, doc.to_string())
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

async fn send(s: &TestServer, body: &str, key_id: &str, signature: &str) -> (u16, Value) {
    let res = Client::new()
        .post(s.url("/oauth/secret-reports"))
        .header("content-type", "application/json")
        .header("github-public-key-identifier", key_id)
        .header("github-public-key-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn sign(pair: &EcdsaKeyPair, body: &str) -> String {
    B64.encode(pair.sign(&SystemRandom::new(), body.as_bytes()).unwrap())
}

#[tokio::test]
async fn a_reported_secret_retires_its_client_and_the_owner_sees_where() {
    let (pair, doc) = scanner_key();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(&keys, doc).unwrap();
    let s = TestServer::start_with(|c| c.secret_report_keys = Some(keys.clone())).await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let (status, hook) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[
                ("url", "https://hooks.example.com/in"),
                ("events", "client.secret_reported"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    let other = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    assert_eq!(
        s.token_basic(&creds, &[("scope", "applications:read")])
            .await
            .status(),
        200
    );

    let url = "https://github.com/acme/site/blob/abc123/config.env";
    let body = json!([
        { "token": creds.secret, "type": "portcullis_client_secret", "url": url, "source": "content" },
        { "token": "pcs_nothing_like_a_real_secret", "type": "portcullis_client_secret", "url": url, "source": "content" },
        { "token": other.secret, "type": "someone_elses_token", "url": url, "source": "content" }
    ])
    .to_string();

    // Unsigned, wrongly signed or by an unknown key: refused, nothing changes.
    for (key, sig) in [
        ("", String::new()),
        (KEY_ID, sign(&pair, "[]")),
        ("another-key", sign(&pair, &body)),
    ] {
        let (status, answer) = send(&s, &body, key, &sig).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"], "invalid_signature");
    }
    assert_eq!(
        s.token_basic(&creds, &[("scope", "applications:read")])
            .await
            .status(),
        200
    );

    let (status, feedback) = send(&s, &body, KEY_ID, &sign(&pair, &body)).await;
    assert_eq!(status, 200, "{feedback}");
    let labels: Vec<&str> = feedback
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["true_positive", "false_positive", "false_positive"]
    );
    assert_eq!(feedback[0]["token_type"], "portcullis_client_secret");

    // Retired at once; the other client of the project is untouched.
    assert_eq!(
        s.token_basic(&creds, &[("scope", "applications:read")])
            .await
            .status(),
        401
    );
    assert_eq!(
        s.token_basic(&other, &[("scope", "applications:read")])
            .await
            .status(),
        200
    );
    let (_, detail) = s
        .call(&owner.browser, "project", &[("id", project.as_str())])
        .await;
    let reported = detail["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == creds.id.as_str())
        .unwrap();
    let reason = reported["disabled_reason"].as_str().unwrap();
    assert!(reason.contains(url), "{reason}");
    let (_, audit) = s
        .call(
            &owner.browser,
            "audit",
            &[("action", "client.secret_reported")],
        )
        .await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1, "{audit}");
    // The owner's webhook is written with the change: where it was found.
    let told = || async {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select payload from webhook_messages where event_type = 'client.secret_reported'",
        )
        .fetch_all(&s.db)
        .await
        .unwrap();
        rows
    };
    let rows = told().await;
    assert_eq!(rows.len(), 1);
    let event: Value = serde_json::from_str(&rows[0].0).unwrap();
    assert_eq!(event["data"]["client_id"], creds.id.as_str());
    assert!(event["data"]["reason"].as_str().unwrap().contains(url));

    // Reported again: still a true positive, nothing more happens.
    let (status, feedback) = send(&s, &body, KEY_ID, &sign(&pair, &body)).await;
    assert_eq!(status, 200);
    assert_eq!(feedback[0]["label"], "true_positive");
    assert_eq!(told().await.len(), 1, "told once");

    let junk = "{not json";
    let (status, _) = send(&s, junk, KEY_ID, &sign(&pair, junk)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn without_configured_keys_there_is_no_report_endpoint() {
    let s = TestServer::start().await;
    let (status, answer) = send(&s, "[]", KEY_ID, "").await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"], "not_configured");
}
