//! Log-in: same answer for a wrong email and a wrong password, throttling,
//! the `next` redirect, and a fresh session id every time.

use std::time::{Duration, Instant};

use crate::harness::*;

async fn owner(s: &TestServer, email: &str) {
    let res = s.sign_up(&s.browser(), "Acme", email).await;
    assert_redirected(&res, "/login?signed_up=1");
}

#[tokio::test]
async fn log_in_and_log_out() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;
    let b = s.browser();
    assert_eq!(s.me(&b).await.0, 401);

    let res = s.log_in(&b, " ADA@example.com", PASSWORD).await;
    assert_redirected(&res, "/projects");
    assert_eq!(s.me(&b).await.1["email"], "ada@example.com");

    let res = s.post(&b, "logout", &[] as &[(&str, &str)]).await;
    assert_redirected(&res, "/login");
    assert_eq!(s.me(&b).await.0, 401);
}

#[tokio::test]
async fn wrong_email_and_wrong_password_look_the_same() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;

    let mut wrong_password = Vec::new();
    let mut unknown_email = Vec::new();
    // Four rounds: a fifth failure would lock the email (the throttle).
    for _ in 0..4 {
        let t = Instant::now();
        let a = s
            .log_in(&s.browser(), "ada@example.com", "not the password!")
            .await;
        wrong_password.push(t.elapsed());
        let t = Instant::now();
        let b = s
            .log_in(&s.browser(), "nobody@example.com", "not the password!")
            .await;
        unknown_email.push(t.elapsed());

        assert_eq!(a.status(), 401);
        assert_eq!(b.status(), 401);
        assert!(a.headers().get("set-cookie").is_none());
        let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
        assert_eq!(a, b);
        let body: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(body["kind"], "invalid_credentials");
        assert_eq!(body["message"], "Incorrect email or password.");
    }
    // Both paths run one argon2id verification. Loose bounds: a missing
    // verification would be about a hundred times faster, not two. The
    // fastest of each is compared: other tests hash passwords in parallel
    // on this machine's two cores, and that noise only ever adds time.
    let fastest = |v: &mut Vec<Duration>| v.iter().min().copied().unwrap_or_default();
    let (wp, ue) = (fastest(&mut wrong_password), fastest(&mut unknown_email));
    assert!(
        ue * 3 > wp && wp * 3 > ue,
        "wrong password {wp:?}, unknown email {ue:?}"
    );
}

