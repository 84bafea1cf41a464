//! Requests another site starts are refused before they change anything.

use reqwest::Client;

use crate::harness::*;

#[tokio::test]
async fn cross_site_sign_up_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let evil = s.client_with_origin("https://evil.example");
    let res = s.sign_up(&evil, "Evil", "ada@example.com").await;
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "cross_site");
    assert_eq!(s.count("accounts").await, 0);
    assert_eq!(s.count("users").await, 0);
}

#[tokio::test]
async fn fetch_metadata_and_missing_origin_are_checked() {
    let s = TestServer::start().await;
    let form = [
        ("account_name", "X"),
        ("email", "ada@example.com"),
        ("password", PASSWORD),
    ];
    // A browser says where the request came from even if Origin looks fine.
    let res = s
        .browser()
        .post(s.url("/api/signup"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Neither header: not a page of ours.
    let bare = Client::builder().build().unwrap();
    let res = bare
        .post(s.url("/api/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(s.count("users").await, 0);

    let res = s
        .browser()
        .post(s.url("/api/signup"))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_redirected(&res, "/login?signed_up=1");
}

#[tokio::test]
async fn cross_site_log_out_leaves_the_session_alone() {
    let s = TestServer::start().await;
    let b = s.browser();
    let cookie =
        session_cookie(&s.sign_up_and_log_in(&b, "Acme", "ada@example.com").await).unwrap();
    let forged = Client::builder().build().unwrap();
    let res = forged
        .post(s.url("/api/logout"))
        .header("origin", "https://evil.example")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(s.me(&b).await.0, 200);
}
