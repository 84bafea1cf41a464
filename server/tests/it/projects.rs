//! The console's project and client server functions: validation, the
//! secret shown once, narrowing only, test tokens and last used (tenants
//! and roles: `projects_access.rs`).

use serde_json::Value;

use crate::harness::{client_form, TestServer};

#[tokio::test]
async fn creating_a_project_validates_every_field_and_writes_nothing_on_error() {
    let s = TestServer::start().await;
    let owner = s.owner("a@example.com").await;
    let long = "x".repeat(81);
    for (form, field) in [
        (vec![("name", ""), ("api_id", "partner")], "name"),
        (vec![("name", long.as_str()), ("api_id", "partner")], "name"),
        (vec![("name", "Ok"), ("api_id", "nope")], "api_id"),
        (
            vec![
                ("name", "Ok"),
                ("api_id", "partner"),
                ("token_ttl_secs", "299"),
            ],
            "token_ttl_secs",
        ),
        (
            vec![
                ("name", "Ok"),
                ("api_id", "partner"),
                ("token_ttl_secs", "86401"),
            ],
            "token_ttl_secs",
        ),
        (
            vec![
                ("name", "Ok"),
                ("api_id", "partner"),
                ("token_ttl_secs", "1h"),
            ],
            "token_ttl_secs",
        ),
    ] {
        let (status, body) = s.call(&owner.browser, "project_create", &form).await;
        assert_eq!(status, 422, "{form:?}: {body}");
        assert_eq!(body["field"], field);
        assert!(body["message"].as_str().unwrap().len() > 5);
    }
    assert_eq!(s.count("projects").await, 0);

    let id = s.create_project(&owner, "Loan intake", "partner").await;
    assert!(id.starts_with("prj_"));
    // Names are unique per account, whatever the case.
    let (status, body) = s
        .call(
            &owner.browser,
            "project_create",
            &[("name", "LOAN INTAKE"), ("api_id", "caas")],
        )
        .await;
    assert_eq!((status, body["kind"].as_str()), (409, Some("conflict")));
    // ...but another account may use the same name.
    let other = s.owner("b@example.com").await;
    s.create_project(&other, "Loan intake", "partner").await;

    let (status, overview) = s
        .call(&owner.browser, "projects", &[] as &[(&str, &str)])
        .await;
    assert_eq!(status, 200);
    let projects = overview["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1, "only this account's projects");
    assert_eq!(projects[0]["token_ttl_secs"], 3600);
    assert_eq!(projects[0]["api_name"], "Partner API");
    let apis: Vec<&str> = overview["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(apis, ["partner", "caas", "manage"]);
}

#[tokio::test]
async fn a_client_secret_is_shown_once_and_stored_only_as_a_keyed_hash() {
    let s = TestServer::start().await;
    let owner = s.owner("a@example.com").await;
    let project = s.create_project(&owner, "Loan intake", "partner").await;
    let creds = s
        .create_client(&owner, &project, &["applications:read", "decisions:read"])
        .await;
    assert!(creds.id.starts_with("pcl_"));
    assert!(creds.secret.starts_with("pcs_"));
    assert!(
        portcullis_core::secret_format::checksum_ok(&creds.secret),
        "scanners can confirm it offline"
    );
    assert_eq!(
        creds.secret.len(),
        4 + 43 + 6,
        "256 bits in base62, and a 6-character checksum"
    );

    let (status, detail) = s
        .call(&owner.browser, "project", &[("id", project.as_str())])
        .await;
    assert_eq!(status, 200);
    assert!(
        !detail.to_string().contains(&creds.secret),
        "never shown again"
    );
    let client = &detail["clients"][0];
    assert_eq!(
        client["scopes"],
        serde_json::json!(["applications:read", "decisions:read"])
    );
    assert_eq!(client["status"], "active");
    assert_eq!(client["last_used_at"], Value::Null);

    let (hash, scopes): (String, String) =
        sqlx::query_as("select secret_hash, scopes from clients")
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains(&creds.secret[4..]));
    assert_eq!(scopes, "applications:read decisions:read");
    // Nowhere in the database file (PostgreSQL keeps no single file).
    if crate::harness::on_postgres() {
        return;
    }
    let dump = std::fs::read(s.dir.path().join("test.db")).unwrap();
    let needle = creds.secret.as_bytes();
    assert!(!dump.windows(needle.len()).any(|w| w == needle));
}

#[tokio::test]
async fn a_client_needs_scopes_of_its_projects_api() {
    let s = TestServer::start().await;
    let owner = s.owner("a@example.com").await;
    let project = s.create_project(&owner, "Loan intake", "partner").await;
    // No scope, or one no API has: the request is wrong (422). A scope of
    // another API: well formed, but not for this project (409).
    for (scopes, expected) in [
        (vec![], 422),
        (vec!["applications:read", "bogus"], 422),
        (vec!["caas:transactions:read"], 409),
    ] {
        let (status, body) = s
            .call(
                &owner.browser,
                "client_create",
                &client_form(&project, "Primary", &scopes),
            )
            .await;
        assert_eq!(status, expected, "{scopes:?}");
        assert_eq!(body["field"], "scopes");
    }
    let (status, body) = s
        .call(
            &owner.browser,
            "client_create",
            &client_form(&project, "", &["applications:read"]),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("client_name")));
    assert_eq!(s.count("clients").await, 0);
}

