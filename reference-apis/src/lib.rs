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
pub mod contract;
mod error;
pub mod partner;
pub mod transactions;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use portcullis_core::{Clock, Db};
use portcullis_gate::Gate;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;

pub use builder::{ApiRoutes, Doc, Operation, Verb};
/// JSON body and query extractors whose refusals are JSON in the APIs'
/// error format (the management API uses them too).
pub use error::{Body, Params};

/// JSON bodies of these APIs are small.
const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub partner: Arc<partner::Partner>,
    pub transactions: Arc<transactions::Transactions>,
}

impl ApiState {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self {
            partner: Arc::new(partner::Partner::new(db.clone(), clock.clone())),
            transactions: Arc::new(transactions::Transactions::new(db, clock)),
        }
    }
}

/// The operations we ship for an API id of the catalogue.
pub fn operations(api_id: &str) -> Option<ApiRoutes> {
    match api_id {
        "partner" => Some(partner::http::routes()),
        // The Transactions API keeps its catalogue id, path and scopes.
        "caas" => Some(transactions::http::routes()),
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

/// A path that does not decode to text without NUL names nothing that can
/// exist (PostgreSQL text cannot even hold a NUL): 404 in our format,
/// before any handler or query sees it.
pub async fn only_possible_ids(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let decodes = percent_decode(req.uri().path()).is_some_and(|p| !p.contains('\0'));
    if decodes {
        next.run(req).await
    } else {
        not_found().await.into_response()
    }
}

/// The path as axum's `Path` decodes it; `None` when it is not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
}

/// One API's routes behind `gate`, to be nested at its base path.
pub fn router(ops: &ApiRoutes, gate: &Gate, state: ApiState) -> Router {
    ops.router
        .clone()
        .fallback(not_found)
        .layer(axum::middleware::from_fn(only_possible_ids))
        .layer(gate.layer())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn paths_decode_or_name_nothing() {
        assert_eq!(percent_decode("/a%20b/%C3%A9").as_deref(), Some("/a b/é"));
        assert_eq!(percent_decode("/x%00y").as_deref(), Some("/x\0y"));
        assert_eq!(percent_decode("/%F2%90"), None, "cut UTF-8");
        assert_eq!(percent_decode("/%FF").as_deref(), None, "not UTF-8");
    }
}
