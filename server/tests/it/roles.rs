//! The role table (`portcullis_core::access::table`) against the running
//! server: every console server function and every management operation,
//! called as every kind of caller, is refused or let through exactly as the
//! table says; a member of another account, calling everything with this
//! account's ids, changes nothing here; and a function the server serves
//! but the table does not list fails this test.

use portcullis_core::access::table::{Allow, CONSOLE, CONSOLE_STREAMS, MANAGE};
use portcullis_core::Role;
use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::harness::*;
use crate::staff::staff_without_second_factor;

/// The kinds of console caller.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Visitor,
    Viewer,
    Developer,
    Owner,
    /// Signed in, but their account requires a second factor they lack.
    OwesSecondFactor,
    Staff,
    StaffWithoutSecondFactor,
}

/// What the table means for `who`, written out here rather than by
/// calling the table's own check.
fn may_call(allow: Allow, who: Who) -> bool {
    use Who::*;
    let member_role = match who {
        Viewer => Some(Role::Viewer),
        Developer => Some(Role::Developer),
        Owner => Some(Role::Owner),
        _ => None,
    };
    match allow {
        Allow::Anyone => true,
        Allow::PendingLogIn => false,
        Allow::Members(min) => match (member_role, min) {
            (None, _) => false,
            (Some(_), Role::Viewer) => true,
            (Some(r), Role::Developer) => r != Role::Viewer,
            (Some(r), Role::Owner) => r == Role::Owner,
        },
        Allow::MembersBeforeSecondFactor => member_role.is_some() || who == OwesSecondFactor,
        Allow::SignedIn => !matches!(who, Visitor),
        Allow::Staff => who == Staff,
        Allow::Client(_) => false,
    }
}

/// A console download (`GET`): its status and, for a refusal, its JSON.
async fn download(browser: &Client, url: &str) -> (u16, Value) {
    let res = browser.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The answer kinds that mean "refused by who you are".
fn refused(status: u16, body: &Value) -> bool {
    matches!(status, 401 | 403)
        && matches!(
            body["kind"].as_str(),
            Some("unauthenticated" | "forbidden" | "second_factor_required")
        )
}

/// Every argument any console function takes, with harmless values: ids
/// that exist nowhere, so an allowed call reaches its function and fails
/// there (404, 422) instead of changing anything.
fn harmless_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("id", "prj_nowhere"),
        ("client_id", "pcl_nowhere"),
        ("user_id", "usr_nowhere"),
        ("message_id", "msg_nowhere"),
        ("project_id", "prj_nowhere"),
        ("enabled", "false"),
        ("required", "false"),
        ("token", "not-a-token"),
        ("code", "000000"),
    ]
}

/// The role table names exactly the functions the server serves.
#[test]
fn every_served_console_function_is_in_the_role_table() {
    let served: std::collections::BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    let listed: std::collections::BTreeSet<String> =
        CONSOLE.iter().map(|(n, _)| (*n).to_owned()).collect();
    let unlisted: Vec<_> = served.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "served but not in the role table: {unlisted:?}"
    );
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "in the role table but not served: {stale:?}"
    );
}

/// An account's state as rows, to see that nothing changed.
async fn state_of(s: &TestServer, account: &str) -> Vec<String> {
    let mut out = Vec::new();
    for q in [
        "select id || ':' || name || ':' || token_ttl_secs || ':' || rate_per_sec || ':' || coalesce(archived_at, 0) || ':' || coalesce(dormant_after_days, -1) || ':' || coalesce(daily_token_quota, -1) from projects where account_id = $1 order by id",
        "select cast(coalesce(dormant_after_days, -1) as text) from accounts where id = $1",
        "select id || ':' || scopes || ':' || coalesce(disabled_at, 0) || ':' || coalesce(retire_at, 0) from clients where account_id = $1 order by id",
        "select id || ':' || url || ':' || events || ':' || coalesce(disabled_at, 0) from webhook_endpoints where account_id = $1 order by id",
        "select user_id || ':' || role from memberships where account_id = $1 order by user_id",
        "select id || ':' || coalesce(used_at, 0) || ':' || coalesce(revoked_at, 0) from invites where account_id = $1 order by id",
        "select cast(count(*) as text) from audit_events where account_id = $1",
        "select cast(count(*) as text) from webhook_messages where account_id = $1",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(q).bind(account).fetch_all(&s.db).await.unwrap();
        out.extend(rows.into_iter().map(|(r,)| r));
    }
    out
}

