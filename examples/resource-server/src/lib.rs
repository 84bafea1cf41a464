//! A small partner API protected by the Portcullis gate, as a partner's
//! engineer would write one: three routes, each naming the scope it needs;
//! the one that moves money also takes only DPoP-bound tokens (RFC 9449),
//! so a token copied from a log cannot call it.
//! The gate follows a running Portcullis (its keys and its revocation feed)
//! with a gate credential; a call without a good token, or without the
//! route's scope, never reaches a handler.

use std::net::SocketAddr;
use std::time::Duration;

use axum::handler::Handler;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use portcullis_gate::remote::{self, Credential, Following, Settings};
use portcullis_gate::{dpop_only, scope, Bearer, Gate, OnStale};
use serde_json::{json, Value};

/// How to reach Portcullis and where to listen.
#[derive(clap::Parser, Debug, Clone)]
#[command(about = "An example resource server behind the Portcullis gate")]
pub struct Args {
    /// Where Portcullis is reached, e.g. https://auth.example.com.
    #[arg(long, env = "PORTCULLIS_ISSUER_URL")]
    pub issuer: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The gate credential's id (made in the support console).
    #[arg(long, env = "GATE_CLIENT_ID")]
    pub gate_client_id: String,
    /// Its secret: from the environment only, never the command line.
    #[arg(skip)]
    pub gate_client_secret: String,
    /// The URL clients call this service at (its scheme and host), behind
    /// a proxy: what DPoP proofs must name. Without it, the request's
    /// Host header is used.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// The routes: the scope each needs sits on its own line.
pub fn app(gate: &Gate) -> Router {
    Router::new()
        .route(
            "/orders",
            get(list_orders.layer(scope("applications:read"))),
        )
        .route(
            "/orders",
            post(create_order.layer(scope("applications:write"))),
        )
        .route(
            "/payouts",
            post(
                create_payout
                    .layer(scope("applications:write"))
                    .layer(dpop_only()),
            ),
        )
        .layer(gate.layer())
}

async fn list_orders(Extension(caller): Extension<Bearer>) -> Json<Value> {
    // The gate vouches for the caller: its project is the tenant boundary.
    Json(json!({ "project_id": caller.project_id(), "orders": [] }))
}

async fn create_order(
    Extension(caller): Extension<Bearer>,
) -> (axum::http::StatusCode, Json<Value>) {
    (
        axum::http::StatusCode::CREATED,
        Json(json!({ "created_by": caller.client_id() })),
    )
}

async fn create_payout(
    Extension(caller): Extension<Bearer>,
) -> (axum::http::StatusCode, Json<Value>) {
    (
        axum::http::StatusCode::CREATED,
        Json(json!({ "paid_by": caller.client_id(), "key_bound": true })),
    )
}

/// Follows Portcullis and serves until `shutdown` resolves.
pub async fn serve(
    args: Args,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let settings = Settings {
        issuer_url: args.issuer,
        credential: Credential::new(args.gate_client_id, args.gate_client_secret),
        // Refuse (503) once Portcullis has been unreachable for a minute.
        stale_after: Duration::from_secs(60),
        on_stale: OnStale::FailClosed,
    };
    let builder = match &args.public_url {
        Some(url) => Gate::builder().public_origin(url),
        None => Gate::builder(),
    };
    let (gate, _following): (Gate, Following) =
        remote::follow(settings, builder).map_err(|e| e.to_string())?;
    axum::serve(listener, app(&gate))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| e.to_string())
}
