//! What gates report: the projects their buckets refused
//! (`POST /gate/v1/limited`, for `project.rate_limited` webhooks), the
//! feed position they have applied (`POST /gate/v1/position`, see
//! [`portcullis_core::gate_reach`]) and their calls per project and minute
//! (`POST /gate/v1/usage`, see [`portcullis_core::usage_totals`]).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{client_ip, refuse, too_many, Authenticated, GateApiState};

/// A gate's JSON report (`expected` describes its shape for the error),
/// or the 400 that says so.
fn report<T: serde::de::DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("expected {expected}: {e}"),
        ))
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitedReport {
    limited: Vec<LimitedProject>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitedProject {
    project_id: String,
    at: i64,
}

/// A gate's report of refused projects: `{"limited": [{"project_id", "at"}]}`.
pub(super) async fn limited(
    Authenticated(credential): Authenticated,
    State(s): State<GateApiState>,
    body: Bytes,
) -> Response {
    let expected = r#"{"limited": [{"project_id", "at"}]}"#;
    let report: LimitedReport = match report(&body, expected) {
        Ok(r) => r,
        Err(res) => return *res,
    };
    if report.limited.len() > portcullis_core::webhooks::outbox::GATE_REPORT_MAX {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "report at most 500 projects at a time",
        );
    }
    let now = s.issuer.clock().now();
    if let Err(wait) = s.bounds.report(&credential.id, report.limited.len(), now) {
        tracing::warn!(gate = %credential.id, "a gate credential reports rate-limited projects too often");
        return too_many(
            "too many rate-limited reports from this gate credential this minute",
            wait,
        );
    }
    let reports: Vec<(String, i64)> = report
        .limited
        .into_iter()
        .map(|l| (l.project_id, l.at))
        .collect();
    match portcullis_core::webhooks::outbox::rate_limited_at_gate(
        &s.db,
        s.issuer.registry(),
        &credential.api_id,
        &reports,
        now,
    )
    .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot record a gate's rate-limited report");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server cannot take the report now",
            )
        }
    }
}

#[derive(serde::Deserialize)]
struct PositionReport {
    position: i64,
    #[serde(default)]
    version: String,
    #[serde(default)]
    instance: String,
    /// Positions applied since the last report, each with how many
    /// milliseconds before this report.
    #[serde(default)]
    applied: Vec<(i64, u64)>,
}

/// `POST /gate/v1/position`: `{"position": n, "version": "…", "instance":
/// "…", "applied": [[position, ms_ago], …]}`, the feed position the gate
/// process has applied and when it applied each since its last report;
/// `204`. Kept in the database, so staff see every gate from any node
/// (see [`portcullis_core::gate_reach`]).
pub(super) async fn position(
    Authenticated(credential): Authenticated,
    State(s): State<GateApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = r#"{"position": n, "version": "…", "instance": "…", "applied": [[n, ms], …]}"#;
    let report: PositionReport = match report(&body, expected) {
        Ok(r) => r,
        Err(res) => return *res,
    };
    let now = s.issuer.clock().now();
    if let Err(wait) = s.bounds.position(&credential.id, now) {
        return too_many("too many position reports from this gate credential", wait);
    }
    let peer = client_ip(&s, &headers, peer);
    let node_position = s.feed.position();
    let recorded = s
        .reach
        .report(
            portcullis_core::gate_reach::Report {
                gate_id: &credential.id,
                api_id: &credential.api_id,
                instance: &report.instance,
                peer,
                version: &report.version,
                position: report.position,
                applied: &report.applied,
            },
            node_position,
        )
        .await;
    match recorded {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(portcullis_core::Error::Invalid { message, .. }) => {
            refuse(StatusCode::BAD_REQUEST, "invalid_request", &message)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record a gate's position report");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server cannot take the report now",
            )
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageReport {
    report: String,
    rows: Vec<portcullis_gate::usage::Row>,
}

/// `POST /gate/v1/usage`: `{"report": "<id>", "rows": [{"project_id",
/// "minute", "gated", "refused", "limited"}]}`; `204`, also for a report
/// id counted before (the gate sent it again after losing the answer).
pub(super) async fn usage(
    Authenticated(credential): Authenticated,
    State(s): State<GateApiState>,
    body: Bytes,
) -> Response {
    let expected =
        r#"{"report": "…", "rows": [{"project_id", "minute", "gated", "refused", "limited"}]}"#;
    let report: UsageReport = match report(&body, expected) {
        Ok(r) => r,
        Err(res) => return *res,
    };
    let now = s.issuer.clock().now();
    if let Err(wait) = s.bounds.usage(&credential.id, report.rows.len(), now) {
        tracing::warn!(gate = %credential.id, "a gate credential reports usage too often");
        return too_many(
            "too many usage reports from this gate credential this minute",
            wait,
        );
    }
    match s
        .usage
        .gate_report(&credential.api_id, &report.report, report.rows)
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(portcullis_core::Error::Invalid { message, .. }) => {
            refuse(StatusCode::BAD_REQUEST, "invalid_request", &message)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record a gate's usage report");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server cannot take the report now",
            )
        }
    }
}
