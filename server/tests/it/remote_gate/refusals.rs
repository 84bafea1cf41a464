//! A gate holds what it must refuse, not every client (issue 23): its
//! snapshot names switched-off, temporary and deleted clients only, it
//! learns each project the first time a token names it, and a gate that
//! starts after a client was deleted still refuses that client's tokens.

use super::*;
use crate::harness::client_form;

/// The first event of a fresh feed connection: the snapshot, as JSON.
async fn snapshot(s: &TestServer, (id, secret): &(String, String)) -> Value {
    let mut res = reqwest::Client::new()
        .get(s.url("/gate/v1/feed"))
        .basic_auth(id, Some(secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = res.chunk().await.unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let block = &text[..text.find("\n\n").unwrap()];
    assert!(block.contains("event: snapshot"), "{block}");
    let data: String = block
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim_start)
        .collect();
    serde_json::from_str(&data).unwrap()
}

fn client_ids(snapshot: &Value) -> Vec<String> {
    let mut ids: Vec<String> = snapshot["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_gate_holds_only_the_clients_it_must_refuse_and_remembers_the_deleted() {
    let s = TestServer::start().await;
    let credential = credential(&s, "partner").await;
    let (owner, project, live) = s
        .partner_client("refuse@example.com", &["applications:read"])
        .await;
    s.set_rate_limit(&owner, &project, 10_000, 10_000).await;
    let doomed = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    let mut form = client_form(&project, "Backfill", &["applications:read"]);
    form.push(("expires_in_hours".into(), "1".into()));
    let (status, body) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 200, "{body}");
    let temporary = body["client"]["id"].as_str().unwrap().to_owned();
    let temporary_creds = crate::harness::Creds {
        id: temporary.clone(),
        secret: body["client_secret"].as_str().unwrap().into(),
    };
    let live_token = s.access_token(&live, "applications:read").await;
    let doomed_token = s.access_token(&doomed, "applications:read").await;

    // Live clients are not in the snapshot; a temporary one is (it will
    // be refused), and so is no project (a gate asks for those).
    let first = snapshot(&s, &credential).await;
    assert_eq!(client_ids(&first), vec![temporary.clone()]);
    assert_eq!(first["projects"], serde_json::json!([]));

    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[("client_id", doomed.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let retired = snapshot(&s, &credential).await;
    let mut expected = vec![doomed.id.clone(), temporary.clone()];
    expected.sort();
    assert_eq!(client_ids(&retired), expected);

    // Deleted: a tombstone until its last token has expired.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_delete",
            &[("client_id", doomed.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let after = snapshot(&s, &credential).await;
    assert_eq!(client_ids(&after), expected);
    let tombstone = after["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == doomed.id.as_str())
        .unwrap();
    assert_eq!(tombstone["disabled"], true);
    assert!(tombstone["until"].as_i64().unwrap() >= s.clock_now() + 86_400);

    // A gate that starts now refuses the deleted client's live token,
    // and takes the others' (their project learnt from the issuer).
    let gate = GateProcess::start(&s, &s.base, &credential, &[]).await;
    gate.until(&live_token, "GET", READ, 200, Duration::from_secs(10))
        .await;
    assert_eq!(
        gate.ask(Some(&doomed_token), "GET", READ).await.status(),
        401
    );
    let temporary_token = s.access_token(&temporary_creds, "applications:read").await;
    assert_eq!(
        gate.ask(Some(&temporary_token), "GET", READ).await.status(),
        200,
        "held, not yet expired"
    );

    // A day and a bit later no token of it can be live: forgotten.
    // (A change moves the feed on: a snapshot is shared at one position.)
    s.clock.advance(86_400 + 301);
    let fresh = s.access_token(&live, "applications:read").await;
    let res = s
        .oauth_post("/oauth/revoke", &live, &[("token", fresh.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let later = snapshot(&s, &credential).await;
    assert!(!client_ids(&later).contains(&doomed.id), "{later}");
}
