//! The reference resource servers: the Partner API and the Transactions
//! API of `scopes.toml`, each behind the bearer gate, and the OpenAPI
//! document describing them and the OAuth endpoints.

mod builder;
mod caas;
mod error;
mod openapi;
mod partner;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use portcullis_core::caas::Caas;
use portcullis_core::gate_feed::GateFeed;
use portcullis_core::partner::Partner;
use portcullis_core::{Catalogue, Clock, Db, Issuer};
use portcullis_gate::Gate;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;

pub use builder::{ApiRoutes, Operation};

const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub partner: Arc<Partner>,
    pub caas: Arc<Caas>,
}

/// The handlers we ship for an API id of the catalogue.
pub fn operations(api_id: &str) -> Option<ApiRoutes> {
    match api_id {
        "partner" => Some(partner::routes()),
        "caas" => Some(caas::routes()),
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

/// Every API of the catalogue that has handlers, gated, at its base path;
/// plus `/openapi.json`.
pub fn routes(
    issuer: Arc<Issuer>,
    gate_feed: &GateFeed,
    catalogue: &Catalogue,
    db: &Db,
    clock: Arc<dyn Clock>,
    endpoints: &str,
) -> Router {
    let state = ApiState {
        partner: Arc::new(Partner::new(db.clone(), clock.clone())),
        caas: Arc::new(Caas::new(db.clone(), clock.clone())),
    };
    let mut router = Router::new();
    let mut documented = Vec::new();
    for api in catalogue.apis() {
        let Some(ops) = operations(&api.id) else {
            tracing::warn!(api = %api.id, "no reference handlers for this API; tokens are issued, nothing is served");
            continue;
        };
        // The same gate an outside service runs, fed from this process's
        // own change feed instead of over HTTP.
        let gate = Gate::builder()
            .expect(issuer.issuer(), issuer.audience(&api.base_path))
            .clock(clock.clone())
            .limiter(issuer.limiter().clone())
            .in_process()
            .build();
        gate_feed.attach_gate(&api.id, gate.clone());
        router = router.nest(
            &api.base_path,
            ops.router
                .clone()
                .fallback(not_found)
                .layer(gate.layer())
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
                .with_state(state.clone()),
        );
        documented.push((api.clone(), ops.ops));
    }
    let document: Arc<str> = openapi::document(issuer.issuer(), endpoints, &documented)
        .to_string()
        .into();
    router.route(
        "/openapi.json",
        get(move || {
            let document = document.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    document.to_string(),
                )
            }
        }),
    )
}
