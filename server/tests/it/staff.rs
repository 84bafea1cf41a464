//! Support staff: sign-in, the cross-tenant search, revocation with a
//! reason the account sees, and the wall between staff and account pages.

use portcullis_core::Password;
use reqwest::Client;
use serde_json::Value;

use crate::harness::{assert_redirected, TestServer, PASSWORD};

/// A staff member signed in, with the second factor staff must set up.
pub async fn staff_browser(s: &TestServer) -> Client {
    let browser = staff_without_second_factor(s).await;
    s.set_up_second_factor(&browser).await;
    browser
}

/// A staff member signed in for the first time: held at the Security page.
pub async fn staff_without_second_factor(s: &TestServer) -> Client {
    let accounts = s.accounts();
    accounts
        .add_staff(
            "support@portcullis.example",
            &Password::new(PASSWORD.to_owned()),
        )
        .await
        .unwrap();
    let browser = s.browser();
    let res = s
        .log_in(&browser, "support@portcullis.example", PASSWORD)
        .await;
    assert_redirected(&res, "/staff/security");
    browser
}

#[tokio::test]
async fn staff_find_and_revoke_a_client_and_the_owner_sees_why() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let token = s.access_token(&creds, "applications:read").await;
    let staff = staff_browser(&s).await;

    let (status, me) = s.call(&staff, "staff_me", &[] as &[(&str, &str)]).await;
    assert_eq!(
        (status, me.as_str()),
        (200, Some("support@portcullis.example"))
    );
    let (status, found) = s
        .call(&staff, "staff_search", &[("query", creds.id.as_str())])
        .await;
    assert_eq!(status, 200, "{found}");
    let hit = &found[0];
    assert_eq!(hit["account_name"], "Org of a@example.com");
    assert_eq!(hit["project_name"], "Loan intake");
    assert_eq!(hit["status"], "active");
    assert!(!found.to_string().contains(&creds.secret), "never a secret");
    let (_, by_name) = s
        .call(&staff, "staff_search", &[("query", "org of A@")])
        .await;
    assert_eq!(by_name.as_array().unwrap().len(), 1);
    let (_, by_project) = s.call(&staff, "staff_search", &[("query", "loan")]).await;
    assert_eq!(by_project.as_array().unwrap().len(), 1);
    // Accounts are found by name even with no project or client yet.
    s.owner("empty@example.com").await;
    let (status, found) = s
        .call(&staff, "staff_find", &[("query", "of empty@")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(found[0]["account_name"], "Org of empty@example.com");
    assert_eq!(found[0]["project_id"], Value::Null);
    let (_, found) = s
        .call(&staff, "staff_find", &[("query", "Loan Intake")])
        .await;
    assert_eq!(
        (
            found[0]["project_name"].as_str(),
            found[0]["clients"].as_i64()
        ),
        (Some("Loan intake"), Some(1))
    );
    let (status, _) = s
        .call(&owner.browser, "staff_find", &[("query", "Org")])
        .await;
    assert_eq!(status, 403);
    let (status, _) = s.call(&staff, "staff_search", &[("query", "x")]).await;
    assert_eq!(status, 422);

    // A reason is required.
    let (status, body) = s
        .call(
            &staff,
            "staff_revoke",
            &[("client_id", creds.id.as_str()), ("reason", "  ")],
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("reason")));
    let (status, _) = s
        .call(
            &staff,
            "staff_revoke",
            &[
                ("client_id", creds.id.as_str()),
                ("reason", "Secret found in a public repository"),
            ],
        )
        .await;
    assert_eq!(status, 200);

    // It stops at the token endpoint and at the gate, at once.
    let res = s
        .token_basic(&creds, &[("scope", "applications:read")])
        .await;
    assert_eq!(res.status(), 401);
    let res = Client::new()
        .get(s.url("/partner/v1/applications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The owner sees the reason on the project and in the audit log.
    let (_, detail) = s
        .call(&owner.browser, "project", &[("id", project.as_str())])
        .await;
    assert_eq!(
        detail["clients"][0]["disabled_reason"],
        "Revoked by support: Secret found in a public repository"
    );
    let (_, log) = s
        .call(&owner.browser, "audit", &[("action", "client.revoke")])
        .await;
    let e = &log["entries"][0];
    assert_eq!(
        (e["actor_kind"].as_str(), e["actor_label"].as_str()),
        (Some("staff"), Some("support@portcullis.example"))
    );
}

#[tokio::test]
async fn staff_and_account_pages_refuse_each_other() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let staff = staff_browser(&s).await;

    // Staff get nothing of an account's console, and cannot mint or change
    // scopes: the role table refuses them (403) before a function runs.
    let (status, _) = s.me(&staff).await;
    assert_eq!(status, 403);
    for (name, form) in [
        ("projects", vec![]),
        ("project", vec![("id", project.as_str())]),
        (
            "client_test_token",
            vec![
                ("client_id", creds.id.as_str()),
                ("scopes[0]", "applications:read"),
            ],
        ),
        (
            "client_narrow",
            vec![
                ("client_id", creds.id.as_str()),
                ("scopes[0]", "applications:read"),
            ],
        ),
        ("audit", vec![]),
    ] {
        let (status, _) = s.call(&staff, name, &form).await;
        assert_eq!(status, 403, "{name}");
    }
    let res = staff.get(s.url("/projects")).send().await.unwrap();
    assert_eq!(
        (
            res.status().as_u16(),
            res.headers()["location"].to_str().unwrap()
        ),
        (303, "/staff")
    );
    let res = staff.get(s.url("/staff")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // Account users get nothing of the staff console.
    for (name, form) in [
        ("staff_me", vec![]),
        ("staff_search", vec![("query", "Org")]),
        (
            "staff_revoke",
            vec![("client_id", creds.id.as_str()), ("reason", "mine")],
        ),
    ] {
        let (status, _) = s.call(&owner.browser, name, &form).await;
        assert_eq!(status, 403, "{name}");
        let (status, _) = s.call(&s.browser(), name, &form).await;
        assert_eq!(status, 401, "{name} signed out");
    }
    let res = owner.browser.get(s.url("/staff")).send().await.unwrap();
    assert_eq!(
        (
            res.status().as_u16(),
            res.headers()["location"].to_str().unwrap()
        ),
        (303, "/projects")
    );
    let res = s
        .token_basic(&creds, &[("scope", "applications:read")])
        .await;
    assert_eq!(res.status(), 200, "nothing was revoked");
    let _: Value = res.json().await.unwrap();
}
