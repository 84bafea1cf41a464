//! The reference resource servers of `scopes.toml`: the Partner API
//! (`/partner/v1`) and the Transactions API (`/caas/v1`), each its rules,
//! its storage and its handlers. They are resource servers like any other:
//! tokens are checked by the [`Gate`] handed in, through the same public
//! interface an outside service uses ([`Gate::layer`], [`scope`] per route,
//! [`Bearer`] in the handler). Only how the gate is fed differs: in the
//! Portcullis process it follows the change feed directly.
//!
//! [`scope`]: portcullis_gate::scope
//! [`Bearer`]: portcullis_gate::Bearer

pub mod builder;
pub mod caas;
pub mod contract;
mod error;
pub mod partner;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use portcullis_core::{Clock, Db};
use portcullis_gate::Gate;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;

pub use builder::{ApiRoutes, Doc, Operation, Verb};

/// JSON bodies of these APIs are small.
const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub partner: Arc<partner::Partner>,
    pub caas: Arc<caas::Caas>,
}

impl ApiState {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self {
            partner: Arc::new(partner::Partner::new(db.clone(), clock.clone())),
            caas: Arc::new(caas::Caas::new(db, clock)),
        }
    }
}

/// The operations we ship for an API id of the catalogue.
pub fn operations(api_id: &str) -> Option<ApiRoutes> {
    match api_id {
        "partner" => Some(partner::http::routes()),
        "caas" => Some(caas::http::routes()),
        _ => None,
    }
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            json!({ "error": "not_found", "message": "no such endpoint; see /openapi.json" }),
        ),
    )
}

/// One API's routes behind `gate`, to be nested at its base path.
pub fn router(ops: &ApiRoutes, gate: &Gate, state: ApiState) -> Router {
    ops.router
        .clone()
        .fallback(not_found)
        .layer(gate.layer())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .with_state(state)
}
