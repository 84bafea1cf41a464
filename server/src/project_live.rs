//! `GET /api/project_live?id=prj_…`: server-sent events for an open
//! project page. `clients` when one of its clients changed on any node
//! (through the change feed), `project` when the project did (or anything
//! may have), `usage` when its last hour's totals moved (compared every
//! few seconds: usage is written by every node, not through the feed).
//! Events carry no data; the page fetches what it shows through the
//! functions that check who asks.
//!
//! Opening a stream does not count as activity (the role-table edge reads
//! the session without renewing it), and each stream ends after a few
//! minutes: the browser's `EventSource` opens it again, and the session is
//! checked afresh, so an idle, expired or signed-out session stops
//! hearing within minutes and is never kept alive by an open tab (the
//! fetches the events set off are quiet too: `project_refresh`). A member
//! removed, or whose password changed, stops hearing within 30 s.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::stream;
use portcullis_core::feed::pages::{Change, Full, StreamSlot};
use portcullis_core::model::Principal;
use portcullis_core::usage_totals::{ProjectUsage, Span};
use serde::Deserialize;
use tokio::sync::broadcast::{error::RecvError, Receiver};
use tokio::time::{Instant, Interval};

use app::error::ConsoleError;
use app::ssr::{AppState, Resolved};

/// How often a stream compares the project's usage totals.
const USAGE_EVERY: Duration = Duration::from_secs(5);
/// How long one stream lasts before the browser opens it again: about
/// five minutes, spread so that streams opened together do not all come
/// back together.
fn stream_life() -> Duration {
    let [a, b] = portcullis_core::ids::random_bytes::<2>();
    Duration::from_secs(270) + Duration::from_millis(u64::from(u16::from_le_bytes([a, b])) % 60_000)
}
/// Every this many usage compares, the stream checks that its person is
/// still a member under the same sign-in (removed, or a password changed:
/// it ends).
const MEMBER_CHECK_EVERY: u32 = 6;
/// What the browser waits before opening it again.
const RETRY: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveQuery {
    id: Option<String>,
}

/// What a page compares to see that its usage moved.
type Seen = (
    Vec<(i64, portcullis_gate::usage::Counts)>,
    Vec<(String, u64)>,
);

fn seen(u: ProjectUsage) -> Seen {
    (u.series, u.clients)
}

struct Live {
    state: AppState,
    by: Principal,
    project_id: String,
    changes: Receiver<Change>,
    usage: Seen,
    tick: Interval,
    ends: Instant,
    ticks: u32,
    opened: bool,
    _slot: StreamSlot,
}

pub async fn stream(
    State(state): State<AppState>,
    Extension(who): Extension<Resolved>,
    q: Result<Query<LiveQuery>, QueryRejection>,
) -> Response {
    match open(state, who, q).await {
        Ok(live) => Sse::new(events(live))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
        Err(e) => crate::middleware::access::refuse(e),
    }
}

async fn open(
    state: AppState,
    who: Resolved,
    q: Result<Query<LiveQuery>, QueryRejection>,
) -> Result<Live, ConsoleError> {
    let by = who.principal.ok_or(ConsoleError::Unauthenticated)?;
    let project_id = q
        .ok()
        .and_then(|Query(q)| q.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ConsoleError::Invalid {
            field: Some("id".into()),
            message: "Name the project: ?id=prj_…".into(),
        })?;
    // Another account's project, or none: 404 before anything is held.
    let usage = state
        .usage
        .project_last(&by, &project_id, Span::Minute, 60)
        .await?;
    let slot = state.live.open(by.user_id()).map_err(|full| match full {
        Full::User => ConsoleError::Throttled {
            retry_after_secs: 30,
        },
        Full::Node => ConsoleError::Busy {
            retry_after_secs: 5,
        },
    })?;
    let changes = state.live.subscribe();
    let mut tick = tokio::time::interval(USAGE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Ok(Live {
        by,
        project_id,
        changes,
        usage: seen(usage),
        tick,
        ends: Instant::now() + stream_life(),
        ticks: 0,
        opened: false,
        state,
        _slot: slot,
    })
}

/// The person is still a member of the account, under the sign-in the
/// stream opened with. A failed read keeps the stream (the next check
/// tries again).
async fn still_member(l: &Live) -> bool {
    match l
        .state
        .accounts
        .principal(l.by.user_id(), l.by.account_id())
        .await
    {
        Ok(Some(p)) => p.session_epoch() == l.by.session_epoch(),
        Ok(None) => false,
        Err(_) => true,
    }
}

fn events(live: Live) -> impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>> {
    stream::unfold(live, |mut l| async move {
        if !l.opened {
            l.opened = true;
            let hello = Event::default()
                .event("ready")
                .retry(RETRY)
                .data(&l.project_id);
            return Some((Ok(hello), l));
        }
        let name = loop {
            tokio::select! {
                () = tokio::time::sleep_until(l.ends) => return None,
                change = l.changes.recv() => match change {
                    Ok(Change::Clients(p)) if p == l.project_id => break "clients",
                    Ok(c) if c.concerns(&l.project_id) => break "project",
                    Ok(_) => {}
                    // Fell behind: refresh everything.
                    Err(RecvError::Lagged(_)) => break "project",
                    Err(RecvError::Closed) => return None,
                },
                _ = l.tick.tick() => {
                    l.ticks += 1;
                    if l.ticks % MEMBER_CHECK_EVERY == 0 && !still_member(&l).await {
                        return None;
                    }
                    let now = l.state.usage.project_last(&l.by, &l.project_id, Span::Minute, 60).await;
                    match now.map(seen) {
                        Ok(s) if s != l.usage => {
                            l.usage = s;
                            break "usage";
                        }
                        Ok(_) => {}
                        // Archived or gone, or the database away: say
                        // nothing; the page's own fetch will tell.
                        Err(e) => tracing::debug!(error = %e, "live usage not read"),
                    }
                }
            }
        };
        Some((Ok(Event::default().event(name).data(&l.project_id)), l))
    })
}
