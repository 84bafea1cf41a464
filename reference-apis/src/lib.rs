//! The reference resource servers of `scopes.toml`: the Partner API
//! (`/partner/v1`) and the Transactions API (`/caas/v1`), each its rules,
//! its storage and its handlers. They are resource servers like any other:
//! tokens are checked by the [`Gate`] handed in, through the same public
//! interface an outside service uses ([`Gate::layer`], [`scope`] per route,
//! [`Bearer`] in the handler). Only how the gate is fed differs: in the
//! Portcullis process it follows the change feed directly.
//!
//! Of Portcullis they use only the gate and `portcullis-contract` (field
//! rules, operations, error answers; `make test` checks with `cargo tree`
//! that the issuer's domain stays out). Their storage is a pool of their
//! own ([`connect`]: the issuer's database or another) with their own
//! migrations ([`migrate`], after the issuer's when the database is
//! shared).
//!
//! [`scope`]: portcullis_gate::scope
//! [`Bearer`]: portcullis_gate::Bearer

pub mod db;
mod error;
mod ids;
pub mod partner;
pub mod transactions;

use std::sync::Arc;

use axum::Router;
use portcullis_contract::{not_found, only_possible_ids, ApiRoutes};
use portcullis_gate::clock::Clock;
use portcullis_gate::Gate;
use tower_http::limit::RequestBodyLimitLayer;

pub use db::{connect, migrate, Db};
pub use error::Error;

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
pub fn operations(api_id: &str) -> Option<ApiRoutes<ApiState>> {
    match api_id {
        "partner" => Some(partner::http::routes()),
        // The Transactions API keeps its catalogue id, path and scopes.
        "caas" => Some(transactions::http::routes()),
        _ => None,
    }
}

/// One API's routes behind `gate`, to be nested at its base path.
pub fn router(ops: &ApiRoutes<ApiState>, gate: &Gate, state: ApiState) -> Router {
    ops.router
        .clone()
        .fallback(not_found)
        .layer(axum::middleware::from_fn(only_possible_ids))
        .layer(gate.layer())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .with_state(state)
}
