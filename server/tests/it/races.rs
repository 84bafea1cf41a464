//! Racing writes end with memory equal to the database. Before the change
//! feed, an owner narrowing a client while support revoked it could leave
//! the revoked client minting (the narrowing wrote back the row it had read
//! before the revocation) in several of 80 tries.

use crate::harness::TestServer;
use crate::staff::staff_browser;

const TRIES: usize = 40;

/// Each refused try counts against this address at the token endpoint;
/// let the per-address guard forget them (after an hour without one)
/// before it locks us out.
fn forget_failures(s: &TestServer, i: usize) {
    if i % 15 == 14 {
        s.clock.advance(61 * 60);
    }
}

/// A server whose sessions outlast the hours `forget_failures` skips.
async fn server() -> TestServer {
    TestServer::start_with(|c| c.session_idle_minutes = 6 * 60).await
}

#[tokio::test]
async fn a_client_revoked_while_being_narrowed_never_mints_again() {
    let s = server().await;
    let (owner, project, _) = s
        .partner_client("race@example.com", &["applications:read"])
        .await;
    let staff = staff_browser(&s).await;
    for i in 0..TRIES {
        let creds = s
            .create_client(&owner, &project, &["applications:read", "decisions:read"])
            .await;
        let id = creds.id.as_str();
        let narrow_form = [("client_id", id), ("scopes[0]", "applications:read")];
        let revoke_form = [("client_id", id), ("reason", "Leaked in a log")];
        let narrow = s.call(&owner.browser, "client_narrow", &narrow_form);
        let revoke = s.call(&staff, "staff_revoke", &revoke_form);
        let ((narrowed, body), (revoked, _)) = tokio::join!(narrow, revoke);
        assert_eq!(revoked, 200, "try {i}");
        // Narrowing either went first (200) or found the client revoked.
        assert!(
            narrowed == 200 || narrowed == 409,
            "try {i}: {narrowed} {body}"
        );
        let res = s
            .token_basic(&creds, &[("scope", "applications:read")])
            .await;
        assert_eq!(
            res.status(),
            401,
            "try {i}: the revoked client minted a token"
        );
        forget_failures(&s, i);
        // Make room for the next pair (two live clients per project).
        s.call(&owner.browser, "client_delete", &[("client_id", id)])
            .await;
    }
}

#[tokio::test]
async fn a_project_archived_while_being_renamed_stays_archived() {
    let s = server().await;
    let owner = s.owner("arch@example.com").await;
    for i in 0..TRIES {
        let project = s
            .create_project(&owner, &format!("Race {i}"), "partner")
            .await;
        let creds = s
            .create_client(&owner, &project, &["applications:read"])
            .await;
        let new_name = format!("Renamed {i}");
        let rename_form = [
            ("id", project.as_str()),
            ("name", new_name.as_str()),
            ("token_ttl_secs", "600"),
        ];
        let archive_form = [("id", project.as_str())];
        let rename = s.call(&owner.browser, "project_update", &rename_form);
        let archive = s.call(&owner.browser, "project_archive", &archive_form);
        let ((renamed, body), (archived, _)) = tokio::join!(rename, archive);
        assert_eq!(archived, 200, "try {i}");
        assert!(
            renamed == 200 || renamed == 409,
            "try {i}: {renamed} {body}"
        );
        let res = s
            .token_basic(&creds, &[("scope", "applications:read")])
            .await;
        assert_eq!(
            res.status(),
            401,
            "try {i}: a client of an archived project minted"
        );
        forget_failures(&s, i);
    }
}

