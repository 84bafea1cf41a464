//! Client authentication at the token endpoint (RFC 6749 §2.3.1): one
//! answer for an unknown client and a wrong secret, form-urldecoded Basic
//! credentials, and the per-address guard against guessing.

use std::time::Instant;

use base64::Engine;
use reqwest::Client;

use crate::harness::{Creds, TestServer};
use crate::oauth_token::{assert_no_store, json_of};

#[tokio::test]
async fn unknown_client_and_wrong_secret_get_the_same_answer() {
    // Behind a trusted proxy, so each attempt can come from its own address
    // and the per-address guard stays out of the timing loop.
    let s =
        TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let wrong_secret = Creds {
        id: creds.id.clone(),
        secret: format!("{}x", creds.secret),
    };
    let unknown = Creds {
        id: "pcl_00000000000000000000000000000000".into(),
        secret: creds.secret.clone(),
    };
    let scope = [("scope", "applications:read")];
    let (s1, h1, b1) = json_of(s.token_basic(&wrong_secret, &scope).await).await;
    let (s2, h2, b2) = json_of(s.token_basic(&unknown, &scope).await).await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(b1, b2);
    assert_eq!(b1["error"], "invalid_client");
    assert_eq!(h1["www-authenticate"], h2["www-authenticate"]);
    assert!(h1["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    assert_no_store(&h1);

    // With client_secret_post there is no challenge, still 401.
    let res = s
        .oauth_post(
            "/oauth/token",
            &unknown,
            &[("grant_type", "client_credentials")],
        )
        .await;
    let (status, h, body) = json_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(h.get("www-authenticate").is_none());

    // No credentials at all: a challenge.
    let res = Client::new()
        .post(s.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));

    // Similar time: interleaved samples, medians within a wide factor
    // (both paths compute one HMAC; the factor only catches a shortcut).
    let client = Client::new();
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..120 {
        let c = if i % 2 == 0 { &wrong_secret } else { &unknown };
        let started = Instant::now();
        let res = client
            .post(s.url("/oauth/token"))
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        times[i % 2].push(started.elapsed());
    }
    for t in &mut times {
        t.sort();
    }
    let (a, b) = (times[0][60 / 2], times[1][60 / 2]);
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    assert!(
        hi <= lo * 3 + std::time::Duration::from_millis(2),
        "{a:?} vs {b:?}"
    );
}

#[tokio::test]
async fn basic_credentials_are_form_urldecoded() {
    let s = TestServer::start().await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let encode_all = |v: &str| v.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let header = |id: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let send = |auth: String| {
        let url = s.url("/oauth/token");
        async move {
            Client::new()
                .post(url)
                .header("authorization", auth)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "applications:read"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Every byte percent-encoded: decodes to the real id and secret.
    let res = send(header(&encode_all(&creds.id), &encode_all(&creds.secret))).await;
    assert_eq!(res.status(), 200);
    // Extra characters that decode to + % : = make it a different secret.
    for extra in ["%2B", "%25", "%3A", "%3D", "+", ":x"] {
        let res = send(header(&creds.id, &format!("{}{extra}", creds.secret))).await;
        assert_eq!(res.status(), 401, "{extra}");
    }
    // A raw '+' decodes to a space: the secret with a space is not the secret.
    let with_plus = format!("{}+", &creds.secret[..creds.secret.len() - 1]);
    assert_eq!(send(header(&creds.id, &with_plus)).await.status(), 401);
    // Garbage in the header is a malformed request, not a server error.
    let res = send("Basic %%%".into()).await;
    let (status, _, body) = json_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn failed_client_authentications_are_limited_per_address() {
    let s =
        TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let mut wrong = creds.clone();
    wrong.secret.push('x');
    let from = |ip: &'static str, c: &Creds| {
        let req = Client::new()
            .post(s.url("/oauth/token"))
            .header("x-forwarded-for", ip)
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "applications:read"),
            ]);
        async move { req.send().await.unwrap() }
    };
    for _ in 0..19 {
        assert_eq!(from("203.0.113.9", &wrong).await.status(), 401);
    }
    // The 20th failure locks the address: even the right secret waits.
    assert_eq!(from("203.0.113.9", &wrong).await.status(), 401);
    let res = from("203.0.113.9", &creds).await;
    let (status, h, body) = json_of(res).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(h["retry-after"], "1");
    // The client itself is not locked out from elsewhere.
    assert_eq!(from("198.51.100.7", &creds).await.status(), 200);
    s.clock.advance(2);
    assert_eq!(from("203.0.113.9", &creds).await.status(), 200);
}

/// A proxy that adds its own `X-Forwarded-For` line (rather than appending
/// to the client's) leaves the client's chosen address in the first line:
/// every line is read, from the right, so the guard keys on what the proxy saw.
#[tokio::test]
async fn a_client_cannot_choose_its_address_in_a_forwarded_for_line_of_its_own() {
    let s =
        TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let (_, _, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let mut wrong = creds.clone();
    wrong.secret.push('x');
    let send = |chosen: String, c: &Creds| {
        let req = Client::new()
            .post(s.url("/oauth/token"))
            .header("x-forwarded-for", chosen)
            .header("x-forwarded-for", "203.0.113.9")
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "applications:read"),
            ]);
        async move { req.send().await.unwrap() }
    };
    for i in 0..20 {
        let res = send(format!("198.51.100.{i}"), &wrong).await;
        assert_eq!(res.status(), 401);
    }
    // Twenty first lines, one address: it is locked.
    let res = send("198.51.100.99".into(), &creds).await;
    assert_eq!(res.status(), 429);
}