async fn account_of(s: &TestServer, email: &str) -> String {
    let (id,): (String,) = sqlx::query_as(
        "select m.account_id from memberships m join users u on u.id = m.user_id where u.email = $1",
    )
    .bind(email)
    .fetch_one(&s.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn every_console_function_answers_each_kind_of_caller_as_the_table_says() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@a.example").await;
    let developer = s.member(&owner, "developer", "dev@a.example").await;
    let viewer = s.member(&owner, "viewer", "viewer@a.example").await;
    // An account that requires a second factor, and a member who lacks one.
    let strict = s.owner("owner@strict.example").await;
    s.set_up_second_factor(&strict.browser).await;
    let (status, _) = s
        .call(
            &strict.browser,
            "second_factor_require",
            &[("required", "true")],
        )
        .await;
    assert_eq!(status, 200);
    let owes = s.member(&strict, "developer", "dev@strict.example").await;
    let staff_without = staff_without_second_factor(&s).await;
    let callers: Vec<(Who, Client)> = vec![
        (Who::Visitor, s.browser()),
        (Who::Viewer, viewer),
        (Who::Developer, developer),
        (Who::Owner, owner.browser.clone()),
        (Who::OwesSecondFactor, owes),
        (Who::StaffWithoutSecondFactor, staff_without),
    ];
    let form = harmless_form();
    let mut checked = 0;
    // `logout` ends the session: last.
    let mut entries: Vec<&(&str, Allow)> = CONSOLE.iter().collect();
    entries.sort_by_key(|(n, _)| *n == "logout");
    for (who, browser) in &callers {
        // Downloads first: the functions end with `logout`.
        for (name, allow) in CONSOLE_STREAMS {
            let (status, body) = download(browser, &s.url(&format!("/api/{name}"))).await;
            assert_eq!(
                !refused(status, &body),
                may_call(*allow, *who),
                "{name} as {who:?}: {status} {body} (the table says {allow:?})"
            );
            checked += 1;
        }
        for (name, allow) in &entries {
            let (status, body) = s.call(browser, name, &form).await;
            let expected = may_call(*allow, *who);
            assert_eq!(
                !refused(status, &body),
                expected,
                "{name} as {who:?}: {status} {body} (the table says {allow:?})"
            );
            checked += 1;
        }
    }
    // Staff with a second factor last (a staff sign-in is one per server).
    let staff = {
        // The staff member above, now with a factor. The calls above made
        // wrong-password attempts from this address: let its lock lapse.
        s.clock.advance(3600);
        let browser = s.browser();
        let res = s
            .log_in(&browser, "support@portcullis.example", PASSWORD)
            .await;
        assert_eq!(res.status(), 200);
        s.set_up_second_factor(&browser).await;
        browser
    };
    for (name, allow) in &entries {
        let (status, body) = s.call(&staff, name, &form).await;
        assert_eq!(
            !refused(status, &body),
            may_call(*allow, Who::Staff),
            "{name} as staff: {status} {body}"
        );
        checked += 1;
    }
    for (name, allow) in CONSOLE_STREAMS {
        let (status, body) = download(&staff, &s.url(&format!("/api/{name}"))).await;
        assert_eq!(
            !refused(status, &body),
            may_call(*allow, Who::Staff),
            "{name} as staff: {status} {body}"
        );
        checked += 1;
    }
    assert_eq!(checked, (CONSOLE.len() + CONSOLE_STREAMS.len()) * 7);
}

/// An account (owner@a.example) with a Partner API project, a client and a
/// webhook endpoint: its ids, for another account to try.
async fn account_with_a_webhook(s: &TestServer) -> (Owner, String, Creds, String) {
    let (owner, project, creds) = s
        .partner_client("owner@a.example", &["applications:read"])
        .await;
    let (status, hook) = s
        .call(
            &owner.browser,
            "webhook_create",
            &[
                ("url", "https://hooks.example.com/a"),
                ("events", "client.revoked"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    let hook_id = hook["endpoint"]["id"].as_str().unwrap().to_owned();
    (owner, project, creds, hook_id)
}

#[tokio::test]
async fn a_member_of_another_account_changes_nothing_with_this_account_s_ids() {
    let s = TestServer::start().await;
    let (owner, project, creds, hook_id) = account_with_a_webhook(&s).await;
    let (_, invite) = s
        .call(&owner.browser, "team_invite", &[("role", "viewer")])
        .await;
    assert!(invite["link"].is_string());
    let (_, team) = s.call(&owner.browser, "team", &[] as &[(&str, &str)]).await;
    let owner_id = team["members"][0]["user_id"].as_str().unwrap().to_owned();
    let invite_id = team["invites"][0]["id"].as_str().unwrap().to_owned();
    let account = account_of(&s, "owner@a.example").await;
    let before = state_of(&s, &account).await;

    // The other account's owner: every role check passes; only the account
    // scoping stands between them and this account.
    let other = s.owner("owner@b.example").await;
    let form: Vec<(&str, &str)> = vec![
        ("id", project.as_str()),
        ("project_id", project.as_str()),
        ("client_id", creds.id.as_str()),
        ("user_id", owner_id.as_str()),
        ("message_id", "msg_nowhere"),
        ("enabled", "false"),
        ("required", "false"),
        ("scopes[0]", "applications:read"),
        ("rate_per_sec", "1"),
        ("rate_burst", "1"),
        ("name", "Taken over"),
        ("client_name", "Taken over"),
        ("url", "https://attacker.example/x"),
        ("events", "client.revoked"),
        ("reason", "mine now"),
    ];
    let mut entries: Vec<&(&str, Allow)> = CONSOLE.iter().collect();
    entries.sort_by_key(|(n, _)| *n == "logout");
    for (name, _) in entries {
        let mut f = form.clone();
        if name.starts_with("webhook") {
            f[0] = ("id", hook_id.as_str());
        }
        if *name == "team_withdraw" {
            f[0] = ("id", invite_id.as_str());
        }
        let (status, body) = s.call(&other.browser, name, &f).await;
        let text = body.to_string();
        assert!(
            !text.contains(&creds.id) && !text.contains("Loan intake"),
            "{name} showed another account's data: {status} {text}"
        );
    }
    assert_eq!(
        state_of(&s, &account).await,
        before,
        "another account changed this one"
    );
}

/// Every management scope.
fn all_scopes() -> Vec<String> {
    portcullis_core::manage::api()
        .scopes
        .iter()
        .map(|sc| sc.name.clone())
        .collect()
}

/// A management client of a fresh account holding every scope: its tokens
/// carry the scopes asked for.
async fn management_client(s: &TestServer, email: &str) -> Creds {
    let owner = s.owner(email).await;
    let all = all_scopes();
    let scopes: Vec<&str> = all.iter().map(String::as_str).collect();
    let (project, creds) = s.api_client(&owner, "Pipeline", "manage", &scopes).await;
    s.set_rate_limit(&owner, &project, 1000, 1000).await;
    creds
}

fn method_of(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

#[tokio::test]
async fn every_management_operation_needs_exactly_its_table_scope() {
    let s = TestServer::start().await;
    let all = all_scopes();
    let creds = management_client(&s, "owner@example.com").await;
    let mut n = 0;
    for (method, path, scope) in MANAGE {
        let path = path
            .replace("{id}", "nowhere")
            .replace("{message_id}", "msg_nowhere");
        let body = (*method == "POST").then(|| json!({}));
        // Every scope but this one: refused before anything is read.
        let others: Vec<&str> = all
            .iter()
            .map(String::as_str)
            .filter(|x| x != scope)
            .collect();
        let without = s.access_token(&creds, &others.join(" ")).await;
        let (status, answer) =
            manage_call(&s.base, &without, method_of(method), &path, body.clone()).await;
        assert_eq!(status, 403, "{method} {path} without {scope}: {answer}");
        // Only this one: past the scope check.
        let with = s.access_token(&creds, scope).await;
        let (status, answer) =
            manage_call(&s.base, &with, method_of(method), &path, body.clone()).await;
        assert!(
            !matches!(status, 401 | 403),
            "{method} {path} with {scope}: {status} {answer}"
        );
        // No token at all.
        let res = Client::new()
            .request(method_of(method), format!("{}/manage/v1{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{method} {path} without a token");
        n += 1;
    }
    assert_eq!(n, MANAGE.len());
    // The document states the table's scope for each operation.
    let doc: Value = Client::new()
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (method, path, scope) in MANAGE {
        let op = &doc["paths"][format!("/manage/v1{path}")][method.to_ascii_lowercase()];
        assert_eq!(op["x-required-scope"], *scope, "{method} {path}");
    }
}

/// RFC 8037's example public key.
const ED25519_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

#[tokio::test]
async fn another_account_s_management_client_changes_nothing_here() {
    let s = TestServer::start().await;
    let (_, project, creds, hook_id) = account_with_a_webhook(&s).await;
    let account = account_of(&s, "owner@a.example").await;
    let before = state_of(&s, &account).await;
    let other = management_client(&s, "owner@b.example").await;
    let token = s.access_token(&other, &all_scopes().join(" ")).await;
    for (method, path, _) in MANAGE {
        let id = if path.starts_with("/webhooks") {
            hook_id.as_str()
        } else if path.starts_with("/clients") {
            creds.id.as_str()
        } else {
            project.as_str()
        };
        // A body each write would take, were the item its own.
        let body = match (*method, *path) {
            ("POST", "/projects/{id}") => Some(json!({ "name": "Taken over" })),
            ("POST", "/projects/{id}/rate-limit") => Some(json!({ "per_sec": 1, "burst": 1 })),
            ("POST", "/projects/{id}/keys-only") => Some(json!({ "keys_only": true })),
            ("POST", "/projects/{id}/dormancy") => Some(json!({ "dormant_after_days": 30 })),
            ("POST", "/projects/{id}/quota") => Some(json!({ "daily_token_quota": 1 })),
            ("POST", "/projects/{id}/clients") => {
                Some(json!({ "name": "Mine", "scopes": ["applications:read"] }))
            }
            ("POST", "/clients/{id}/narrow") => Some(json!({ "scopes": ["applications:read"] })),
            ("POST", "/clients/{id}/keys") => Some(json!({ "public_keys": ED25519_JWK })),
            ("POST", "/clients/{id}/workload") => Some(json!({ "audience": "https://x.example",
                "jwks": { "keys": [serde_json::from_str::<Value>(ED25519_JWK).unwrap()] },
                "conditions": { "sub": "attacker" } })),
            ("POST", "/webhooks/{id}") => Some(json!({ "url": "https://attacker.example/x" })),
            ("POST", "/projects") => Some(json!({ "name": "Mine", "api_id": "partner" })),
            ("POST", "/webhooks") => {
                Some(json!({ "url": "https://attacker.example/x", "events": ["client.revoked"] }))
            }
            _ => None,
        };
        let path = path
            .replace("{id}", id)
            .replace("{message_id}", "msg_nowhere");
        let (status, answer) = manage_call(&s.base, &token, method_of(method), &path, body).await;
        if path.contains(id) {
            assert_eq!(status, 404, "{method} {path}: {answer}");
        }
    }
    assert_eq!(state_of(&s, &account).await, before);
}
