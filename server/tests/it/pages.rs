//! Full page loads: who gets which page, and where the others are sent.

use crate::harness::*;

#[tokio::test]
async fn signed_out_visitors_are_sent_to_log_in_and_back() {
    let s = TestServer::start().await;
    let b = s.browser();
    for (path, next) in [
        ("/projects", "/login?next=/projects"),
        (
            "/settings?tab=a&b=c",
            "/login?next=/settings%3Ftab%3Da%26b%3Dc",
        ),
        ("/audit", "/login?next=/audit"),
        ("/", "/login"),
    ] {
        let res = b.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], next, "{path}");
    }
    for path in ["/login", "/signup", "/healthz"] {
        assert_eq!(
            b.get(s.url(path)).send().await.unwrap().status(),
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn signed_in_users_get_the_console() {
    let s = TestServer::start().await;
    let b = s.browser();
    s.sign_up_and_log_in(&b, "Acme Lending", "ada@example.com")
        .await;
    for path in ["/login", "/signup", "/"] {
        let res = b.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/projects", "{path}");
    }
    let res = b.get(s.url("/settings")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Acme Lending"),
        "account name rendered on the server"
    );
    assert!(html.contains("ada@example.com"));
    assert!(
        html.contains("<title>Settings · Portcullis</title>"),
        "{html}"
    );

    let res = b.get(s.url("/no-such-page")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn log_in_page_renders_an_accessible_form() {
    let s = TestServer::start().await;
    let html = s
        .browser()
        .get(s.url("/login?next=/team"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<label for="email">"#));
    assert!(html.contains(r#"<label for="password">"#));
    assert!(html.contains(r#"autocomplete="current-password""#));
    assert!(
        html.contains(r#"action="/api/login""#),
        "works before hydration too"
    );
}
