//! `examples/partner-client` against a real server: one token per scope set
//! however many callers ask at once, reused until 80–90 % of its life, and
//! a 429 waited out rather than failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use partner_client_example::TokenSource;

use crate::harness::*;

/// A client clock the test moves, starting now.
fn movable_clock() -> (Arc<AtomicU64>, partner_client_example::Clock) {
    let offset = Arc::new(AtomicU64::new(0));
    let o = offset.clone();
    let clock: partner_client_example::Clock =
        Arc::new(move || SystemTime::now() + Duration::from_secs(o.load(Ordering::Relaxed)));
    (offset, clock)
}

async fn minted_by_server(s: &TestServer, owner: &Owner, project: &str, client: &str) -> u64 {
    let (_, detail) = s.call(&owner.browser, "project", &[("id", project)]).await;
    detail["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == client)
        .unwrap()["minted_last_hour"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn one_mint_serves_every_concurrent_caller_until_near_expiry() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read", "decisions:read"])
        .await;
    s.set_rate_limit(&owner, &project, 1000, 1000).await;
    let (offset, clock) = movable_clock();
    let tokens = Arc::new(
        TokenSource::new(&s.url("/oauth/token"), &creds.id, &creds.secret).with_clock(clock),
    );

    let callers: Vec<_> = (0..20)
        .map(|i| {
            let t = tokens.clone();
            tokio::spawn(async move {
                // The same set, asked for in either order.
                let scopes: &[&str] = if i % 2 == 0 {
                    &["applications:read", "decisions:read"]
                } else {
                    &["decisions:read", "applications:read"]
                };
                t.token(scopes).await.unwrap()
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for c in callers {
        seen.insert(c.await.unwrap());
    }
    assert_eq!(seen.len(), 1, "one token for all twenty callers");
    assert_eq!(tokens.minted(), 1);
    assert_eq!(minted_by_server(&s, &owner, &project, &creds.id).await, 1);

    // The token works at the API.
    let token = seen.into_iter().next().unwrap();
    let res = reqwest::Client::new()
        .get(s.url("/partner/v1/applications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Reused until 80 % of its hour; minted again by 90 %.
    offset.store(2_870, Ordering::Relaxed);
    tokens
        .token(&["applications:read", "decisions:read"])
        .await
        .unwrap();
    assert_eq!(tokens.minted(), 1, "79.7 % into its life: reused");
    offset.store(3_241, Ordering::Relaxed);
    tokens
        .token(&["applications:read", "decisions:read"])
        .await
        .unwrap();
    assert_eq!(tokens.minted(), 2, "90 % into its life: a new one");

    // Another scope set is another token.
    tokens.token(&["applications:read"]).await.unwrap();
    assert_eq!(tokens.minted(), 3);
    assert_eq!(minted_by_server(&s, &owner, &project, &creds.id).await, 3);
}

#[tokio::test]
async fn a_429_is_waited_out_and_a_refusal_is_not_retried() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read", "decisions:read"])
        .await;
    s.set_rate_limit(&owner, &project, 1, 1).await;
    let tokens = Arc::new(TokenSource::new(
        &s.url("/oauth/token"),
        &creds.id,
        &creds.secret,
    ));
    tokens.token(&["applications:read"]).await.unwrap();
    // The bucket is empty now: the next mint gets 429 until the server's
    // clock (a test clock) moves on.
    let t = tokens.clone();
    let second = tokio::spawn(async move { t.token(&["decisions:read"]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.clock.advance(2);
    second.await.unwrap().unwrap();
    assert_eq!(tokens.minted(), 2);
    assert!(tokens.attempts() >= 3, "the 429 was retried, not failed");

    // A scope the client does not have: refused at once, no retries.
    let before = tokens.attempts();
    s.clock.advance(2);
    let err = tokens.token(&["payments:provision"]).await.unwrap_err();
    assert!(
        matches!(
            err,
            partner_client_example::Error::Refused { status: 400, .. }
        ),
        "{err}"
    );
    assert_eq!(tokens.attempts(), before + 1);
}

#[tokio::test]
async fn the_console_flags_a_client_that_mints_a_token_per_call() {
    let s = TestServer::start().await;
    let (owner, project, naive) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    s.set_rate_limit(&owner, &project, 1000, 1000).await;
    let careful = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let tokens = TokenSource::new(&s.url("/oauth/token"), &careful.id, &careful.secret);
    for _ in 0..25 {
        s.access_token(&naive, "applications:read").await;
        tokens.token(&["applications:read"]).await.unwrap();
    }
    let (_, detail) = s
        .call(&owner.browser, "project", &[("id", project.as_str())])
        .await;
    let clients = detail["clients"].as_array().unwrap();
    let warning =
        |id: &str| clients.iter().find(|c| c["id"] == id).unwrap()["reuse_warning"].clone();
    let w = warning(&naive.id);
    assert!(
        w.as_str()
            .unwrap()
            .starts_with("Minted 25 tokens in the last hour with a 1-hour lifetime"),
        "{w}"
    );
    assert!(w.as_str().unwrap().contains("examples/partner-client"));
    assert_eq!(
        warning(&careful.id),
        serde_json::Value::Null,
        "one token, reused"
    );
}

/// Key mode: the example signs a fresh assertion per mint (so a second
/// mint is not a replay), with the private key of a key client.
#[tokio::test]
async fn key_mode_mints_with_a_fresh_assertion_each_time() {
    let s = TestServer::start().await;
    let owner = s.owner("example-keys@example.com").await;
    let project = s.create_project(&owner, "Signed", "partner").await;
    let key = crate::private_key_jwt::TestKey::ed25519(Some("ex-1"));
    let made = crate::private_key_jwt::key_client(
        &s,
        &owner,
        &project,
        &["applications:read"],
        &key.jwk.to_string(),
    )
    .await;
    let id = made["client"]["id"].as_str().unwrap();
    let (offset, clock) = movable_clock();
    let tokens = TokenSource::with_private_key(
        &s.url("/oauth/token"),
        id,
        key.private_pkcs8_pem.as_bytes(),
        jsonwebtoken::Algorithm::EdDSA,
        Some("ex-1"),
    )
    .unwrap()
    .with_clock(clock);
    let first = tokens.token(&["applications:read"]).await.unwrap();
    assert!(s.issuer.check(&first).is_ok());
    // Past the refresh point a second token is minted: a new assertion.
    offset.store(3_300, Ordering::Relaxed);
    s.clock.advance(3_300);
    let second = tokens.token(&["applications:read"]).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(tokens.minted(), 2);
}