#[tokio::test]
async fn five_failures_lock_the_email_with_growing_waits() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;
    for _ in 0..5 {
        let res = s
            .log_in(&s.browser(), "ada@example.com", "wrong password!!")
            .await;
        assert_eq!(res.status(), 401);
    }
    // Locked now: even the right password is refused, and says when to retry.
    let res = s.log_in(&s.browser(), "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "throttled");
    assert_eq!(body["retry_after_secs"], 1);
    assert_eq!(
        body["message"],
        "Too many attempts. Try again in 1 seconds."
    );

    s.clock.advance(1);
    assert_eq!(
        s.log_in(&s.browser(), "ada@example.com", "wrong again!!!")
            .await
            .status(),
        401
    );
    let res = s.log_in(&s.browser(), "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "2");

    s.clock.advance(2);
    let b = s.browser();
    assert_redirected(
        &s.log_in(&b, "ada@example.com", PASSWORD).await,
        "/projects",
    );
    assert_eq!(s.me(&b).await.0, 200);
}

#[tokio::test]
async fn one_address_trying_many_emails_is_throttled() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;
    for i in 0..20 {
        let email = format!("guess{i}@example.com");
        assert_eq!(
            s.log_in(&s.browser(), &email, "wrong password!!")
                .await
                .status(),
            401
        );
    }
    let res = s.log_in(&s.browser(), "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
}

/// A log-in attempt that claims to be forwarded for `client`.
async fn log_in_via(
    s: &TestServer,
    client: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    s.browser()
        .post(s.url("/api/login"))
        .header("x-forwarded-for", client)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_proxy_is_trusted() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;
    // Rotating X-Forwarded-For from an untrusted peer does not dodge the
    // per-address limit.
    for i in 0..20 {
        let res = log_in_via(
            &s,
            &format!("198.51.100.{i}"),
            &format!("guess{i}@example.com"),
            "wrong password!!",
        )
        .await;
        assert_eq!(res.status(), 401);
    }
    assert_eq!(
        s.log_in(&s.browser(), "ada@example.com", PASSWORD)
            .await
            .status(),
        429
    );

    // Behind a trusted proxy, each forwarded client has its own budget.
    let s =
        TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    owner(&s, "ada@example.com").await;
    for i in 0..20 {
        let res = log_in_via(
            &s,
            "198.51.100.7",
            &format!("guess{i}@example.com"),
            "wrong password!!",
        )
        .await;
        assert_eq!(res.status(), 401);
    }
    let blocked = log_in_via(&s, "198.51.100.7", "ada@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), 429);
    let other = log_in_via(&s, "203.0.113.5", "ada@example.com", PASSWORD).await;
    assert_redirected(&other, "/projects");
}

#[tokio::test]
async fn next_is_followed_only_to_local_pages() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;
    for (next, expected) in [
        ("/settings", "/settings"),
        ("/team?tab=invites", "/team?tab=invites"),
        ("https://evil.example/", "/projects"),
        ("//evil.example/", "/projects"),
        ("/\\evil.example", "/projects"),
    ] {
        let res = s
            .post(
                &s.browser(),
                "login",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(res.headers()["location"], expected, "next={next}");
    }
}

#[tokio::test]
async fn log_in_issues_a_new_session_id() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;
    let b = s.browser();
    let first = session_cookie(&s.log_in(&b, "ada@example.com", PASSWORD).await).unwrap();
    let second = session_cookie(&s.log_in(&b, "ada@example.com", PASSWORD).await).unwrap();
    assert_ne!(first, second);
    // The id from before the second log-in is dead.
    assert_eq!(s.me(&replay(&s, &first)).await.0, 401);
    assert_eq!(s.me(&replay(&s, &second)).await.0, 200);
}

#[tokio::test]
async fn plain_html_form_posts_work_without_javascript() {
    let s = TestServer::start().await;
    owner(&s, "ada@example.com").await;
    let b = s.browser();
    let post = |password: &'static str| {
        b.post(s.url("/api/login"))
            .header("accept", "text/html")
            .header("referer", s.url("/login?next=/team"))
            .form(&[
                ("email", "ada@example.com"),
                ("password", password),
                ("next", "/team"),
            ])
            .send()
    };
    // Failure: back to the form, which shows the error.
    let res = post("wrong password!!").await.unwrap();
    assert_eq!(res.status(), 302);
    let back = res.headers()["location"].to_str().unwrap();
    assert!(back.starts_with(&s.url("/login?next=/team")), "{back}");
    assert_eq!(s.me(&b).await.0, 401);
    // Success: a real redirect to where the visitor was going.
    let res = post(PASSWORD).await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/team");
    assert_eq!(s.me(&b).await.0, 200);
}

#[tokio::test]
async fn guesses_sent_together_get_no_more_tries_than_one_after_another() {
    let s = TestServer::start().await;
    let _ = s.owner("target@example.com").await;
    // Twenty wrong passwords at once: each is counted before argon2 runs,
    // so only the five free tries are checked; the rest wait.
    let tries: Vec<_> = (0..20)
        .map(|i| {
            let browser = s.browser();
            let s = &s;
            async move {
                s.log_in(
                    &browser,
                    "target@example.com",
                    &format!("wrong password {i}"),
                )
                .await
                .status()
                .as_u16()
            }
        })
        .collect();
    let statuses = futures_util::future::join_all(tries).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "{checked} passwords checked: {statuses:?}");
    assert_eq!(checked + throttled, 20, "{statuses:?}");
}
