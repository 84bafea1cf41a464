//! The project page's live events (issue 25): `GET /api/project_live`
//! streams `clients` when a client changes (through the change feed),
//! `project` when the project does, and `usage` when its totals move;
//! bounded per person; another account's project is not found; opening a
//! stream does not keep a session alive. Read with `eventsource-stream`,
//! an SSE parser we do not use ourselves.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use reqwest::Client;

use crate::harness::*;

type Events = std::pin::Pin<Box<dyn Stream<Item = String> + Send>>;

/// Opens the stream; its event names as they come.
async fn open(s: &TestServer, browser: &Client, project: &str) -> Result<Events, (u16, String)> {
    let res = browser
        .get(s.url(&format!("/api/project_live?id={project}")))
        .send()
        .await
        .unwrap();
    if res.status() != 200 {
        return Err((res.status().as_u16(), res.text().await.unwrap()));
    }
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let bytes = futures_util::stream::unfold(res, |mut r| async move {
        match r.chunk().await {
            Ok(Some(b)) => Some((Ok::<_, reqwest::Error>(b), r)),
            _ => None,
        }
    });
    Ok(Box::pin(bytes.eventsource().map(|e| e.unwrap().event)))
}

/// The next event within `secs`.
async fn next(events: &mut Events, secs: u64) -> String {
    tokio::time::timeout(Duration::from_secs(secs), events.next())
        .await
        .expect("an event in time")
        .expect("the stream open")
}

#[tokio::test]
async fn an_open_page_hears_its_clients_its_project_and_its_usage() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("live@example.com", &["applications:read"])
        .await;
    let viewer = s.member(&owner, "viewer", "viewer@example.com").await;
    let mut events = open(&s, &viewer, &project).await.unwrap();
    assert_eq!(next(&mut events, 5).await, "ready");

    // Another account's changes are not heard here.
    let (other, theirs, their_client) = s
        .partner_client("other@example.com", &["applications:read"])
        .await;
    let (status, _) = s
        .call(
            &other.browser,
            "client_retire",
            &[("client_id", their_client.id.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        tokio::time::timeout(Duration::from_secs(2), events.next())
            .await
            .is_err(),
        "another account's change is not heard"
    );
    // This project's client retired by someone else: heard at once.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[("client_id", creds.id.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next(&mut events, 5).await, "clients");
    s.set_rate_limit(&owner, &project, 7, 9).await;
    assert_eq!(next(&mut events, 5).await, "project");

    // Use written by any node moves the totals: heard within a compare.
    let second = s
        .create_client(&owner, &project, &["applications:read"])
        .await;
    assert_eq!(next(&mut events, 5).await, "clients");
    s.access_token(&second, "applications:read").await;
    s.usage.flush().await.unwrap();
    assert_eq!(next(&mut events, 12).await, "usage");

    // Another account's project, or none: the same 404; no id: 422.
    let (status, _) = open(&s, &viewer, &theirs).await.err().unwrap();
    assert_eq!(status, 404);
    let res = viewer.get(s.url("/api/project_live")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    // Signed out: 401, which ends a browser's EventSource for good.
    let (status, _) = open(&s, &s.browser(), &project).await.err().unwrap();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_person_holds_a_few_streams_and_a_stream_is_not_activity() {
    let s = TestServer::start_with(|c| c.session_idle_minutes = 5).await;
    let (owner, project, _) = s
        .partner_client("tabs@example.com", &["applications:read"])
        .await;
    let mut open_ones = Vec::new();
    for _ in 0..portcullis_core::feed::pages::STREAMS_PER_USER_MAX {
        open_ones.push(open(&s, &owner.browser, &project).await.unwrap());
    }
    let (status, body) = open(&s, &owner.browser, &project).await.err().unwrap();
    assert_eq!(status, 429, "{body}");
    // A closed tab gives its place back (once the server sees it gone).
    drop(open_ones.pop());
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(e) = open(&s, &owner.browser, &project).await {
            reopened = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "the place was given back");
    drop(reopened);
    drop(open_ones);

    // Streams opening again and again, and the fetches their events set
    // off, do not keep an idle session alive.
    s.clock.advance(4 * 60);
    for _ in 0..3 {
        let _ = open(&s, &owner.browser, &project).await;
        let (status, body) = s
            .call(
                &owner.browser,
                "project_refresh",
                &[("id", project.as_str())],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    s.clock.advance(60);
    assert_eq!(s.me(&owner.browser).await.0, 401, "idle for five minutes");
}
