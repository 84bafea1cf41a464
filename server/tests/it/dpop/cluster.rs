//! DPoP across a cluster: server nonces any node gave out, a gate's own
//! nonces, and a proof used once across the gates of every node.

use super::*;

/// RFC 9449 §8 with `PORTCULLIS_DPOP_NONCE`: a proof without the server's
/// nonce is answered `use_dpop_nonce` with one; the retry carrying it gets
/// the bound token and the next nonce; a made-up or stale nonce is refused
/// the same way. The example partner client does the retry by itself.
#[tokio::test]
async fn with_server_nonces_a_proof_carries_a_nonce_the_cluster_gave_out() {
    let s = TestServer::start_with(|c| c.dpop_nonce = true).await;
    let (_, _, creds) = s
        .partner_client("nonce@example.com", &["applications:read"])
        .await;
    let key = TestKey::es256(None);
    let url = s.url("/oauth/token");
    let ask = |dpop: String| {
        let (url, creds) = (url.clone(), creds.clone());
        async move {
            let res = Client::new()
                .post(&url)
                .basic_auth(&creds.id, Some(&creds.secret))
                .header("DPoP", dpop)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "applications:read"),
                ])
                .send()
                .await
                .unwrap();
            let nonce = res
                .headers()
                .get("dpop-nonce")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                res.status().as_u16(),
                nonce,
                res.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, nonce, body) = ask(proof(&key, "POST", &url, None, s.clock_now())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{body}"
    );
    let nonce = nonce.expect("a DPoP-Nonce header");
    let (status, next, body) = ask(proof_with_nonce(&key, &url, &nonce, s.clock_now())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert!(next.is_some(), "the nonce to use next");
    for made_up in ["AAAAAAAAAAA", "", &nonce[..nonce.len() - 1]] {
        let (status, _, body) = ask(proof_with_nonce(&key, &url, made_up, s.clock_now())).await;
        assert_eq!(body["error"], "use_dpop_nonce", "{made_up:?}: {status}");
    }
    // The partner example retries with the nonce by itself.
    let tokens = partner_client_example::TokenSource::new(&url, &creds.id, &creds.secret)
        .with_dpop()
        .unwrap();
    let token = tokens.token(&["applications:read"]).await.unwrap();
    let (_, claims) = decode_jwt(&token);
    assert!(claims["cnf"]["jkt"].is_string(), "bound: {claims}");
    assert_eq!(tokens.minted(), 1);
    assert_eq!(tokens.attempts(), 2, "one use_dpop_nonce, one retry");
    s.clock.advance(11 * 60);
    let (_, fresh, body) = ask(proof_with_nonce(&key, &url, &nonce, s.clock_now())).await;
    assert_eq!(body["error"], "use_dpop_nonce", "ten minutes on, stale");
    assert_ne!(fresh.as_deref(), Some(nonce.as_str()));
}

/// RFC 9449 §11.1 across gate replicas: nodes sharing Redis take a proof
/// once between them, so a proof copied off one node's traffic is refused
/// by the next node the load balancer picks.
#[tokio::test]
async fn with_redis_a_proof_is_good_once_across_the_gates_of_every_node() {
    let (Ok(_), true) = (
        std::env::var(crate::cluster::REDIS_ENV),
        crate::harness::on_postgres(),
    ) else {
        return; // The SQLite pass has no Redis; the PostgreSQL pass does.
    };
    let admin = std::env::var(crate::harness::POSTGRES_ENV).unwrap();
    let c = crate::cluster::Cluster::start(&admin, 2, true).await;
    let owner = c.owner(0, "replicas@example.com").await;
    let project = c.project(0, &owner, "Bound").await;
    let creds = c.client(0, &owner, &project, &["applications:read"]).await;
    let key = TestKey::es256(None);
    let now = || portcullis_core::Clock::now(&portcullis_core::SystemClock);
    let token_url = format!("{}/oauth/token", c.public_url);
    let res = ask_bound(
        &c.url(0, "/oauth/token"),
        &token_url,
        &creds,
        &key,
        None,
        now(),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    let token = body["access_token"]
        .as_str()
        .expect("a bound token")
        .to_owned();
    let read = format!("{}/partner/v1/applications", c.public_url);
    let get = |node: usize, dpop: String| {
        let (url, token) = (c.url(node, "/partner/v1/applications"), token.clone());
        async move {
            let (status, _, body) = call_at(&url, "DPoP", &token, Some(dpop)).await;
            (status, body)
        }
    };
    // Node 1 learns of the client from the change feed.
    crate::cluster::within(
        std::time::Duration::from_secs(5),
        "node 1 admits the token",
        || {
            let fresh = proof(&key, "GET", &read, Some(&token), now());
            let call = get(1, fresh);
            async move { call.await.0 == 200 }
        },
    )
    .await;
    let once = proof(&key, "GET", &read, Some(&token), now());
    let (status, body) = get(0, once.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(1, once.clone()).await;
    assert_eq!(status, 401, "replayed on node 1: {body}");
    assert_eq!(get(0, once).await.0, 401, "and on node 0");
    let fresh = proof(&key, "GET", &read, Some(&token), now());
    assert_eq!(get(1, fresh).await.0, 200, "a fresh proof passes");
}

/// RFC 9449 §9 with `PORTCULLIS_GATE_DPOP_NONCE`: the in-process gate wants a
/// nonce of its own in each proof (the token endpoint's is not one of
/// them); a proof without it is answered `401 use_dpop_nonce` with the
/// nonce in `DPoP-Nonce`, and the retry carrying it passes.
#[tokio::test]
async fn with_server_nonces_the_gate_asks_for_a_nonce_of_its_own() {
    let s = TestServer::start_with(|c| {
        c.dpop_nonce = true;
        c.gate_dpop_nonce = true;
    })
    .await;
    let (_, _, creds) = s
        .partner_client("gate-nonce@example.com", &["applications:read"])
        .await;
    let key = TestKey::es256(None);
    let token_url = s.url("/oauth/token");
    let mint = |nonce: Option<String>| {
        let (token_url, creds, key) = (&token_url, &creds, &key);
        let iat = s.clock_now();
        async move { ask_bound(token_url, token_url, creds, key, nonce.as_deref(), iat).await }
    };
    let first = mint(None).await;
    let endpoint_nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let body: Value = mint(Some(endpoint_nonce.clone()))
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"]
        .as_str()
        .expect("a bound token")
        .to_owned();

    let url = s.url("/partner/v1/applications");
    let send = |nonce: Option<&str>| {
        let dpop = proof_with(&key, "GET", &url, Some(&token), nonce, s.clock_now());
        Client::new()
            .get(&url)
            .header("authorization", format!("DPoP {token}"))
            .header("DPoP", dpop)
            .send()
    };
    let mut gate_nonce = None;
    for (what, nonce) in [
        ("no nonce", None),
        ("the token endpoint's nonce", Some(endpoint_nonce.as_str())),
        ("a made-up nonce", Some("AAAAAAAAAAAAAAAAAAAA")),
    ] {
        let res = send(nonce).await.unwrap();
        assert_eq!(res.status(), 401, "{what}");
        let challenge = res.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("DPoP ") && challenge.contains(r#"error="use_dpop_nonce""#),
            "{what}: {challenge}"
        );
        let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        assert_ne!(nonce, endpoint_nonce, "a nonce of the gate's own");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "use_dpop_nonce", "{what}");
        gate_nonce = Some(nonce);
    }
    let gate_nonce = gate_nonce.unwrap();
    let res = send(Some(&gate_nonce)).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}
