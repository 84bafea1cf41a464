//! Every bad assertion is the wrong secret's 401, and counts toward the
//! per-address guard.

use super::*;

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
    let entry = s.issuer.registry().client(&id).unwrap();
    let recent = portcullis_core::usage_totals::recent_mints(
        &s.db,
        s.issuer.usage(),
        &entry.account_id,
        &entry.project_id,
        s.clock_now(),
    )
    .await
    .unwrap();
    assert_eq!(recent[&id].last_5m, 1);
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
