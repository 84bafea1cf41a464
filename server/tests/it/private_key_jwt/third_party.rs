//! Authlib's private_key_jwt, and keys the partner hosts at a JWKS URI.

use super::*;

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
