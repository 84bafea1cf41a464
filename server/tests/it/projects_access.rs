//! The console's project and client server functions across tenants and
//! roles: nothing reaches another account's projects or clients, and a
//! viewer looks but neither changes nor mints.

use crate::harness::{client_form, TestServer};

#[tokio::test]
async fn no_server_function_reaches_another_accounts_projects_or_clients() {
    let s = TestServer::start().await;
    let (_, project_a, a) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let mallory = s.owner("m@example.com").await;
    let pa = project_a.as_str();
    let ca = a.id.as_str();
    let attempts: Vec<(&str, Vec<(String, String)>)> = vec![
        ("project", vec![("id".into(), pa.into())]),
        (
            "project_update",
            vec![
                ("id".into(), pa.into()),
                ("name".into(), "Pwned".into()),
                ("description".into(), String::new()),
                ("token_ttl_secs".into(), "3600".into()),
            ],
        ),
        ("project_archive", vec![("id".into(), pa.into())]),
        (
            "client_create",
            client_form(pa, "Mine now", &["applications:read"]),
        ),
        (
            "client_narrow",
            vec![
                ("client_id".into(), ca.into()),
                ("scopes[0]".into(), "applications:read".into()),
            ],
        ),
        (
            "client_test_token",
            vec![
                ("client_id".into(), ca.into()),
                ("scopes[0]".into(), "applications:read".into()),
            ],
        ),
    ];
    for (name, form) in attempts {
        let (status, body) = s.call(&mallory.browser, name, &form).await;
        assert_eq!(status, 404, "{name}: {body}");
        assert_eq!(body["kind"], "not_found");
    }
    let (name, archived): (String, Option<i64>) =
        sqlx::query_as("select name, archived_at from projects where id = $1")
            .bind(pa)
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!((name.as_str(), archived), ("Loan intake", None));
    assert_eq!(s.count("clients").await, 1);
    // Signed out: nothing at all.
    let (status, _) = s.call(&s.browser(), "project", &[("id", pa)]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn viewers_can_look_but_not_change_or_mint() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    // Invitations arrive with the team issue; until then make a viewer by hand.
    let viewer = s.owner("v@example.com").await;
    let (account_id,): (String,) = sqlx::query_as("select account_id from clients limit 1")
        .fetch_one(&s.db)
        .await
        .unwrap();
    let (viewer_id,): (String,) =
        sqlx::query_as("select id from users where email = 'v@example.com'")
            .fetch_one(&s.db)
            .await
            .unwrap();
    sqlx::query("delete from memberships where user_id = $1")
        .bind(&viewer_id)
        .execute(&s.db)
        .await
        .unwrap();
    sqlx::query("insert into memberships (account_id, user_id, role, created_at) values ($1, $2, 'viewer', 0)")
        .bind(&account_id)
        .bind(&viewer_id)
        .execute(&s.db)
        .await
        .unwrap();
    let _ = owner;
    // The old session named the viewer's own (now left) account.
    let res = s
        .log_in(&viewer.browser, "v@example.com", crate::harness::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);

    let (status, detail) = s
        .call(&viewer.browser, "project", &[("id", project.as_str())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(detail["can_manage"], false);
    let p = project.as_str();
    for (name, form) in [
        (
            "project_create",
            vec![
                ("name".to_owned(), "X".to_owned()),
                ("api_id".into(), "partner".into()),
            ],
        ),
        ("project_archive", vec![("id".into(), p.into())]),
        ("client_create", client_form(p, "X", &["applications:read"])),
        (
            "client_test_token",
            vec![
                ("client_id".into(), creds.id.clone()),
                ("scopes[0]".into(), "applications:read".into()),
            ],
        ),
        (
            "client_narrow",
            vec![
                ("client_id".into(), creds.id.clone()),
                ("scopes[0]".into(), "applications:read".into()),
            ],
        ),
        (
            "client_rotate",
            vec![("client_id".into(), creds.id.clone())],
        ),
        (
            "client_retire",
            vec![("client_id".into(), creds.id.clone())],
        ),
        ("client_keep", vec![("client_id".into(), creds.id.clone())]),
        (
            "client_delete",
            vec![("client_id".into(), creds.id.clone())],
        ),
        (
            "project_rate_limit",
            vec![
                ("id".into(), p.into()),
                ("rate_per_sec".into(), "1".into()),
                ("rate_burst".into(), "1".into()),
            ],
        ),
        (
            "project_update",
            vec![
                ("id".into(), p.into()),
                ("name".into(), "X".into()),
                ("token_ttl_secs".into(), "600".into()),
            ],
        ),
    ] {
        let (status, body) = s.call(&viewer.browser, name, &form).await;
        assert_eq!(status, 403, "{name}: {body}");
    }
    assert_eq!(s.count("projects").await, 1);
    assert_eq!(s.count("clients").await, 1);
    let (status, detail) = s.call(&viewer.browser, "project", &[("id", p)]).await;
    assert_eq!(status, 200);
    assert_eq!(detail["project"]["name"], "Loan intake");
    assert_eq!(detail["clients"][0]["status"], "active");
}