/// Two partial changes of one project at once (the management API sends
/// only what changes) both land: the project is read, merged and written
/// under its lock, so neither writes back a value the other replaced.
#[tokio::test]
async fn two_partial_project_changes_at_once_both_land() {
    use crate::manage::{call, ALL};
    use reqwest::Method;
    use serde_json::json;
    let s = server().await;
    let owner = s.owner("partial@example.com").await;
    let scopes: Vec<&str> = ALL.split(' ').collect();
    let (pipeline, mc) = s
        .api_client(&owner, "Deploy pipeline", "manage", &scopes)
        .await;
    s.set_rate_limit(&owner, &pipeline, 10_000, 10_000).await;
    let token = s.access_token(&mc, ALL).await;
    for i in 0..TRIES {
        let (status, project) = call(
            &s,
            &token,
            Method::POST,
            "/projects",
            Some(json!({ "name": format!("Partial {i}"), "api_id": "partner" })),
        )
        .await;
        assert_eq!(status, 201, "{project}");
        let path = format!("/projects/{}", project["id"].as_str().unwrap());
        let name = format!("Renamed {i}");
        let ttl = 600 + i as i64;
        let rename = call(
            &s,
            &token,
            Method::POST,
            &path,
            Some(json!({ "name": name })),
        );
        let relive = call(
            &s,
            &token,
            Method::POST,
            &path,
            Some(json!({ "token_ttl_secs": ttl })),
        );
        let ((renamed, a), (relived, b)) = tokio::join!(rename, relive);
        assert_eq!((renamed, relived), (200, 200), "try {i}: {a} {b}");
        let (_, now) = call(&s, &token, Method::GET, &path, None).await;
        assert_eq!(
            (now["name"].as_str(), now["token_ttl_secs"].as_i64()),
            (Some(name.as_str()), Some(ttl)),
            "try {i}: one change was lost"
        );
    }
}

/// A change and its audit row commit together: when the audit write fails,
/// the change does not happen, in the database or in memory.
#[tokio::test]
async fn a_change_whose_audit_row_fails_does_not_happen() {
    let s = server().await;
    let trigger = if crate::harness::on_postgres() {
        vec![
            "create function refuse_narrow_audit() returns trigger language plpgsql as $$
             begin
               if new.action = 'client.narrow' then raise exception 'audit log unavailable'; end if;
               return new;
             end $$",
            "create trigger audit_down before insert on audit_events
             for each row execute function refuse_narrow_audit()",
        ]
    } else {
        vec![
            "create trigger audit_down before insert on audit_events
             when new.action = 'client.narrow'
             begin select raise(abort, 'audit log unavailable'); end",
        ]
    };
    for sql in trigger {
        sqlx::query(sql).execute(&s.db).await.unwrap();
    }
    let (owner, _, creds) = s
        .partner_client(
            "atomic@example.com",
            &["applications:read", "decisions:read"],
        )
        .await;
    let (status, _) = s
        .call(
            &owner.browser,
            "client_narrow",
            &[
                ("client_id", creds.id.as_str()),
                ("scopes[0]", "applications:read"),
            ],
        )
        .await;
    assert_eq!(status, 500);
    let (scopes,): (String,) = sqlx::query_as("select scopes from clients where id = $1")
        .bind(&creds.id)
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert_eq!(scopes, "applications:read decisions:read");
    let res = s.token_basic(&creds, &[("scope", "decisions:read")]).await;
    assert_eq!(res.status(), 200, "memory still has the scope");
    let (narrowed,): (i64,) =
        sqlx::query_as("select count(*) from changes where kind = 'client' and target_id = $1")
            .bind(&creds.id)
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(narrowed, 1, "only the creation is in the feed");
}

#[tokio::test]
async fn racing_creations_never_pass_the_live_client_cap() {
    let s = server().await;
    let (owner, project, _) = s
        .partner_client("cap@example.com", &["applications:read"])
        .await;
    // One live client already; the cap is two. Eight try for the last place.
    let form = crate::harness::client_form(&project, "Racer", &["applications:read"]);
    let tries: Vec<_> = (0..8)
        .map(|_| s.call(&owner.browser, "client_create", &form))
        .collect();
    let results = futures_util::future::join_all(tries).await;
    let made = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(made, 1, "{results:?}");
    for (status, body) in &results {
        assert!(*status == 200 || *status == 409, "{status} {body}");
    }
    let (live,): (i64,) = sqlx::query_as(
        "select count(*) from clients where project_id = $1 and disabled_at is null",
    )
    .bind(&project)
    .fetch_one(&s.db)
    .await
    .unwrap();
    assert_eq!(live, 2);
}

