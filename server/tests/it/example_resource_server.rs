//! `examples/resource-server`, the service a partner's engineer copies,
//! against a running Portcullis: scopes per route, revocation through the
//! feed, and nothing reaches a handler without a good token.

use std::time::{Duration, Instant};

use partner_client_example::TokenSource;
use resource_server_example::{serve, Args};

use crate::gate_process::credential;
use crate::harness::TestServer;

/// The example resource server following `s` with a gate credential of
/// its own; its base URL.
async fn start_example(s: &TestServer) -> String {
    let (id, secret) = credential(s, "partner").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let args = Args {
        issuer: s.base.clone(),
        listen: listener.local_addr().unwrap(),
        gate_client_id: id,
        gate_client_secret: secret,
        public_url: None,
    };
    tokio::spawn(serve(args, listener, std::future::pending()));
    base
}

#[tokio::test]
async fn the_example_resource_server_enforces_scopes_and_revocation() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("example@example.com", &["applications:read"])
        .await;
    s.set_rate_limit(&owner, &project, 10_000, 10_000).await;
    let base = start_example(&s).await;

    let http = reqwest::Client::new();
    let token = s.access_token(&creds, "applications:read").await;
    let get = || {
        http.get(format!("{base}/orders"))
            .bearer_auth(&token)
            .send()
    };
    let start = Instant::now();
    let res = loop {
        let res = get().await.unwrap();
        if res.status() != 503 {
            break res;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the gate never became ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["project_id"], project.as_str());

    let res = http
        .post(format!("{base}/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no applications:write");
    assert_eq!(
        http.get(format!("{base}/orders"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let res = s
        .oauth_post("/oauth/revoke", &creds, &[("token", token.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let start = Instant::now();
    while get().await.unwrap().status() != 401 {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "revocation did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The route that moves money takes only DPoP-bound tokens: the partner
/// example in DPoP mode gets through, a Bearer token of the same client
/// and scope does not (RFC 9449 §7.1), and neither does the bound token
/// sent as Bearer. The gate here is the library, fed from another process's
/// point of view (the remote feed).
#[tokio::test]
async fn the_example_partner_in_dpop_mode_calls_the_dpop_only_route() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("example-dpop@example.com", &["applications:write"])
        .await;
    s.set_rate_limit(&owner, &project, 10_000, 10_000).await;
    let base = start_example(&s).await;
    let url = format!("{base}/payouts");
    let http = reqwest::Client::new();

    let tokens = TokenSource::new(&s.url("/oauth/token"), &creds.id, &creds.secret)
        .with_dpop()
        .unwrap();
    let bound = tokens.token(&["applications:write"]).await.unwrap();
    let start = Instant::now();
    let res = loop {
        let res = tokens
            .authorize(http.post(&url), "POST", &url, &bound)
            .unwrap()
            .send()
            .await
            .unwrap();
        if res.status() != 503 {
            break res;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["paid_by"], creds.id.as_str());

    // An unbound token of the same client and scope.
    let plain = s.access_token(&creds, "applications:write").await;
    let res = http.post(&url).bearer_auth(&plain).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    // It still works where DPoP is not required.
    let res = http
        .post(format!("{base}/orders"))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The bound token without its proof.
    let res = http.post(&url).bearer_auth(&bound).send().await.unwrap();
    assert_eq!(res.status(), 401);
}
