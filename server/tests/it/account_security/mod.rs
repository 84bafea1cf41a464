//! A stolen password: sign-up that reveals no emails, password change and
//! reset (ending other sessions), and the second factor.

use crate::harness::*;
use crate::staff::{staff_browser, staff_without_second_factor};

mod second_factor;

const NEW_PASSWORD: &str = "a different long passphrase";

async fn audit_actions(s: &TestServer) -> Vec<String> {
    sqlx::query_as::<_, (String,)>("select action from audit_events order by at, id")
        .fetch_all(&s.db)
        .await
        .unwrap()
        .into_iter()
        .map(|(a,)| a)
        .collect()
}

#[tokio::test]
async fn sign_up_with_a_taken_email_answers_as_a_new_one_and_tells_the_owner() {
    let s = TestServer::start().await;
    let first = s.sign_up(&s.browser(), "First", "ada@example.com").await;
    let again = s.sign_up(&s.browser(), "Second", " ADA@example.com").await;
    for res in [&first, &again] {
        assert_redirected(res, "/login?signed_up=1");
        assert!(session_cookie(res).is_none(), "no session either way");
    }
    let first_body = first.text().await.unwrap();
    assert_eq!(first_body, again.text().await.unwrap());
    assert_eq!(s.count("accounts").await, 1);
    assert_eq!(s.count("users").await, 1);
    // The password stays the first one; the owner reads what happened.
    let b = s.browser();
    assert_redirected(
        &s.log_in(&b, "ada@example.com", PASSWORD).await,
        "/projects",
    );
    let (status, page) = s.call(&b, "audit", &[] as &[(&str, &str)]).await;
    assert_eq!(status, 200, "{page}");
    let text = page.to_string();
    assert!(text.contains("account.sign_up_repeated"), "{text}");
    assert!(text.contains("password was not changed"), "{text}");
}

#[tokio::test]
async fn sign_ups_per_address_are_limited() {
    let s = TestServer::start_with(|c| c.sign_ups_per_address = 2).await;
    for n in 0..2 {
        let res = s
            .sign_up(&s.browser(), "Acme", &format!("u{n}@example.com"))
            .await;
        assert_redirected(&res, "/login?signed_up=1");
    }
    let res = s.sign_up(&s.browser(), "Acme", "u3@example.com").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "throttled");
    assert_eq!(s.count("users").await, 2, "the refused one made nothing");
    s.clock.advance(2);
    let res = s.sign_up(&s.browser(), "Acme", "u3@example.com").await;
    assert_redirected(&res, "/login?signed_up=1");
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_only() {
    let s = TestServer::start().await;
    let here = s.owner("ada@example.com").await.browser;
    let elsewhere = s.browser();
    s.log_in(&elsewhere, "ada@example.com", PASSWORD).await;

    let (status, body) = s
        .call(
            &here,
            "password_change",
            &[
                ("current_password", "not my password"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["field"], "current_password");
    let (status, body) = s
        .call(
            &here,
            "password_change",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["field"], "new_password");
    assert_eq!(s.me(&elsewhere).await.0, 200, "failed changes end nothing");

    let (status, body) = s
        .call(
            &here,
            "password_change",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.me(&here).await.0, 200, "this session carries on");
    assert_eq!(s.me(&elsewhere).await.0, 401, "the other one ended");
    assert_eq!(
        s.log_in(&s.browser(), "ada@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_redirected(
        &s.log_in(&s.browser(), "ada@example.com", NEW_PASSWORD)
            .await,
        "/projects",
    );
    assert!(audit_actions(&s)
        .await
        .contains(&"user.password_change".to_owned()));
}

/// An owner, and a developer who joined by invitation: (owner, developer
/// browser, developer's user id).
async fn team_of_two(s: &TestServer) -> (Owner, reqwest::Client, String) {
    let owner = s.owner("owner@example.com").await;
    let dev = s.member(&owner, "developer", "dev@example.com").await;
    let (_, team) = s.call(&owner.browser, "team", &[] as &[(&str, &str)]).await;
    let dev_id = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "dev@example.com")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (owner, dev, dev_id)
}

#[tokio::test]
async fn an_owner_issues_a_one_time_reset_link_for_a_member() {
    let s = TestServer::start().await;
    let (owner, dev, dev_id) = team_of_two(&s).await;

    let (status, _) = s
        .call(&dev, "team_password_reset", &[("user_id", dev_id.as_str())])
        .await;
    assert_eq!(status, 403, "developers cannot issue links");
    let stranger = s.owner("stranger@example.com").await;
    let (status, _) = s
        .call(
            &stranger.browser,
            "team_password_reset",
            &[("user_id", dev_id.as_str())],
        )
        .await;
    assert_eq!(status, 404, "nor owners of another account");

    let (status, first) = s
        .call(
            &owner.browser,
            "team_password_reset",
            &[("user_id", dev_id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let (_, link) = s
        .call(
            &owner.browser,
            "team_password_reset",
            &[("user_id", dev_id.as_str())],
        )
        .await;
    let link = link["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/reset#", s.base)), "{link}");
    let token = link.split('#').nth(1).unwrap();
    let old_token = first["link"].as_str().unwrap().split('#').nth(1).unwrap();
    // Only a hash is stored.
    let stored: Vec<(String,)> = sqlx::query_as("select token_hash from password_resets")
        .fetch_all(&s.db)
        .await
        .unwrap();
    assert!(stored.iter().all(|(h,)| h != token));

    let anyone = s.browser();
    let (status, body) = s
        .call(&anyone, "password_reset_preview", &[("token", old_token)])
        .await;
    assert_eq!(status, 422, "a newer link replaces the older: {body}");
    let (status, preview) = s
        .call(&anyone, "password_reset_preview", &[("token", token)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(preview["email"], "dev@example.com");

    let (status, body) = s
        .call(
            &anyone,
            "password_reset",
            &[("token", token), ("password", "short")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(s.me(&dev).await.0, 200, "a refused reset changes nothing");
    let res = s
        .post(
            &anyone,
            "password_reset",
            &[("token", token), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_redirected(&res, "/login?reset=1");
    assert!(session_cookie(&res).is_none(), "the link signs nobody in");
    assert_eq!(s.me(&dev).await.0, 401, "every session of theirs ended");
    assert_redirected(
        &s.log_in(&s.browser(), "dev@example.com", NEW_PASSWORD)
            .await,
        "/projects",
    );
    let (status, _) = s
        .call(
            &anyone,
            "password_reset",
            &[("token", token), ("password", "yet another passphrase")],
        )
        .await;
    assert_eq!(status, 422, "a link works once");
    let actions = audit_actions(&s).await;
    assert!(actions.contains(&"member.password_reset_issued".to_owned()));
    assert!(actions.contains(&"user.password_reset".to_owned()));
}

#[tokio::test]
async fn a_staff_password_change_ends_their_other_sessions() {
    let s = TestServer::start().await;
    let staff = staff_browser(&s).await;
    let (status, _) = s
        .call(
            &staff,
            "password_change",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s.call(&staff, "staff_find", &[("query", "acme")]).await;
    assert_eq!(status, 200, "this session carries on");
}