#[tokio::test]
async fn two_owners_removing_each_other_leave_one_owner() {
    let s = server().await;
    for i in 0..10 {
        let first = s.owner(&format!("first{i}@example.com")).await;
        let (status, inv) = s
            .call(&first.browser, "team_invite", &[("role", "owner")])
            .await;
        assert_eq!(status, 200, "{inv}");
        let link = inv["link"].as_str().unwrap();
        let token = link.split_once('#').unwrap().1;
        let second = s.browser();
        let (status, body) = s
            .call(
                &second,
                "join",
                &[
                    ("token", token),
                    ("email", format!("second{i}@example.com").as_str()),
                    ("password", crate::harness::PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let res = s
            .log_in(
                &second,
                &format!("second{i}@example.com"),
                crate::harness::PASSWORD,
            )
            .await;
        assert_eq!(res.status(), 200);
        let (_, view) = s.call(&first.browser, "team", &[] as &[(&str, &str)]).await;
        let id_of = |email: String| {
            view["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["email"] == email.as_str())
                .unwrap()["user_id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (a, b) = (
            id_of(format!("first{i}@example.com")),
            id_of(format!("second{i}@example.com")),
        );
        let remove_b = [("user_id", b.as_str())];
        let remove_a = [("user_id", a.as_str())];
        let ((one, _), (two, _)) = tokio::join!(
            s.call(&first.browser, "team_remove", &remove_b),
            s.call(&second, "team_remove", &remove_a),
        );
        assert_eq!(
            [one, two].iter().filter(|st| **st == 200).count(),
            1,
            "try {i}: exactly one removal wins ({one}, {two})"
        );
        let (owners,): (i64,) = sqlx::query_as(
            "select count(*) from memberships m join users u on u.id = m.user_id
             where m.role = 'owner' and u.email in ($1, $2)",
        )
        .bind(format!("first{i}@example.com"))
        .bind(format!("second{i}@example.com"))
        .fetch_one(&s.db)
        .await
        .unwrap();
        assert_eq!(owners, 1, "try {i}");
    }
}

#[tokio::test]
async fn racing_splits_never_exceed_their_transaction() {
    let s = server().await;
    let owner = s.owner("splits@example.com").await;
    let (project, creds) = s
        .api_client(
            &owner,
            "Enrich",
            "caas",
            &["caas:transactions:write", "caas:transaction_splits:write"],
        )
        .await;
    s.set_rate_limit(&owner, &project, 10_000, 10_000).await;
    let token = s
        .access_token(
            &creds,
            "caas:transactions:write caas:transaction_splits:write",
        )
        .await;
    let http = reqwest::Client::new();
    let txn: serde_json::Value = http
        .post(s.url("/caas/v1/transactions"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "user_id": "u1", "account_id": "a1", "amount_cents": -1000, "currency": "GBP",
            "description": "GROCER 42", "booked_on": "2026-11-01"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = s.url(&format!(
        "/caas/v1/transactions/{}/splits",
        txn["id"].as_str().unwrap()
    ));
    // Eight splits of 300 race for 1,000: three fit.
    let tries: Vec<_> = (0..8)
        .map(|_| {
            http.post(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({ "amount_cents": 300 }))
                .send()
        })
        .collect();
    let statuses: Vec<u16> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let (total,): (i64,) =
        sqlx::query_as("select cast(coalesce(sum(amount_cents), 0) as bigint) from caas_splits")
            .fetch_one(&s.apis_db)
            .await
            .unwrap();
    assert_eq!(total, 900);
}

#[tokio::test]
async fn a_retirement_cancelled_after_it_was_found_due_does_not_happen() {
    let s = server().await;
    let (owner, _, creds) = s
        .partner_client("keep@example.com", &["applications:read"])
        .await;
    let at = s.clock_now() + 120;
    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[
                ("client_id", creds.id.as_str()),
                (
                    "retire_at",
                    portcullis_core::calendar::datetime_local(at).as_str(),
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    s.clock.advance(180);
    // The housekeeping finds it due…
    let due = portcullis_core::store::clients::due_for_retirement(&s.db, s.clock_now())
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    // …the owner cancels at that moment (it is refused until then, so
    // the owner keeps it deliberately)…
    let (status, body) = s
        .call(
            &owner.browser,
            "client_keep",
            &[("client_id", creds.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // …and carrying out what was found changes nothing.
    let retired = portcullis_core::store::clients::retire_if_due(
        &s.db,
        &due[0].account_id,
        &due[0].id,
        s.clock_now(),
    )
    .await
    .unwrap();
    assert!(!retired);
    assert_eq!(s.clients.retire_due().await.unwrap(), 0);
    let res = s
        .token_basic(&creds, &[("scope", "applications:read")])
        .await;
    assert_eq!(res.status(), 200, "the kept client still mints");
}
