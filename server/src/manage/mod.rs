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

/// The routes, behind `gate`, to be nested at `/manage/v1`. Who may call
/// each is [`access::table::MANAGE`].
// One operation per line: path, then each verb with its handler.
#[rustfmt::skip]
pub fn router(gate: &Gate, state: ManageState) -> Router {
    let s = &state;
    Router::new()
        .route("/projects", op("GET", "/projects", list_projects, s).merge(op("POST", "/projects", create_project, s)))
        .route("/projects/{id}", op("GET", "/projects/{id}", read_project, s).merge(op("POST", "/projects/{id}", update_project, s)))
        .route("/projects/{id}/archive", op("POST", "/projects/{id}/archive", archive_project, s))
        .route("/projects/{id}/rate-limit", op("POST", "/projects/{id}/rate-limit", rate_limit, s))
        .route("/projects/{id}/keys-only", op("POST", "/projects/{id}/keys-only", keys_only, s))
        .route("/projects/{id}/usage", op("GET", "/projects/{id}/usage", usage, s))
        .route("/projects/{id}/dormancy", op("POST", "/projects/{id}/dormancy", dormancy, s))
        .route("/projects/{id}/quota", op("POST", "/projects/{id}/quota", quota, s))
        .route("/projects/{id}/clients", op("POST", "/projects/{id}/clients", create_client, s))
        .route("/clients/{id}", op("DELETE", "/clients/{id}", delete_client, s))
        .route("/clients/{id}/narrow", op("POST", "/clients/{id}/narrow", narrow_client, s))
        .route("/clients/{id}/keys", op("POST", "/clients/{id}/keys", set_client_keys, s))
        .route("/clients/{id}/workload", op("POST", "/clients/{id}/workload", set_client_workload, s))
        .route("/clients/{id}/rotate", op("POST", "/clients/{id}/rotate", rotate_client, s))
        .route("/clients/{id}/retire", op("POST", "/clients/{id}/retire", retire_client, s))
        .route("/clients/{id}/keep", op("POST", "/clients/{id}/keep", keep_client, s))
        .route("/audit", op("GET", "/audit", audit_log, s))
        .route("/audit/export", op("GET", "/audit/export", audit_export, s))
        .route("/usage/export", op("GET", "/usage/export", usage_export, s))
        .route("/members", op("GET", "/members", members, s))
        .route("/webhooks", op("GET", "/webhooks", webhooks::list, s).merge(op("POST", "/webhooks", webhooks::create, s)))
        .route("/webhooks/{id}", op("GET", "/webhooks/{id}", webhooks::read, s).merge(op("POST", "/webhooks/{id}", webhooks::update, s)).merge(op("DELETE", "/webhooks/{id}", webhooks::delete, s)))
        .route("/webhooks/{id}/enable", op("POST", "/webhooks/{id}/enable", webhooks::enable, s))
        .route("/webhooks/{id}/disable", op("POST", "/webhooks/{id}/disable", webhooks::disable, s))
        .route("/webhooks/{id}/deliveries", op("GET", "/webhooks/{id}/deliveries", webhooks::deliveries, s))
        .route("/webhooks/{id}/deliveries/{message_id}/resend", op("POST", "/webhooks/{id}/deliveries/{message_id}/resend", webhooks::resend, s))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /openapi.json", None) })
        .layer(axum::middleware::from_fn(portcullis_reference_apis::only_possible_ids))
        .layer(gate.layer())
        .with_state(state)
}

mod account;
pub(crate) mod answers;
pub(crate) mod bodies;
mod clients;
mod errors;
mod idempotency;
mod projects;
mod webhooks;

use account::{audit_export, audit_log, members, usage_export};
use clients::{
    create_client, delete_client, keep_client, narrow_client, retire_client, rotate_client,
    set_client_keys, set_client_workload,
};
use errors::{named, refuse};
pub(super) use errors::{Answer, ManageError};
use idempotency::idempotent;
use projects::{
    archive_project, create_project, dormancy, keys_only, list_projects, quota, rate_limit,
    read_project, update_project, usage,
};

/// Management requests and answers are small.
const BODY_MAX: usize = 256 * 1024;

/// The principal the token acts as; its account is the token's own.
pub(super) fn who(b: &Bearer) -> Principal {
    manage::principal(&b.claims, None)
}
