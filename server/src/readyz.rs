//! `GET /readyz`: 200 when this node should take traffic, else 503 naming
//! what is not ready (see `portcullis_core::readiness`). No session, a few
//! cheap queries; `/healthz` stays the liveness probe.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::readiness::Readiness;

pub async fn readyz(State(readiness): State<Arc<Readiness>>) -> Response {
    let report = readiness.check().await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CACHE_CONTROL, "no-store")], Json(report)).into_response()
}
