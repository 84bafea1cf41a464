//! The lifecycle that runs itself, with the clock moved: `client.expiring`
//! 30, 7 and 1 days before an end (once each, with badges on the project
//! page and the account's list of what ends this week), and dormant
//! clients warned seven days ahead, then retired ("unused for N days"),
//! unless used in between or their project says never.

use reqwest::Method;
use serde_json::{json, Value};

use super::{manager, outbox_rows, register};
use crate::harness::*;

const DAY: i64 = 86_400;

/// A server whose console sessions outlast the weeks the clock moves.
async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.session_idle_minutes = 200 * 24 * 60;
        c.session_absolute_hours = 200 * 24;
    })
    .await
}

async fn audit_count(s: &TestServer, action: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("select count(*) from audit_events where action = $1")
        .bind(action)
        .fetch_one(&s.db)
        .await
        .unwrap();
    n
}

async fn project_page(s: &TestServer, owner: &Owner, project: &str) -> Value {
    let (status, page) = s.call(&owner.browser, "project", &[("id", project)]).await;
    assert_eq!(status, 200, "{page}");
    page
}

fn card(page: &Value, client: &str) -> Value {
    page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == client)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_ending_client_is_announced_30_7_and_1_days_before_once_each() {
    let s = server().await;
    let (owner, token, _) = manager(&s, "ends@example.com").await;
    register(
        &s.base,
        &token,
        "https://hooks.example.com/p",
        &["client.expiring"],
    )
    .await;
    let project = s.create_project(&owner, "Load test", "partner").await;
    let mut form = client_form(&project, "Temporary", &["applications:read"]);
    form.push(("expires_in_hours".into(), (24 * 29 + 12).to_string()));
    let (status, made) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 200, "{made}");
    let id = made["client"]["id"].as_str().unwrap().to_owned();

    // 29.5 days left: the 30-day warning, once however often it runs.
    assert_eq!(s.lifecycle.sweep().await.unwrap().expiring, 1);
    assert_eq!(s.lifecycle.sweep().await.unwrap().expiring, 0);
    let page = project_page(&s, &owner, &project).await;
    assert_eq!(card(&page, &id)["ends_soon"], "Expires in 30 days");
    // Then at 7 days and at 1 day.
    s.clock.advance(23 * DAY);
    assert_eq!(s.lifecycle.sweep().await.unwrap().expiring, 1);
    s.clock.advance(6 * DAY);
    assert_eq!(s.lifecycle.sweep().await.unwrap().expiring, 1);
    assert_eq!(s.lifecycle.sweep().await.unwrap().expiring, 0);
    assert_eq!(audit_count(&s, "client.expiring").await, 3);
    let page = project_page(&s, &owner, &project).await;
    assert_eq!(card(&page, &id)["ends_soon"], "Expires within a day");

    let events: Vec<Value> = outbox_rows(&s)
        .await
        .into_iter()
        .filter(|(t, _)| t == "client.expiring")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(events.len(), 3);
    let days: Vec<i64> = events
        .iter()
        .map(|e| e["data"]["days_left"].as_i64().unwrap())
        .collect();
    assert_eq!(days, [30, 7, 1]);
    assert_eq!(events[2]["data"]["client_id"], id.as_str());
    assert_eq!(events[2]["data"]["ends"], "expires");

    // The account's home lists it, and its project carries a badge.
    let (_, list) = s.call(&owner.browser, "projects", &[("", "")]).await;
    let ending = list["ending_this_week"].as_array().unwrap();
    assert_eq!(ending.len(), 1, "{list}");
    assert_eq!(ending[0]["client_id"], id.as_str());
    assert_eq!(ending[0]["when"], "Expires within a day");
    // Past its end: nothing more to warn of.
    s.clock.advance(DAY);
    assert_eq!(s.lifecycle.sweep().await.unwrap().expiring, 0);
}

