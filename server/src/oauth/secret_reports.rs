//! `POST /oauth/secret-reports`: where a secret scanner (GitHub's secret
//! scanning partner programme, or anything speaking its format) reports
//! client secrets it found in public. Without configured keys it answers
//! 404 and says so.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use portcullis_core::secret_reports::{ReportKeys, Reported, REPORTS_MAX};
use portcullis_core::Clients;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;

/// A hundred reports with long URLs fit easily.
const BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
struct ReportState {
    clients: Arc<Clients>,
    keys: Option<Arc<ReportKeys>>,
}

pub fn routes(clients: Arc<Clients>, keys: Option<ReportKeys>) -> Router {
    Router::new()
        .route("/oauth/secret-reports", post(report))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .with_state(ReportState {
            clients,
            keys: keys.map(Arc::new),
        })
}

fn refuse(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

async fn report(State(state): State<ReportState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(keys) = &state.keys else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_configured",
            "secret reports are not configured on this server (PORTCULLIS_SECRET_REPORT_KEYS)",
        );
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let key_id = header("github-public-key-identifier");
    let signature = header("github-public-key-signature");
    if !keys.verify(key_id, signature, &body) {
        tracing::warn!(
            key_id,
            "a secret report with a missing or wrong signature was refused"
        );
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "the report is not signed by a configured key",
        );
    }
    let reports: Vec<Reported> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("expected a JSON array of {{token, type, url, source}}: {e}"),
            )
        }
    };
    if reports.len() > REPORTS_MAX {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("at most {REPORTS_MAX} reports per request"),
        );
    }
    let mut feedback = Vec::with_capacity(reports.len());
    for r in &reports {
        match state.clients.secret_reported(r).await {
            Ok(f) => feedback.push(f),
            Err(e) => {
                tracing::error!(error = %e, "cannot act on a secret report");
                // The scanner sends it again later; nothing half-done stays.
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "try again later",
                );
            }
        }
    }
    (StatusCode::OK, Json(feedback)).into_response()
}
