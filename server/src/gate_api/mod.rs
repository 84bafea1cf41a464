//! What gates in other processes read: `GET /gate/v1/feed`, the gate feed
//! of one API as server-sent events (resumable with `Last-Event-ID`), and
//! `POST /gate/v1/introspect`, for a gate whose feed is lost and that is set
//! to ask about each token rather than fail closed, and
//! `GET /gate/v1/project?id=`, a project of the gate's API the first time a
//! token names it (the feed holds only what gates must refuse), and
//! `POST /gate/v1/limited`, where a gate reports the projects its buckets
//! refused (for `project.rate_limited` webhooks), and
//! `POST /gate/v1/position`, where a gate says which feed position it has
//! applied (see [`portcullis_core::gate_reach`]), and
//! `POST /gate/v1/usage`, where a gate reports its calls per project and
//! minute (see [`portcullis_core::usage_totals`]). All take a gate
//! credential with HTTP Basic, behind the token endpoint's per-address
//! guard.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{self, Stream};
use portcullis_core::feed::gates::{GateFeed, Next};
use portcullis_core::gate_credentials::{GateCredential, Gates};
use portcullis_core::throttle::LoginThrottle;
use portcullis_core::Issuer;
use portcullis_gate::events::Event;
use serde_json::json;

use crate::gate_bounds::{FeedSlot, GateBounds, FEEDS_PER_CREDENTIAL_MAX};
use crate::oauth::form::{parse_basic, Params};

mod reports;

/// How long a feed connection waits for a change before a keep-alive; the
/// gate counts any byte as word from the issuer.
const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// How often a long feed connection checks that its credential is live.
const RECHECK: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct GateApiState {
    pub issuer: Arc<Issuer>,
    pub gates: Arc<Gates>,
    pub feed: Arc<GateFeed>,
    pub db: portcullis_core::Db,
    pub trusted_proxies: Arc<[IpAddr]>,
    pub failures: Arc<LoginThrottle>,
    pub bounds: GateBounds,
    pub reach: Arc<portcullis_core::gate_reach::GateReach>,
    pub usage: Arc<portcullis_core::usage_totals::UsageTotals>,
}

pub fn routes(state: GateApiState) -> Router {
    Router::new()
        .route("/gate/v1/feed", get(feed))
        .route("/gate/v1/introspect", post(introspect))
        .route(portcullis_gate::remote::PROJECT_PATH, get(project))
        .route("/gate/v1/limited", post(reports::limited))
        .route(
            portcullis_gate::remote::POSITION_PATH,
            post(reports::position),
        )
        .route(portcullis_gate::remote::USAGE_PATH, post(reports::usage))
        .with_state(state)
}

fn too_many(description: &str, retry_after: u64) -> Response {
    let mut res = refuse(StatusCode::TOO_MANY_REQUESTS, "slow_down", description);
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    res
}

fn refuse(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portcullis-gate\""),
        );
    }
    res
}

/// The caller's address, through the trusted proxies.
fn client_ip(s: &GateApiState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    let forwarded = app::ssr::forwarded_for(headers);
    portcullis_core::client_ip::resolve(peer.ip(), &forwarded, &s.trusted_proxies)
}

/// The gate credential of a request, counted against the caller's address
/// when it fails.
async fn authenticate(
    s: &GateApiState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<GateCredential, Response> {
    let ip = client_ip(s, headers, peer);
    let now = s.issuer.clock().now();
    if let Err(retry) = s.failures.check_ip(ip, now) {
        return Err(too_many(
            "too many failed authentications from this address",
            retry,
        ));
    }
    let unauthorized = || {
        refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "authenticate with a gate credential: Authorization: Basic base64(id:secret)",
        )
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized());
    };
    let (id, secret) = parse_basic(value.as_bytes()).map_err(|_| unauthorized())?;
    match s.gates.authenticate(&id, &secret).await {
        Ok(c) => Ok(c),
        Err(portcullis_core::Error::InvalidClient) => {
            s.failures.record_ip_failure_everywhere(ip, now).await;
            Err(unauthorized())
        }
        Err(e) => {
            tracing::error!(error = %e, "gate authentication failed");
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server cannot check gate credentials now",
            ))
        }
    }
}

/// The gate credential a call to the gate API authenticated with (HTTP
/// Basic), behind the per-address guard. An extractor, and the first of
/// every handler's: a handler that takes it cannot run for an
/// unauthenticated caller, and no body is read before it.
pub(super) struct Authenticated(pub(super) GateCredential);

impl axum::extract::FromRequestParts<GateApiState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &GateApiState,
    ) -> Result<Self, Response> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        authenticate(s, &parts.headers, peer).await.map(Self)
    }
}

