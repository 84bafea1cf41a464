//! A stolen password: sign-up that reveals no emails, password change and
//! reset (ending other sessions), and the second factor.

use crate::harness::*;
use crate::staff::{staff_browser, staff_without_second_factor};

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
async fn a_second_factor_guards_the_log_in() {
    let s = TestServer::start().await;
    let owner = s.owner("ada@example.com").await;
    let (secret, codes) = s.set_up_second_factor(&owner.browser).await;
    assert_eq!(codes.len(), 10);
    // Stored sealed, and the codes only as hashes.
    let (sealed,): (String,) = sqlx::query_as("select secret_sealed from totp_factors")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert!(!sealed.contains(&secret));
    let hashes: Vec<(String,)> = sqlx::query_as("select code_hash from recovery_codes")
        .fetch_all(&s.db)
        .await
        .unwrap();
    assert!(hashes
        .iter()
        .all(|(h,)| !codes.iter().any(|c| h.contains(c.as_str()))));

    let b = s.browser();
    assert_redirected(
        &s.log_in(&b, "ada@example.com", PASSWORD).await,
        "/login/code",
    );
    assert_eq!(s.me(&b).await.0, 401, "a right password alone is not in");
    let page = b.get(s.url("/projects")).send().await.unwrap();
    assert_eq!(page.status(), 303);

    let (status, body) = s.call(&b, "login_code", &[("code", "000000")]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "code");
    let code = s.totp_now(&secret);
    assert_redirected(
        &s.post(&b, "login_code", &[("code", code.as_str())]).await,
        "/projects",
    );
    assert_eq!(s.me(&b).await.0, 200);

    // The same code again, within its 30 s: refused.
    let replay = s.browser();
    s.log_in(&replay, "ada@example.com", PASSWORD).await;
    let (status, _) = s
        .call(&replay, "login_code", &[("code", code.as_str())])
        .await;
    assert_eq!(status, 422, "a code works once");
    // A recovery code works, once, typed loosely.
    let loose = codes[0].to_uppercase().replace('-', " ");
    assert_redirected(
        &s.post(&replay, "login_code", &[("code", loose.as_str())])
            .await,
        "/projects",
    );
    let again = s.browser();
    s.log_in(&again, "ada@example.com", PASSWORD).await;
    let (status, _) = s
        .call(&again, "login_code", &[("code", codes[0].as_str())])
        .await;
    assert_eq!(status, 422, "a recovery code works once");
    let (_, view) = s.call(&again, "security", &[] as &[(&str, &str)]).await;
    assert_eq!(view["kind"], "unauthenticated", "still not in: {view}");

    // A pending log-in expires.
    let late = s.browser();
    s.log_in(&late, "ada@example.com", PASSWORD).await;
    s.clock.advance(5 * 60);
    let code = s.totp_now(&secret);
    let (status, _) = s
        .call(&late, "login_code", &[("code", code.as_str())])
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn guessing_codes_is_limited_per_user_and_a_right_password_buys_no_more() {
    let s = TestServer::start().await;
    let owner = s.owner("ada@example.com").await;
    let (secret, _) = s.set_up_second_factor(&owner.browser).await;
    // Three wrong codes end a log-in: back to the password.
    let b = s.browser();
    s.log_in(&b, "ada@example.com", PASSWORD).await;
    for expected in [422, 422, 401] {
        let (status, body) = s.call(&b, "login_code", &[("code", "123456")]).await;
        assert_eq!(status, expected, "{body}");
    }
    let code = s.totp_now(&secret);
    let (status, _) = s.call(&b, "login_code", &[("code", code.as_str())]).await;
    assert_eq!(
        status, 401,
        "the log-in ended: even the right code needs the password again"
    );
    // A new password step does not reset the user's code limit: two more
    // wrong codes make five, and then even the right code waits.
    let c = s.browser();
    s.log_in(&c, "ada@example.com", PASSWORD).await;
    for _ in 0..2 {
        let (status, _) = s.call(&c, "login_code", &[("code", "123456")]).await;
        assert_eq!(status, 422);
    }
    let d = s.browser();
    s.log_in(&d, "ada@example.com", PASSWORD).await;
    let res = s.post(&d, "login_code", &[("code", code.as_str())]).await;
    assert_eq!(res.status(), 429, "locked even for the right code");
    // Every wrong code is in the account's audit log.
    let (failed,): (i64,) = sqlx::query_as(
        "select count(*) from audit_events where action = 'user.second_factor_failed'",
    )
    .fetch_one(&s.db)
    .await
    .unwrap();
    assert_eq!(failed, 5);
    // The lock lapses; a right code then clears the count.
    s.clock.advance(3600);
    let code = s.totp_now(&secret);
    let e = s.browser();
    s.log_in(&e, "ada@example.com", PASSWORD).await;
    assert_redirected(
        &s.post(&e, "login_code", &[("code", code.as_str())]).await,
        "/projects",
    );
}

/// A stolen session cannot brute-force a code into new recovery codes (a
/// permanent second factor): they take the password and a code, and the
/// code shares the user's one limit.
#[tokio::test]
async fn new_recovery_codes_take_the_password_and_share_the_code_limit() {
    let s = TestServer::start().await;
    let owner = s.owner("ada@example.com").await;
    let (secret, _) = s.set_up_second_factor(&owner.browser).await;
    let (status, _) = s
        .call(
            &owner.browser,
            "recovery_codes_new",
            &[("code", s.totp_now(&secret).as_str())],
        )
        .await;
    assert_eq!(status, 422, "no password, no codes");
    for _ in 0..5 {
        let (status, body) = s
            .call(
                &owner.browser,
                "recovery_codes_new",
                &[("password", PASSWORD), ("code", "123456")],
            )
            .await;
        assert_eq!(status, 422, "{body}");
    }
    let code = s.totp_now(&secret);
    let (status, body) = s
        .call(
            &owner.browser,
            "recovery_codes_new",
            &[("password", PASSWORD), ("code", code.as_str())],
        )
        .await;
    assert_eq!(status, 429, "{body}");
    // And the same limit holds at the log-in.
    let b = s.browser();
    s.log_in(&b, "ada@example.com", PASSWORD).await;
    let res = s.post(&b, "login_code", &[("code", code.as_str())]).await;
    assert_eq!(res.status(), 429);
}

/// Setting up a factor takes the password: a stolen session cannot plant
/// its own.
#[tokio::test]
async fn starting_the_set_up_takes_the_password() {
    let s = TestServer::start().await;
    let owner = s.owner("ada@example.com").await;
    for form in [vec![], vec![("password", "wrong password!!")]] {
        let (status, body) = s.call(&owner.browser, "second_factor_begin", &form).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], "password");
    }
    let (status, _) = s
        .call(
            &owner.browser,
            "second_factor_begin",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn turning_the_second_factor_off_needs_the_password_and_a_code() {
    let s = TestServer::start().await;
    let owner = s.owner("ada@example.com").await;
    let (secret, codes) = s.set_up_second_factor(&owner.browser).await;
    let code = s.totp_now(&secret);
    for form in [
        [("password", "wrong password!!"), ("code", code.as_str())],
        [("password", PASSWORD), ("code", "000000")],
        [("password", PASSWORD), ("code", "")],
    ] {
        let (status, body) = s.call(&owner.browser, "second_factor_off", &form).await;
        assert_eq!(status, 422, "{body}");
    }
    let (_, view) = s
        .call(&owner.browser, "security", &[] as &[(&str, &str)])
        .await;
    assert_eq!(view["second_factor"], true);
    // New recovery codes need the password and a fresh app code (not a
    // recovery code).
    let (status, _) = s
        .call(
            &owner.browser,
            "recovery_codes_new",
            &[("password", "wrong password!!"), ("code", code.as_str())],
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = s
        .call(
            &owner.browser,
            "recovery_codes_new",
            &[("password", PASSWORD), ("code", codes[0].as_str())],
        )
        .await;
    assert_eq!(status, 422, "a recovery code does not make new ones");
    let (status, fresh) = s
        .call(
            &owner.browser,
            "recovery_codes_new",
            &[("password", PASSWORD), ("code", code.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{fresh}");
    // Off with the password and a recovery code (the phone may be lost).
    let fresh = fresh[0].as_str().unwrap();
    let (status, body) = s
        .call(
            &owner.browser,
            "second_factor_off",
            &[("password", PASSWORD), ("code", fresh)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let b = s.browser();
    assert_redirected(
        &s.log_in(&b, "ada@example.com", PASSWORD).await,
        "/projects",
    );
}

#[tokio::test]
async fn an_owner_can_require_a_second_factor_of_every_member() {
    let s = TestServer::start().await;
    let (owner, dev, _) = team_of_two(&s).await;
    let (status, body) = s
        .call(
            &owner.browser,
            "second_factor_require",
            &[("required", "true")],
        )
        .await;
    assert_eq!(status, 422, "the owner's own first: {body}");
    s.set_up_second_factor(&owner.browser).await;
    let (status, _) = s
        .call(&dev, "second_factor_require", &[("required", "true")])
        .await;
    assert_eq!(status, 403, "owners only");
    let (status, _) = s
        .call(
            &owner.browser,
            "second_factor_require",
            &[("required", "true")],
        )
        .await;
    assert_eq!(status, 200);

    // The developer is held at the Security page until they set one up.
    let (status, body) = s.call(&dev, "projects", &[] as &[(&str, &str)]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["kind"], "second_factor_required");
    let page = dev.get(s.url("/projects")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/security");
    let (_, view) = s.call(&dev, "security", &[] as &[(&str, &str)]).await;
    assert!(
        view["must_set_up"].as_str().unwrap().contains("requires"),
        "{view}"
    );
    let (status, _) = s
        .call(&dev, "second_factor_off", &[("password", PASSWORD)])
        .await;
    assert_eq!(status, 422);
    s.set_up_second_factor(&dev).await;
    let (status, _) = s.call(&dev, "projects", &[] as &[(&str, &str)]).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .call(&dev, "second_factor_off", &[("password", PASSWORD)])
        .await;
    assert_eq!(status, 422, "required: it stays on");
}

#[tokio::test]
async fn staff_set_up_a_second_factor_before_any_staff_action() {
    let s = TestServer::start().await;
    let staff = staff_without_second_factor(&s).await;
    let (status, body) = s.call(&staff, "staff_find", &[("query", "acme")]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["kind"], "second_factor_required");
    let page = staff.get(s.url("/staff")).send().await.unwrap();
    assert_eq!(page.headers()["location"], "/staff/security");
    let (_, view) = s.call(&staff, "security", &[] as &[(&str, &str)]).await;
    assert_eq!(view["staff"], true);
    s.set_up_second_factor(&staff).await;
    let (status, _) = s.call(&staff, "staff_find", &[("query", "acme")]).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .call(&staff, "second_factor_off", &[("password", PASSWORD)])
        .await;
    assert_eq!(status, 422, "staff keep it on");
    // Their next sign-in asks for a code.
    let again = s.browser();
    assert_redirected(
        &s.log_in(&again, "support@portcullis.example", PASSWORD)
            .await,
        "/login/code",
    );
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
