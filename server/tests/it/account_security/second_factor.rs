//! The second factor: set up, needed at log-in, its code limit, recovery
//! codes, turning it off, an owner requiring it, and staff who must.

use super::*;

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