/// `GET /gate/v1/project?id=`: the project as the gate holds it (`null`:
/// the credential's API has no such project; another API's is not told).
async fn project(
    Authenticated(credential): Authenticated,
    State(s): State<GateApiState>,
    uri: axum::http::Uri,
) -> Response {
    let id = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.into_owned())
    });
    let Some(id) = id.filter(|id| !id.is_empty() && id.len() <= 64) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "name the project: ?id=<project id>",
        );
    };
    let mut res = axum::Json(s.feed.project(&credential.api_id, &id)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Where the gate left off: `Last-Event-ID` (what SSE clients send when they
/// reconnect), else the `after` query parameter.
fn resume_from(headers: &HeaderMap, query: Option<&str>) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| {
            query?
                .split('&')
                .find_map(|p| p.strip_prefix("after="))
                .and_then(|v| v.parse().ok())
        })
        .filter(|seq: &i64| *seq > 0)
}

async fn feed(
    Authenticated(credential): Authenticated,
    State(s): State<GateApiState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let Some(slot) = s.bounds.feed_slot(&credential.id) else {
        tracing::warn!(gate = %credential.id, "a gate credential asked for one feed connection too many");
        return too_many(
            &format!(
                "this gate credential already holds {FEEDS_PER_CREDENTIAL_MAX} feed connections"
            ),
            5,
        );
    };
    let after = resume_from(&headers, uri.query());
    tracing::info!(gate = %credential.id, api = %credential.api_id, ?after, "a gate follows the feed");
    Sse::new(events(s, credential, after, slot))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}

struct Cursor {
    s: GateApiState,
    credential: GateCredential,
    after: Option<i64>,
    pending: std::collections::VecDeque<SseEvent>,
    checked: tokio::time::Instant,
    /// Held while the connection lasts.
    _slot: FeedSlot,
    _following: crate::metrics::Following,
}

fn sse_of(seq: i64, event: &Event) -> SseEvent {
    SseEvent::default()
        .id(seq.to_string())
        .event(event.name())
        .json_data(event)
        .unwrap_or_else(|_| SseEvent::default().comment("unserialisable event"))
}

/// The feed for one gate: a snapshot first (unless it resumes), then each
/// event as this node applies it. Ends when the credential is revoked.
fn events(
    s: GateApiState,
    credential: GateCredential,
    after: Option<i64>,
    slot: FeedSlot,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let following = crate::metrics::Following::new(&credential.api_id);
    let cursor = Cursor {
        s,
        credential,
        after,
        pending: Default::default(),
        checked: tokio::time::Instant::now(),
        _following: following,
        _slot: slot,
    };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(sse) = c.pending.pop_front() {
                return Some((Ok(sse), c));
            }
            if c.checked.elapsed() >= RECHECK {
                c.checked = tokio::time::Instant::now();
                if !c.s.gates.is_live(&c.credential.id).await.unwrap_or(true) {
                    tracing::info!(gate = %c.credential.id, "gate credential revoked: feed closed");
                    return None;
                }
            }
            match c
                .s
                .feed
                .next(&c.credential.api_id, c.after, KEEP_ALIVE)
                .await?
            {
                Next::Snapshot(seq, json) => {
                    c.after = Some(seq);
                    let sse = SseEvent::default()
                        .id(seq.to_string())
                        .event("snapshot")
                        .data(&*json);
                    c.pending.push_back(sse);
                }
                Next::Events(events, last) => {
                    let moved = c.after.is_some_and(|after| last > after);
                    c.after = Some(last);
                    let told = events.last().map(|(seq, _)| *seq);
                    c.pending
                        .extend(events.iter().map(|(seq, e)| sse_of(*seq, e)));
                    // The feed moved on with nothing (more) for this API:
                    // say so, or the gate would look behind to its operators.
                    if moved && told != Some(last) {
                        c.pending.push_back(
                            SseEvent::default()
                                .id(last.to_string())
                                .event(portcullis_gate::remote::POSITION_EVENT)
                                .data("{}"),
                        );
                    }
                }
            }
        }
    })
}

async fn introspect(
    Authenticated(credential): Authenticated,
    State(s): State<GateApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::parse(&headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let Some(token) = params.get("token") else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token parameter is missing",
        );
    };
    let audience = s.feed.audience(&credential.api_id).unwrap_or_default();
    let mut res = match s.issuer.check(token) {
        // Only tokens for the credential's own API.
        Ok(claims) if claims.aud == audience => axum::Json(json!({
            "active": true,
            // RFC 9449 §6.2: a bound token says so, with its key.
            "token_type": if claims.cnf.is_some() { "DPoP" } else { "Bearer" },
            "cnf": claims.cnf,
            "client_id": claims.client_id,
            "scope": claims.scope,
            "exp": claims.exp,
            "iat": claims.iat,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "jti": claims.jti,
        }))
        .into_response(),
        _ => axum::Json(json!({ "active": false })).into_response(),
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_resumes_from_last_event_id_or_after() {
        let mut h = HeaderMap::new();
        assert_eq!(resume_from(&h, None), None);
        assert_eq!(resume_from(&h, Some("x=1&after=12")), Some(12));
        assert_eq!(resume_from(&h, Some("after=0")), None);
        h.insert("last-event-id", HeaderValue::from_static(" 40 "));
        assert_eq!(resume_from(&h, Some("after=12")), Some(40));
        h.insert("last-event-id", HeaderValue::from_static("x"));
        assert_eq!(resume_from(&h, None), None);
    }
}
