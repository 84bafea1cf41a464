//! Evidence for auditors (issue 25): the audit log as filtered and daily
//! use per client, as streamed CSV and JSON files from the management API
//! and the console. Files are read with the `csv` crate (an independent
//! RFC 4180 reader) and serde_json, never with our own writer.

use reqwest::{Client, Method};
use serde_json::Value;

use crate::harness::*;

const AUDIT: &str = "manage:audit:read";
const READ: &str = "manage:projects:read";

/// A download: status, content type, content disposition, body.
async fn fetch(client: &Client, url: String, token: Option<&str>) -> (u16, String, String, String) {
    let mut req = client.request(Method::GET, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (ct, cd) = (header("content-type"), header("content-disposition"));
    (res.status().as_u16(), ct, cd, res.text().await.unwrap())
}

/// A CSV file's `#` heading lines and its records (header row first).
fn read_csv(body: &str) -> (Vec<&str>, Vec<Vec<String>>) {
    let comments = body.lines().filter(|l| l.starts_with('#')).collect();
    let records = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (comments, records)
}

async fn account_of(s: &TestServer, project: &str) -> String {
    let (id,): (String,) = sqlx::query_as("select account_id from projects where id = $1")
        .bind(project)
        .fetch_one(&s.db)
        .await
        .unwrap();
    id
}

/// `n` audit rows written straight into the log, half of them in one
/// second (a chunk boundary falls inside a second).
async fn many_entries(s: &TestServer, account: &str, n: usize) {
    let now = s.clock_now();
    let mut tx = s.db.begin().await.unwrap();
    for i in 0..n {
        sqlx::query(
            "insert into audit_events (id, account_id, at, actor_kind, actor_id, actor_label, action,
                 target_kind, target_id, project_id, client_ip, detail)
             values ($1, $2, $3, 'user', 'usr_x', 'bulk@example.com', 'client.test_token', 'client', 'pcl_x', null, null, $4)",
        )
        .bind(format!("evt_bulk{i:06}"))
        .bind(account)
        .bind(now - 7200 + (i as i64 % 2) * (i as i64))
        .bind(format!("row {i}, with a comma and a \"quote\""))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_audit_log_exports_whole_and_filtered_as_csv_and_json() {
    let s = TestServer::start().await;
    let (owner, project, _) = s
        .partner_client("audit@example.com", &["applications:read"])
        .await;
    let (_, manager) = s.api_client(&owner, "Audit", "manage", &[AUDIT]).await;
    let token = s.access_token(&manager, AUDIT).await;
    let account = account_of(&s, &project).await;
    many_entries(&s, &account, 2_345).await;
    let total = {
        let (n,): (i64,) =
            sqlx::query_as("select count(*) from audit_events where account_id = $1")
                .bind(&account)
                .fetch_one(&s.db)
                .await
                .unwrap();
        n as usize
    };
    // Another account's rows are never in this account's file.
    let (other, _, _) = s
        .partner_client("other@example.com", &["applications:read"])
        .await;
    drop(other);
    let http = Client::new();

    let (status, ct, cd, body) = fetch(
        &http,
        s.url("/manage/v1/audit/export?format=csv"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct, "text/csv; charset=utf-8");
    assert!(
        cd.starts_with("attachment; filename=\"portcullis-audit_log-"),
        "{cd}"
    );
    let (comments, records) = read_csv(&body);
    assert_eq!(comments[0], "# Portcullis audit log");
    assert!(
        comments[1].starts_with(&format!("# account: {account} (")),
        "{comments:?}"
    );
    assert_eq!(
        comments[2],
        "# range: the first entry to generated_at (UTC days, both included)"
    );
    assert!(
        comments[3].starts_with("# generated_at: 20"),
        "{comments:?}"
    );
    assert_eq!(
        *comments.last().unwrap(),
        format!("# complete: {total} rows")
    );
    assert!(body.ends_with(&format!("# complete: {total} rows\r\n")));
    assert_eq!(records[0][..3], ["id", "at", "actor_kind"]);
    let rows = &records[1..];
    assert_eq!(rows.len(), total, "every row once, across chunk boundaries");
    let mut ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let times: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total);
    let bulk = rows.iter().find(|r| r[0] == "evt_bulk000007").unwrap();
    assert_eq!(bulk[9], "row 7, with a comma and a \"quote\"");
    assert_eq!(bulk[7], "", "no project");

    let (status, ct, _, body) = fetch(
        &http,
        s.url("/manage/v1/audit/export?format=json&action=project.create"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct, "application/json");
    let file: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file["kind"], "audit_log");
    assert_eq!(file["account"]["id"], account.as_str());
    assert_eq!(file["complete"], true);
    let entries = file["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "the two projects: {body}");
    assert_eq!(file["count"], 2);
    assert!(entries.iter().all(|e| e["action"] == "project.create"));
    assert!(entries[0]["project_id"].as_str().is_some());

    // A range: dates, UTC, inclusive; nothing in the far past.
    let (status, _, _, body) = fetch(
        &http,
        s.url("/manage/v1/audit/export?from=2001-01-01&to=2001-01-02"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    let file: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        file["range"],
        serde_json::json!({ "from": "2001-01-01", "to": "2001-01-02" })
    );
    assert_eq!(file["count"], 0);
    assert_eq!(file["entries"], serde_json::json!([]));

    // Bad input: a clear 422 naming the parameter.
    for (query, field) in [
        ("format=xml", "format"),
        ("from=yesterday", "from"),
        ("action=nope", "action"),
        ("before=1.x", ""),
    ] {
        let (status, _, _, body) = fetch(
            &http,
            s.url(&format!("/manage/v1/audit/export?{query}")),
            Some(&token),
        )
        .await;
        assert_eq!(status, 422, "{query}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        if !field.is_empty() {
            assert_eq!(v["field"], field, "{query}: {body}");
        }
    }
    // A token without the scope.
    let (_, reader) = s.api_client(&owner, "Reader", "manage", &[READ]).await;
    let read_only = s.access_token(&reader, READ).await;
    let (status, _, _, _) = fetch(&http, s.url("/manage/v1/audit/export"), Some(&read_only)).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn daily_use_exports_per_client_and_project_for_this_account_only() {
    let s = TestServer::start().await;
    let owner = s.owner("use@example.com").await;
    let (project, creds) = s
        .api_client(&owner, "=1+2 exports", "partner", &["applications:read"])
        .await;
    let (_, manager) = s.api_client(&owner, "Reports", "manage", &[READ]).await;
    let token = s.access_token(&manager, READ).await;
    let partner = s.access_token(&creds, "applications:read").await;
    s.access_token(&creds, "applications:read").await;
    let http = Client::new();
    for _ in 0..2 {
        let res = http
            .get(s.url("/partner/v1/applications"))
            .bearer_auth(&partner)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // Another account's use is not in this account's file.
    let (_, _, theirs) = s
        .partner_client("other@example.com", &["applications:read"])
        .await;
    s.access_token(&theirs, "applications:read").await;
    s.usage.flush().await.unwrap();

    let (status, ct, _, body) = fetch(
        &http,
        s.url("/manage/v1/usage/export?format=csv"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct, "text/csv; charset=utf-8");
    let (comments, records) = read_csv(&body);
    assert_eq!(comments[0], "# Portcullis daily usage");
    assert!(comments[2].starts_with("# range: 20"), "{comments:?}");
    assert_eq!(
        records[0],
        [
            "day",
            "project_id",
            "project_name",
            "client_id",
            "client_name",
            "tokens_minted",
            "calls_allowed",
            "calls_refused",
            "rate_limited"
        ]
    );
    let mine: Vec<&Vec<String>> = records[1..].iter().filter(|r| r[1] == project).collect();
    assert!(records[1..].iter().all(|r| r[3] != theirs.id), "{body}");
    let client = mine
        .iter()
        .find(|r| r[3] == creds.id)
        .expect("the client's row");
    assert_eq!(client[5], "2");
    // A name a spreadsheet would run is written so that it is not run.
    assert_eq!(client[2], "'=1+2 exports");
    let whole = mine
        .iter()
        .find(|r| r[3].is_empty())
        .expect("the project's row");
    assert_eq!(whole[6], "2", "{body}");
    assert_eq!(
        *comments.last().unwrap(),
        format!("# complete: {} rows", records.len() - 1)
    );

    let (status, _, _, body) = fetch(&http, s.url("/manage/v1/usage/export"), Some(&token)).await;
    assert_eq!(status, 200);
    let file: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file["kind"], "daily_usage");
    assert_eq!(file["complete"], true);
    let row = file["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["client_id"] == creds.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["tokens_minted"], 2);
    assert_eq!(
        row["project_name"], "=1+2 exports",
        "JSON keeps the name as it is"
    );

    // Days that are not kept are left out, and the range says so.
    let (status, _, _, body) = fetch(
        &http,
        s.url("/manage/v1/usage/export?from=2001-01-01&to=2999-01-01"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    let range = serde_json::from_str::<Value>(&body).unwrap()["range"].clone();
    assert_eq!(range, file["range"], "the 30 days kept, as by default");
    let today = portcullis_core::calendar::date(s.clock_now());
    assert_eq!(range["to"], today.as_str());
    for (query, field) in [
        ("from=2001-1-1", "from"),
        ("to=tomorrow", "to"),
        ("format=pdf", "format"),
    ] {
        let (status, _, _, body) = fetch(
            &http,
            s.url(&format!("/manage/v1/usage/export?{query}")),
            Some(&token),
        )
        .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["field"],
            field
        );
    }
}

#[tokio::test]
async fn the_console_downloads_for_members_only() {
    let s = TestServer::start().await;
    let (owner, _, _) = s
        .partner_client("console@example.com", &["applications:read"])
        .await;
    let viewer = s.member(&owner, "viewer", "viewer@example.com").await;
    let url =
        s.url("/api/audit_export?format=csv&actor=&action=project.create&project_id=&from=&to=");
    let (status, ct, cd, body) = fetch(&viewer, url.clone(), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct, "text/csv; charset=utf-8");
    assert!(cd.starts_with("attachment;"));
    let (_, records) = read_csv(&body);
    assert_eq!(records.len(), 2, "the header and the project: {body}");
    assert!(body.ends_with("# complete: 1 rows\r\n"));
    let (status, _, _, body) = fetch(
        &viewer,
        s.url("/api/usage_export?format=json&from=&to="),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["complete"],
        true
    );
    // Signed out: refused, and nothing of the account's.
    let (status, _, _, body) = fetch(&s.browser(), url, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("project.create"));
    let (status, _, _, body) = fetch(&viewer, s.url("/api/audit_export?from=soon"), None).await;
    assert_eq!(status, 422, "{body}");
}
