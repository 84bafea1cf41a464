//! Workload identity over real HTTP: a client that holds no secret and no
//! key signs in with its platform's token. A loopback fixture plays the
//! platform (OpenID discovery, a JWK Set, tokens shaped like GitHub
//! Actions'), signing with `jsonwebtoken`, a JOSE library the product does
//! not use for its own checks. Nothing here reaches the internet.
//! Kubernetes and SPIFFE, with a pasted JWK Set: `workload_identity_jwks.rs`.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Client;
use serde_json::{json, Value};

use crate::harness::{client_form, Owner, TestServer};
use crate::private_key_jwt::{with_assertion, TestKey};

pub(crate) const GRANT: (&str, &str) = ("grant_type", "client_credentials");
pub(crate) const SCOPE: (&str, &str) = ("scope", "applications:read");

/// A platform's token issuer on loopback: discovery and its JWK Set.
struct Platform {
    issuer: String,
    key: TestKey,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Platform {
    async fn start(key: TestKey) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/.well-known/jwks"),
            "id_token_signing_alg_values_supported": ["RS256"] });
        let jwks = json!({ "keys": [key.jwk] });
        let (h1, h2) = (hits.clone(), hits.clone());
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || {
                    h1.fetch_add(1, Ordering::SeqCst);
                    let d = discovery.clone();
                    async move { axum::Json(d) }
                }),
            )
            .route(
                "/.well-known/jwks",
                axum::routing::get(move || {
                    h2.fetch_add(1, Ordering::SeqCst);
                    let k = jwks.clone();
                    async move { axum::Json(k) }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { issuer, key, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A token shaped like GitHub Actions' OIDC token for `aud`.
    fn github_claims(&self, aud: &str, now: i64) -> Value {
        json!({
            "iss": self.issuer, "aud": aud, "jti": portcullis_core::ids::new_id("gh"),
            "sub": "repo:acme/payments-sync:ref:refs/heads/main",
            "repository": "acme/payments-sync", "repository_owner": "acme",
            "repository_id": "74", "ref": "refs/heads/main", "ref_type": "branch",
            "environment": "production", "event_name": "push", "run_id": "9001",
            "job_workflow_ref": "acme/payments-sync/.github/workflows/sync.yml@refs/heads/main",
            "iat": now, "nbf": now - 5, "exp": now + 300,
        })
    }
}

/// The console's `client_create` with a workload trust.
pub(crate) async fn workload_client(
    s: &TestServer,
    owner: &Owner,
    project: &str,
    trust: &[(&str, &str)],
    conditions: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = client_form(project, "Sync job", &["applications:read"]);
    for (k, v) in trust {
        form.push((format!("workload[{k}]"), (*v).to_owned()));
    }
    for (i, (claim, value)) in conditions.iter().enumerate() {
        form.push((format!("workload[claims][{i}]"), (*claim).to_owned()));
        form.push((format!("workload[values][{i}]"), (*value).to_owned()));
    }
    s.call(&owner.browser, "client_create", &form).await
}

#[tokio::test]
async fn a_github_actions_workload_signs_in_with_its_platform_token_and_one_condition_off_is_refused(
) {
    let platform = Platform::start(TestKey::rs256(Some("gh-1"))).await;
    let conditions = [
        ("repository", "acme/*"),
        ("ref", "refs/heads/main"),
        ("environment", "production"),
    ];

    // By default a loopback (or any private) issuer is refused, unfetched.
    let strict = TestServer::start().await;
    let owner = strict.owner("strict-wi@example.com").await;
    let project = strict.create_project(&owner, "Sync", "partner").await;
    let trust = [
        ("preset", "github_actions"),
        ("issuer", platform.issuer.as_str()),
        ("audience", strict.base.as_str()),
    ];
    let (status, body) = workload_client(&strict, &owner, &project, &trust, &conditions).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("workload_issuer"), "{body}");
    assert_eq!(platform.hits(), 0, "not even fetched");

    let s = TestServer::start_with(|c| c.key_fetch_private_targets = true).await;
    let owner = s.owner("workload@example.com").await;
    let project = s.create_project(&owner, "Sync", "partner").await;
    let trust = [
        ("preset", "github_actions"),
        ("issuer", platform.issuer.as_str()),
        ("audience", s.base.as_str()),
    ];
    // A trust that names no workload is refused.
    let (status, body) = workload_client(&s, &owner, &project, &trust, &[("sub", "*")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("at least one condition"),
        "{body}"
    );

    let (status, made) = workload_client(&s, &owner, &project, &trust, &conditions).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(
        made["client_secret"],
        Value::Null,
        "no secret is ever shown"
    );
    assert_eq!(made["client"]["keys"], Value::Null);
    let trust_text = made["client"]["workload"].as_str().unwrap();
    assert!(
        trust_text.contains("GitHub Actions") && trust_text.contains("repository=acme/*"),
        "{trust_text}"
    );
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let token_url = s.url("/oauth/token");
    let now = s.clock_now();
    let good = platform.key.sign(&platform.github_claims(&s.base, now));

    let (status, body) = with_assertion(&token_url, Some(&id), &good, &[GRANT, SCOPE]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "applications:read");
    // The platform hands the workload the same token for its life.
    let (status, _) = with_assertion(&token_url, Some(&id), &good, &[GRANT, SCOPE]).await;
    assert_eq!(
        status, 200,
        "a platform token may be used again while it lives"
    );
    // Never more than the client's scopes.
    let (status, body) = with_assertion(
        &token_url,
        Some(&id),
        &good,
        &[GRANT, ("scope", "applications:decide")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // Each refusal is the same 401 invalid_client as a wrong secret.
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = platform.github_claims(&s.base, now);
        f(&mut c);
        c
    };
    let other_key = TestKey::rs256(Some("gh-1"));
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &platform.github_claims(&s.base, now),
        &EncodingKey::from_secret(b"a shared secret"),
    )
    .unwrap();
    let cases: Vec<(&str, String)> = vec![
        (
            "another branch",
            platform
                .key
                .sign(&with(&|c| c["ref"] = json!("refs/heads/dev"))),
        ),
        (
            "another owner's repository",
            platform
                .key
                .sign(&with(&|c| c["repository"] = json!("evil/payments-sync"))),
        ),
        (
            "no environment claim",
            platform.key.sign(&with(&|c| {
                c.as_object_mut().unwrap().remove("environment");
            })),
        ),
        (
            "another audience",
            platform
                .key
                .sign(&with(&|c| c["aud"] = json!("https://elsewhere.example"))),
        ),
        (
            "another issuer",
            platform.key.sign(&with(&|c| {
                c["iss"] = json!("https://token.actions.githubusercontent.com")
            })),
        ),
        (
            "expired",
            platform.key.sign(&with(&|c| {
                c["iat"] = json!(now - 900);
                c["exp"] = json!(now - 600);
            })),
        ),
        (
            "issued in the future",
            platform.key.sign(&with(&|c| c["iat"] = json!(now + 600))),
        ),
        (
            "a week long",
            platform
                .key
                .sign(&with(&|c| c["exp"] = json!(now + 7 * 86_400))),
        ),
        (
            "signed by another key with the same kid",
            other_key.sign(&platform.github_claims(&s.base, now)),
        ),
        ("HMAC", hmac),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none"}"#),
                b64(&platform.github_claims(&s.base, now).to_string())
            ),
        ),
    ];
    for (why, token) in &cases {
        let (status, body) = with_assertion(&token_url, Some(&id), token, &[GRANT, SCOPE]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{why}: {body}"
        );
    }
    // The platform token names the workload, not the client: without
    // client_id nobody knows which client it is for.
    let (status, _) = with_assertion(&token_url, None, &good, &[GRANT, SCOPE]).await;
    assert_eq!(status, 401);
    // A secret never works for it.
    let res = Client::new()
        .post(&token_url)
        .basic_auth(&id, Some(""))
        .form(&[GRANT, SCOPE])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The card names the workload that signed in last, and the audit log
    // has one row for it (not one per token).
    let (_, page) = s
        .call(
            &owner.browser,
            "project",
            &[("id".to_owned(), project.clone())],
        )
        .await;
    let card = page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap()
        .clone();
    let last = card["last_workload"].as_str().unwrap();
    assert!(
        last.contains("sub repo:acme/payments-sync:ref:refs/heads/main")
            && last.contains("repository=acme/payments-sync")
            && last.contains(&platform.issuer),
        "{last}"
    );
    s.issuer.registry().flush_usage(&s.db).await.unwrap();
    let (status, log) = s
        .call(
            &owner.browser,
            "audit",
            &[("action".to_owned(), "client.workload_sign_in".to_owned())],
        )
        .await;
    assert_eq!(status, 200, "{log}");
    let rows = log["entries"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{log}");
    assert!(
        rows[0]["detail"]
            .as_str()
            .unwrap()
            .contains("environment=production"),
        "{log}"
    );
    let fetched = platform.hits();
    assert!(fetched <= 4, "discovery and keys cached: {fetched} fetches");

    // A trust that stops admitting the workload takes effect at once.
    let form = vec![
        ("client_id".to_owned(), id.clone()),
        ("workload[preset]".into(), "github_actions".into()),
        ("workload[issuer]".into(), platform.issuer.clone()),
        ("workload[audience]".into(), s.base.clone()),
        ("workload[claims][0]".into(), "repository".into()),
        ("workload[values][0]".into(), "acme/other-repo".into()),
    ];
    let (status, body) = s.call(&owner.browser, "client_set_workload", &form).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = with_assertion(&token_url, Some(&id), &good, &[GRANT, SCOPE]).await;
    assert_eq!(status, 401, "the new conditions apply");
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
