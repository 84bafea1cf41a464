//! Each endpoint needs its own scope (403 without it, nothing changed, the
//! handler not run), and foreign, expired, revoked and archived projects' tokens
//! are `invalid_token`.

use super::*;

#[tokio::test]
async fn every_endpoint_needs_its_own_scope_and_refuses_bad_tokens() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let full_p = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let full_c = s.access_token(&st.caas, &CAAS.join(" ")).await;
    let f = fixtures(&s, &full_p, &full_c).await;
    let count = endpoints(&f).len();
    // Every scope of the catalogue guards at least one endpoint.
    for scope in PARTNER.iter().chain(CAAS.iter()) {
        assert!(
            endpoints(&f).iter().any(|e| e.2 == *scope),
            "{scope} guards nothing"
        );
    }
    for i in 0..count {
        // Fresh fixtures each time: deletes must not starve later calls.
        let f = fixtures(&s, &full_p, &full_c).await;
        let (method, path, scope, body, ok) = endpoints(&f).swap_remove(i);
        let creds = if path.starts_with("/partner") {
            &st.partner
        } else {
            &st.caas
        };
        // Every other scope of the API, but not this one.
        let others: Vec<&str> = api_of(&path)
            .iter()
            .copied()
            .filter(|s| s != &scope)
            .collect();
        let without = s.access_token(creds, &others.join(" ")).await;
        let before = s.api_rows().await;
        // A body the handler would refuse with 400 proves it never ran.
        let res = Client::new()
            .request(method.clone(), s.url(&path))
            .bearer_auth(&without)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method} {path} without {scope}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer realm=\"portcullis\""),
            "{challenge}"
        );
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!("scope=\"{scope}\"")),
            "{challenge}"
        );
        let (_, body403) = json(res).await;
        assert_eq!(body403["error"], "insufficient_scope");
        assert_eq!(body403["scope"], scope);
        assert_eq!(
            s.api_rows().await,
            before,
            "{method} {path}: nothing written"
        );

        // Exactly this scope is enough.
        let only = s.access_token(creds, scope).await;
        let res = call(&s, method.clone(), &path, Some(&only), body.as_ref()).await;
        let status = res.status().as_u16();
        assert!(
            res.headers().contains_key("ratelimit"),
            "{path}: RateLimit header"
        );
        let (_, answer) = json(res).await;
        assert_eq!(status, ok, "{method} {path} with {scope}: {answer}");

        // A token of the other API, even one holding every scope there.
        let foreign = if path.starts_with("/partner") {
            &full_c
        } else {
            &full_p
        };
        expect_invalid_token(&s, &method, &path, foreign, "other API").await;
        // A revoked token with exactly the right scope.
        let revoked = s.access_token(creds, scope).await;
        let res = s
            .oauth_post("/oauth/revoke", creds, &[("token", revoked.as_str())])
            .await;
        assert_eq!(res.status(), 200);
        expect_invalid_token(&s, &method, &path, &revoked, "revoked").await;
    }

    // Expired: tokens minted now, every endpoint after their hour.
    let f = fixtures(&s, &full_p, &full_c).await;
    let soon_p = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let soon_c = s.access_token(&st.caas, &CAAS.join(" ")).await;
    s.clock.advance(3600);
    for (method, path, ..) in endpoints(&f) {
        let t = if path.starts_with("/partner") {
            &soon_p
        } else {
            &soon_c
        };
        expect_invalid_token(&s, &method, &path, t, "expired").await;
    }
    // A disabled client: archiving the projects disables their clients
    // (support revocation arrives with the staff console).
    let live_p = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let live_c = s.access_token(&st.caas, &CAAS.join(" ")).await;
    let res = s
        .log_in(&st.owner.browser, "a@example.com", crate::harness::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    for project in [&st.partner_project, &st.caas_project] {
        let (status, _) = s
            .call(
                &st.owner.browser,
                "project_archive",
                &[("id", project.as_str())],
            )
            .await;
        assert_eq!(status, 200);
    }
    let before = s.api_rows().await;
    for (method, path, ..) in endpoints(&f) {
        let t = if path.starts_with("/partner") {
            &live_p
        } else {
            &live_c
        };
        expect_invalid_token(&s, &method, &path, t, "disabled client").await;
    }
    assert_eq!(s.api_rows().await, before);
}

/// 401 invalid_token, and nothing written.
async fn expect_invalid_token(s: &TestServer, method: &Method, path: &str, token: &str, why: &str) {
    let before = s.api_rows().await;
    let res = Client::new()
        .request(method.clone(), s.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "{method} {path}: {why}");
    let c = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        c.contains("error=\"invalid_token\""),
        "{method} {path}: {why}: {c}"
    );
    assert_eq!(
        s.api_rows().await,
        before,
        "{method} {path}: {why}: nothing written"
    );
}

#[tokio::test]
async fn foreign_expired_revoked_and_archived_tokens_are_invalid_token() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let partner = s.access_token(&st.partner, "applications:read").await;
    let caas = s.access_token(&st.caas, "caas:categories:read").await;
    let read = |t: String| {
        let url = s.url("/partner/v1/applications");
        async move { Client::new().get(url).bearer_auth(t).send().await.unwrap() }
    };
    let invalid = |res: Response, why: &'static str| async move {
        assert_eq!(res.status(), 401, "{why}");
        let c = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(c.contains("error=\"invalid_token\""), "{why}: {c}");
        let (_, body) = json(res).await;
        assert_eq!(body["error"], "invalid_token", "{why}");
        body
    };
    assert_eq!(read(partner.clone()).await.status(), 200);
    // A token for the other API.
    let body = invalid(read(caas.clone()).await, "other API").await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("another API"));
    // Tampered.
    let mut tampered = partner.clone();
    tampered.replace_range(tampered.len() - 5.., "AAAAA");
    invalid(read(tampered).await, "tampered").await;
    invalid(read("not.a.jwt".into()).await, "garbage").await;
    // Revoked: refused at once.
    let revoked = s.access_token(&st.partner, "applications:read").await;
    assert_eq!(read(revoked.clone()).await.status(), 200);
    let res = s
        .oauth_post("/oauth/revoke", &st.partner, &[("token", revoked.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let body = invalid(read(revoked).await, "revoked").await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("revoked"));
    // Expired.
    s.clock.advance(3600);
    invalid(read(partner).await, "expired").await;
    // A live token of a project that is then archived (its client disabled).
    let live = s.access_token(&st.partner, "applications:read").await;
    let res = read(live.clone()).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    // The console session idled out while the clock moved on.
    let res = s
        .log_in(&st.owner.browser, "a@example.com", crate::harness::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    let (status, _) = s
        .call(
            &st.owner.browser,
            "project_archive",
            &[("id", st.partner_project.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    invalid(read(live).await, "archived project").await;
}
