//! The audit log: what is recorded, filters, keyset paging, tenancy.

use serde_json::Value;

use crate::harness::{client_form, TestServer, PASSWORD};

async fn audit(s: &TestServer, owner: &crate::harness::Owner, form: &[(&str, &str)]) -> Value {
    let (status, body) = s.call(&owner.browser, "audit", form).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn credential_changes_are_recorded_with_actor_time_and_address() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read", "decisions:read"])
        .await;
    let id = creds.id.as_str();
    s.call(
        &owner.browser,
        "client_narrow",
        &[("client_id", id), ("scopes[0]", "applications:read")],
    )
    .await;
    s.call(
        &owner.browser,
        "client_test_token",
        &[("client_id", id), ("scopes[0]", "applications:read")],
    )
    .await;
    s.call(
        &owner.browser,
        "project_rate_limit",
        &[
            ("id", project.as_str()),
            ("rate_per_sec", "5"),
            ("rate_burst", "9"),
        ],
    )
    .await;
    let (_, rotated) = s
        .call(&owner.browser, "client_rotate", &[("client_id", id)])
        .await;
    s.call(&owner.browser, "client_retire", &[("client_id", id)])
        .await;
    s.call(&owner.browser, "client_delete", &[("client_id", id)])
        .await;
    let res = s.log_in(&owner.browser, "a@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);

    let page = audit(&s, &owner, &[]).await;
    assert_eq!(
        actions(&page),
        vec![
            "user.sign_in",
            "client.delete",
            "client.retire",
            "client.rotate",
            "project.rate_limit",
            "client.test_token",
            "client.narrow",
            "client.create",
            "project.create",
            "user.sign_in",
            "account.sign_up",
        ]
    );
    let entries = page["entries"].as_array().unwrap();
    let narrow = &entries[6];
    assert_eq!(narrow["actor_label"], "a@example.com");
    assert_eq!(narrow["actor_kind"], "user");
    assert_eq!(narrow["target_id"], id);
    assert_eq!(narrow["project_id"], project);
    assert_eq!(narrow["project_name"], "Loan intake");
    assert_eq!(narrow["client_ip"], "127.0.0.1");
    assert!(narrow["detail"]
        .as_str()
        .unwrap()
        .contains("narrowed to applications:read"));
    assert!(entries[3]["detail"]
        .as_str()
        .unwrap()
        .contains(rotated["client"]["id"].as_str().unwrap()));
    // No secret ever appears.
    assert!(!page.to_string().contains(&creds.secret));

    // Filters.
    let only = audit(&s, &owner, &[("action", "client.retire")]).await;
    assert_eq!(actions(&only), vec!["client.retire"]);
    let by_project = audit(&s, &owner, &[("project_id", project.as_str())]).await;
    assert_eq!(by_project["entries"].as_array().unwrap().len(), 8);
    let by_actor = audit(&s, &owner, &[("actor", "A@Example.com")]).await;
    assert_eq!(by_actor["entries"].as_array().unwrap().len(), 11);
    let none = audit(&s, &owner, &[("actor", "b@example.com")]).await;
    assert_eq!(none["entries"], serde_json::json!([]));
    let today = portcullis_core::calendar::date(s.clock_now());
    let dated = audit(
        &s,
        &owner,
        &[("from", today.as_str()), ("to", today.as_str())],
    )
    .await;
    assert_eq!(dated["entries"].as_array().unwrap().len(), 11);
    let tomorrow = portcullis_core::calendar::date(s.clock_now() + 86_400);
    let later = audit(&s, &owner, &[("from", tomorrow.as_str())]).await;
    assert_eq!(later["entries"], serde_json::json!([]));
    for (k, v) in [
        ("action", "client.explode"),
        ("from", "yesterday"),
        ("before", "garbage"),
    ] {
        let (status, body) = s.call(&owner.browser, "audit", &[(k, v)]).await;
        assert_eq!(status, 422, "{k}={v}: {body}");
    }

    // Another account sees only its own log.
    let other = s.owner("b@example.com").await;
    let theirs = audit(&s, &other, &[]).await;
    assert_eq!(actions(&theirs), vec!["user.sign_in", "account.sign_up"]);
    let leak = audit(&s, &other, &[("project_id", project.as_str())]).await;
    assert_eq!(leak["entries"], serde_json::json!([]));
}

#[tokio::test]
async fn scheduled_retirement_is_recorded_as_the_system() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("a@example.com", &["applications:read"])
        .await;
    let mut form = client_form(&project, "Spare", &["applications:read"]);
    form.truncate(3);
    s.call(&owner.browser, "client_create", &form).await;
    let at = s.clock_now() + 120;
    let when = portcullis_core::calendar::datetime_local(at);
    let (status, _) = s
        .call(
            &owner.browser,
            "client_retire",
            &[
                ("client_id", creds.id.as_str()),
                ("retire_at", when.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 200);
    s.clock.advance(180);
    assert_eq!(s.clients.retire_due().await.unwrap(), 1);
    let page = audit(&s, &owner, &[("action", "client.retire")]).await;
    let e = &page["entries"][0];
    assert_eq!(
        (e["actor_kind"].as_str(), e["actor_label"].as_str()),
        (Some("system"), Some("Portcullis"))
    );
    assert_eq!(e["detail"], "retired as scheduled");
}

#[tokio::test]
async fn paging_walks_the_whole_log_newest_first_without_gaps() {
    let s = TestServer::start().await;
    let owner = s.owner("a@example.com").await;
    let (account_id,): (String,) = sqlx::query_as("select account_id from memberships")
        .fetch_one(&s.db)
        .await
        .unwrap();
    // 130 events, several sharing a second, written the product's way.
    for i in 0..130 {
        if i % 3 == 0 {
            s.clock.advance(1);
        }
        portcullis_core::audit::record(
            &s.db,
            portcullis_core::audit::Event {
                account_id: &account_id,
                actor: portcullis_core::audit::Actor::System,
                action: "client.retire",
                target_kind: "client",
                target_id: &format!("pcl_{i:03}"),
                project_id: None,
                client_ip: None,
                detail: format!("event {i}"),
            },
            s.clock_now(),
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut before = String::new();
    let mut pages = 0;
    loop {
        let page = audit(
            &s,
            &owner,
            &[("action", "client.retire"), ("before", before.as_str())],
        )
        .await;
        pages += 1;
        for e in page["entries"].as_array().unwrap() {
            seen.push((
                e["at"].as_i64().unwrap(),
                e["target_id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next"].as_str() {
            Some(n) => before = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3, "50 + 50 + 30");
    assert_eq!(seen.len(), 130);
    let mut ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 130, "no entry twice");
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
}