#[tokio::test]
async fn scopes_can_be_narrowed_but_never_widened() {
    let s = TestServer::start().await;
    let (owner, _, creds) = s
        .partner_client(
            "a@example.com",
            &["applications:read", "applications:write"],
        )
        .await;
    let old = s.access_token(&creds, "applications:write").await;
    let narrow = |scopes: Vec<&'static str>| {
        let mut form = vec![("client_id".to_owned(), creds.id.clone())];
        for (i, sc) in scopes.iter().enumerate() {
            form.push((format!("scopes[{i}]"), (*sc).to_owned()));
        }
        form
    };
    // Widening, even while narrowing something else, is refused.
    for wider in [
        vec!["applications:read", "applications:write", "decisions:read"],
        vec!["decisions:read"],
    ] {
        let (status, body) = s
            .call(&owner.browser, "client_narrow", &narrow(wider))
            .await;
        assert_eq!(status, 409, "what the client holds now decides");
        let msg = body["message"].as_str().unwrap();
        assert!(
            msg.contains("only be narrowed") && msg.contains("new purpose-scoped client"),
            "{msg}"
        );
    }
    let (status, _) = s
        .call(
            &owner.browser,
            "client_narrow",
            &narrow(vec!["applications:read", "applications:write"]),
        )
        .await;
    assert_eq!(status, 409, "no change is not a narrowing");
    let (status, _) = s
        .call(&owner.browser, "client_narrow", &narrow(vec![]))
        .await;
    assert_eq!(status, 422, "a client keeps at least one scope");

    let (status, body) = s
        .call(
            &owner.browser,
            "client_narrow",
            &narrow(vec!["applications:read"]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scopes"], serde_json::json!(["applications:read"]));
    // New tokens cannot have the dropped scope; old tokens keep theirs.
    let res = s
        .token_basic(&creds, &[("scope", "applications:write")])
        .await;
    assert_eq!(res.status(), 400);
    let res = s
        .oauth_post("/oauth/introspect", &creds, &[("token", old.as_str())])
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "applications:write");
}

#[tokio::test]
async fn a_test_token_comes_from_the_same_minting_and_last_used_follows() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read", "decisions:read"])
        .await;
    let (status, body) = s
        .call(
            &owner.browser,
            "client_test_token",
            &[
                ("client_id", creds.id.as_str()),
                ("scopes[0]", "decisions:read"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_str(body["claims_json"].as_str().unwrap()).unwrap();
    assert_eq!(claims["scope"], "decisions:read");
    assert_eq!(claims["client_id"], creds.id);
    let header: Value = serde_json::from_str(body["header_json"].as_str().unwrap()).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    let res = s
        .oauth_post("/oauth/introspect", &creds, &[("token", token)])
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);
    // A scope the client lacks is refused here too.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_test_token",
            &[
                ("client_id", creds.id.as_str()),
                ("scopes[0]", "payments:provision"),
            ],
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("scopes")));

    // Last used: visible at once in the console, written to the database
    // only when the coalesced times are flushed.
    s.clock.advance(120);
    s.access_token(&creds, "applications:read").await;
    let used_at = s.clock_now();
    let (_, detail) = s
        .call(&owner.browser, "project", &[("id", project.as_str())])
        .await;
    assert_eq!(detail["clients"][0]["last_used_at"], used_at);
    let stored = || async {
        let (v,): (Option<i64>,) = sqlx::query_as("select last_used_at from clients")
            .fetch_one(&s.db)
            .await
            .unwrap();
        v
    };
    assert_eq!(stored().await, None, "no database write per token");
    assert_eq!(s.issuer.registry().flush_usage(&s.db).await.unwrap(), 1);
    assert_eq!(stored().await, Some(used_at));
    assert_eq!(
        s.issuer.registry().flush_usage(&s.db).await.unwrap(),
        0,
        "nothing new"
    );
}
