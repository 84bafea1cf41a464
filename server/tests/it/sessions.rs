//! Session lifetime: idle and absolute timeouts, server-side log-out, and a
//! membership that disappears.

use crate::harness::*;

async fn signed_in(s: &TestServer) -> reqwest::Client {
    let b = s.browser();
    assert_redirected(
        &s.sign_up_and_log_in(&b, "Acme", "ada@example.com").await,
        "/projects",
    );
    b
}

#[tokio::test]
async fn idle_timeout_ends_the_session() {
    let s = TestServer::start().await;
    let b = signed_in(&s).await;
    s.clock.advance(29 * 60);
    assert_eq!(s.me(&b).await.0, 200, "29 minutes idle is fine");
    s.clock.advance(29 * 60);
    assert_eq!(s.me(&b).await.0, 200, "activity reset the idle timer");
    s.clock.advance(30 * 60);
    let (status, body) = s.me(&b).await;
    assert_eq!(status, 401);
    assert_eq!(body["kind"], "unauthenticated");
    assert_eq!(
        s.count(crate::harness::sessions_table()).await,
        0,
        "deleted server-side"
    );
}

#[tokio::test]
async fn idle_timeout_is_configurable() {
    let s = TestServer::start_with(|c| c.session_idle_minutes = 5).await;
    let b = signed_in(&s).await;
    s.clock.advance(5 * 60);
    assert_eq!(s.me(&b).await.0, 401);
}

#[tokio::test]
async fn absolute_timeout_ends_even_a_busy_session() {
    let s = TestServer::start().await;
    let b = signed_in(&s).await;
    for _ in 0..35 {
        s.clock.advance(20 * 60);
        assert_eq!(s.me(&b).await.0, 200);
    }
    // 11 h 40 min so far; the 12th hour ends it.
    s.clock.advance(20 * 60);
    assert_eq!(s.me(&b).await.0, 401);
}

#[tokio::test]
async fn log_out_deletes_the_session_server_side() {
    let s = TestServer::start().await;
    let b = s.browser();
    let cookie =
        session_cookie(&s.sign_up_and_log_in(&b, "Acme", "ada@example.com").await).unwrap();
    assert_eq!(s.count(crate::harness::sessions_table()).await, 1);
    s.post(&b, "logout", &[] as &[(&str, &str)]).await;
    assert_eq!(s.count(crate::harness::sessions_table()).await, 0);
    // Replaying the old cookie gets nothing.
    assert_eq!(s.me(&replay(&s, &cookie)).await.0, 401);
}

#[tokio::test]
async fn a_removed_membership_ends_the_session_at_once() {
    let s = TestServer::start().await;
    let b = signed_in(&s).await;
    sqlx::query("delete from memberships")
        .execute(&s.db)
        .await
        .unwrap();
    assert_eq!(s.me(&b).await.0, 401);
}

#[tokio::test]
async fn https_public_url_makes_the_cookie_secure_and_host_only() {
    let s = TestServer::start_with(|c| {
        c.public_url = Some("https://auth.example.test".parse().unwrap())
    })
    .await;
    let b = s.client_with_origin("https://auth.example.test");
    let res = s.sign_up_and_log_in(&b, "Acme", "ada@example.com").await;
    assert_redirected(&res, "/projects");
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-portcullis_session="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
}
