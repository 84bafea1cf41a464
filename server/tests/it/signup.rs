//! Sign-up: account, owner, password storage and input errors.

use crate::harness::*;

#[tokio::test]
async fn sign_up_creates_account_and_owner_who_then_logs_in() {
    let s = TestServer::start().await;
    let b = s.browser();
    let res = s.sign_up(&b, "Acme Lending", "  Ada@Example.COM ").await;
    assert_redirected(&res, "/login?signed_up=1");
    assert!(
        session_cookie(&res).is_none(),
        "sign-up alone signs nobody in"
    );
    let res = s.log_in(&b, "ada@example.com", PASSWORD).await;
    assert_redirected(&res, "/projects");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("portcullis_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");

    let (status, me) = s.me(&b).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["account_name"], "Acme Lending");
    assert_eq!(me["role"], "owner");

    let (hash,): (String,) = sqlx::query_as("select password_hash from users")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
    let (role,): (String,) = sqlx::query_as("select role from memberships")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert_eq!(role, "owner");
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let s = TestServer::start().await;
    let cases: [(&str, &str, &str, &str); 5] = [
        ("Acme", "not-an-email", PASSWORD, "email"),
        ("Acme", "ada@example.com", "too short", "password"),
        ("Acme", "ada@example.com", &"x".repeat(129), "password"),
        ("   ", "ada@example.com", PASSWORD, "account_name"),
        (&"n".repeat(81), "ada@example.com", PASSWORD, "account_name"),
    ];
    for (name, email, password, field) in cases {
        let res = s
            .post(
                &s.browser(),
                "signup",
                &[
                    ("account_name", name),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "{field}");
        assert!(res.headers().get("set-cookie").is_none());
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["kind"], "invalid");
        assert_eq!(body["field"], field);
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let res = s
        .post(&s.browser(), "signup", &[("email", "ada@example.com")])
        .await;
    assert_eq!(res.status(), 422, "missing fields");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["field"], "account_name");
    assert_eq!(s.count("accounts").await, 0);
    assert_eq!(s.count("users").await, 0);
}

#[tokio::test]
async fn an_oversized_form_is_refused_unread() {
    let s = TestServer::start().await;
    let huge = "x".repeat(100 * 1024);
    let res = s
        .post(
            &s.browser(),
            "signup",
            &[
                ("account_name", huge.as_str()),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 413);
    assert_eq!(s.count("users").await, 0);
}
