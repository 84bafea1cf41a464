//! The management API (`/manage/v1`): an account's automation, on our own
//! tokens. Each route names its `manage:*` scope and sits behind the same
//! gate as every API; each handler is a thin shell over the same domain
//! functions the console's server functions call, acting as the management
//! client (a developer of the token's own account).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::MethodRouter;
use axum::Router;
use portcullis_core::{access, manage, Accounts, Clients, Principal, Projects};
use portcullis_gate::{scope, Bearer, Gate};

#[derive(Clone)]
pub struct ManageState {
    pub projects: Arc<Projects>,
    pub clients: Arc<Clients>,
    pub accounts: Arc<Accounts>,
    pub webhooks: Arc<portcullis_core::webhooks::Webhooks>,
    pub usage: Arc<portcullis_core::usage_totals::UsageTotals>,
    pub lifecycle: Arc<portcullis_core::lifecycle::Lifecycle>,
    /// How long a request may run: an unsettled idempotency key is free
    /// again a little after it.
    pub request_timeout_secs: i64,
}

/// The scope no token has: an operation missing from the role table
/// refuses every caller.
const UNLISTED: &str = "manage:(not in the role table)";

/// One operation: its handler behind the scope the role table gives it
/// (checked first, before anything is read or replayed) and, for a write,
/// the idempotency layer inside that.
fn op<H, T>(
    method: &'static str,
    path: &'static str,
    handler: H,
    s: &ManageState,
) -> MethodRouter<ManageState>
where
    H: axum::handler::Handler<T, ManageState>,
    T: 'static,
{
    use axum::handler::Handler;
    let needs = scope(access::table::manage_scope(method, path).unwrap_or(UNLISTED));
    match method {
        "GET" => axum::routing::get(handler.layer(needs)),
        "DELETE" => axum::routing::delete(handler.layer(needs)),
        _ => axum::routing::post(
            handler
                .layer(axum::middleware::from_fn_with_state(s.clone(), idempotent))
                .layer(needs),
        ),
    }
}

/// The routes, behind `gate`, to be nested at `/manage/v1`: every entry
/// of [`operations`]. Who may call each is [`access::table::MANAGE`].
pub fn router(gate: &Gate, state: ManageState) -> Router {
    operations::operations()
        .iter()
        .fold(Router::new(), |router, o| {
            router.route(o.path, (o.route)(&state))
        })
        .fallback(|| async {
            refuse(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see /openapi.json",
                None,
            )
        })
        .layer(axum::middleware::from_fn(
            portcullis_contract::only_possible_ids,
        ))
        .layer(gate.layer())
        .with_state(state)
}

mod account;
pub(crate) mod answers;
pub(crate) mod bodies;
mod clients;
mod errors;
mod idempotency;
pub(crate) mod operations;
mod projects;
mod webhooks;

use errors::{named, refuse};
pub(super) use errors::{Answer, ManageError};
use idempotency::idempotent;

/// Management requests and answers are small.
const BODY_MAX: usize = 256 * 1024;

/// The principal the token acts as; its account is the token's own.
pub(super) fn who(b: &Bearer) -> Principal {
    manage::principal(&b.claims, None)
}