#[tokio::test]
async fn a_dormant_client_is_warned_then_retired_unless_used_or_its_project_says_never() {
    let s = server().await;
    let (owner, token, _) = manager(&s, "dormant@example.com").await;
    register(
        &s.base,
        &token,
        "https://hooks.example.com/d",
        &["client.dormant", "client.retired"],
    )
    .await;
    let project = s.create_project(&owner, "Nightly", "partner").await;
    let idle = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let busy = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let kept_project = s.create_project(&owner, "Kept", "partner").await;
    let kept = s
        .create_client(&owner, &kept_project, &["applications:read"])
        .await;

    // Off by default: nothing happens however long nobody uses them.
    s.clock.advance(40 * DAY);
    assert_eq!(s.lifecycle.sweep().await.unwrap(), Default::default());

    // Only an owner sets the account's rule; a bad value changes nothing.
    let dev = s.member(&owner, "developer", "dev@example.com").await;
    let (status, _) = s
        .call(&dev, "account_dormancy", &[("dormant_after_days", "30")])
        .await;
    assert_eq!(status, 403);
    let (status, body) = s
        .call(
            &owner.browser,
            "account_dormancy",
            &[("dormant_after_days", "45")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = s
        .call(
            &owner.browser,
            "account_dormancy",
            &[("dormant_after_days", "30")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A project can say never.
    let (status, body) = s
        .call(
            &owner.browser,
            "project_dormancy",
            &[("id", kept_project.as_str()), ("dormant_after_days", "0")],
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Unused 40 days against 30: warned now, retired in seven days (the
    // two clients, and the account's own management client, which follows
    // the account's rule too).
    let swept = s.lifecycle.sweep().await.unwrap();
    assert_eq!((swept.dormant, swept.retired), (3, 0), "{swept:?}");
    let page = project_page(&s, &owner, &project).await;
    let notice = card(&page, &idle.id)["dormant_notice"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(notice.contains("retired on"), "{notice}");
    assert!(card(&page, &busy.id)["dormant_notice"].is_string());
    assert!(
        card(&project_page(&s, &owner, &kept_project).await, &kept.id)["dormant_notice"].is_null()
    );

    // One of them is used meanwhile: that cancels its retirement.
    s.clock.advance(3 * DAY);
    s.access_token(&busy, "applications:read").await;
    s.issuer.registry().flush_usage(&s.db).await.unwrap();
    let page = project_page(&s, &owner, &project).await;
    assert!(
        card(&page, &busy.id)["dormant_notice"].is_null(),
        "used: no notice"
    );
    s.clock.advance(4 * DAY);
    let swept = s.lifecycle.sweep().await.unwrap();
    assert_eq!((swept.dormant, swept.retired), (0, 2), "{swept:?}");
    let page = project_page(&s, &owner, &project).await;
    let retired = card(&page, &idle.id);
    assert_eq!(retired["status"], "disabled", "{retired}");
    assert_eq!(retired["disabled_reason"], "unused for 30 days");
    assert_eq!(card(&page, &busy.id)["status"], "active");
    assert_eq!(
        card(&project_page(&s, &owner, &kept_project).await, &kept.id)["status"],
        "active"
    );
    // The retired client is refused at once.
    assert_eq!(
        s.token_basic(&idle, &[("scope", "applications:read")])
            .await
            .status(),
        401
    );

    let events: Vec<(String, Value)> = outbox_rows(&s).await;
    let dormant: Vec<&Value> = events
        .iter()
        .filter(|(t, _)| t == "client.dormant")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(dormant.len(), 3);
    let about = |p: &Value| p["data"]["client_id"] == idle.id.as_str();
    assert_eq!(
        dormant.iter().find(|p| about(p)).unwrap()["data"]["never_used"],
        true
    );
    let retired: Vec<&Value> = events
        .iter()
        .filter(|(t, _)| t == "client.retired")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(retired.len(), 2);
    let idle_retired = retired.iter().find(|p| about(p)).unwrap();
    assert_eq!(idle_retired["data"]["reason"], "unused for 30 days");
    assert!(!retired
        .iter()
        .any(|p| p["data"]["client_id"] == busy.id.as_str()));
}

#[tokio::test]
async fn the_management_api_sets_a_project_s_rule() {
    let s = server().await;
    let owner = s.owner("rules@example.com").await;
    let project = s.create_project(&owner, "Ruled", "partner").await;
    let scopes = ["manage:projects:read", "manage:projects:write"];
    let (_, creds) = s.api_client(&owner, "Automation", "manage", &scopes).await;
    let token = s.access_token(&creds, &scopes.join(" ")).await;
    let path = format!("/projects/{project}/dormancy");
    let (status, body) = manage_call(
        &s.base,
        &token,
        Method::POST,
        &path,
        Some(json!({ "dormant_after_days": 45 })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = manage_call(
        &s.base,
        &token,
        Method::POST,
        &path,
        Some(json!({ "dormant_after_days": 60 })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dormant_after_days"], 60);
    let (status, body) = manage_call(&s.base, &token, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["dormant_after_days"].is_null(), "{body}");
}

#[tokio::test]
async fn a_changed_rule_warns_afresh_before_it_retires() {
    let s = server().await;
    let owner = s.owner("rule-change@example.com").await;
    let project = s.create_project(&owner, "Changing", "partner").await;
    let client = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let rule = |days: &'static str| {
        let (s, owner, project) = (&s, &owner, project.clone());
        async move {
            let form = [("id", project.as_str()), ("dormant_after_days", days)];
            let (status, body) = s.call(&owner.browser, "project_dormancy", &form).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    rule("30").await;
    s.clock.advance(24 * DAY);
    assert_eq!(s.lifecycle.sweep().await.unwrap().dormant, 1);
    // The rule grows to 90 days: the 30-day warning no longer stands.
    rule("90").await;
    let page = project_page(&s, &owner, &project).await;
    assert!(card(&page, &client.id)["dormant_notice"].is_null());
    s.clock.advance(10 * DAY);
    assert_eq!(s.lifecycle.sweep().await.unwrap(), Default::default());
    // 83 days unused: warned under the new rule; retired only at 90.
    s.clock.advance(49 * DAY + 1);
    let swept = s.lifecycle.sweep().await.unwrap();
    assert_eq!((swept.dormant, swept.retired), (1, 0), "{swept:?}");
    s.clock.advance(7 * DAY);
    assert_eq!(s.lifecycle.sweep().await.unwrap().retired, 1);
    let page = project_page(&s, &owner, &project).await;
    assert_eq!(
        card(&page, &client.id)["disabled_reason"],
        "unused for 90 days"
    );
}
