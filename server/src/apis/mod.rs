//! Serving the reference resource servers (`portcullis-reference-apis`) of
//! `scopes.toml`, each behind its own gate fed from this process's change
//! feed, and the OpenAPI document describing them and the OAuth endpoints.

pub(crate) mod manage_doc;
mod openapi;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use portcullis_core::feed::gates::GateFeed;
use portcullis_core::{Catalogue, Clock, Issuer};
use portcullis_gate::Gate;
use portcullis_reference_apis::{operations, router, ApiState};

use crate::config::Config;
use crate::error::StartupError;

/// The reference APIs' own pool, their tables brought up to date. Run after
/// the issuer's migrations: on a database that predates the APIs' own
/// migrations, the issuer's 0004 made their tables, which theirs then find.
pub async fn open_database(config: &Config) -> Result<portcullis_reference_apis::Db, StartupError> {
    let url = config.apis_database_url();
    let db = portcullis_reference_apis::connect(url)
        .await
        .map_err(|source| StartupError::ApisDatabase {
            url: portcullis_core::db::redacted(url),
            source,
        })?;
    if let Err(e) = portcullis_reference_apis::migrate(&db).await {
        db.close().await;
        return Err(StartupError::ReferenceApis(e));
    }
    Ok(db)
}

/// Every API of the catalogue that has handlers, gated, at its base path;
/// plus `/openapi.json`.
pub fn routes(
    issuer: Arc<Issuer>,
    gate_feed: &Arc<GateFeed>,
    catalogue: &Catalogue,
    db: &portcullis_reference_apis::Db,
    clock: Arc<dyn Clock>,
    endpoints: &str,
    manage_state: crate::manage::ManageState,
) -> Router {
    let state = ApiState::new(db.clone(), clock.clone());
    let mut routes = Router::new();
    let mut documented = Vec::new();
    // The same gate an outside service runs, fed from this process's own
    // change feed instead of over HTTP.
    let gate_for = |api: &portcullis_core::catalogue::Api| {
        let mut builder = Gate::builder()
            .public_origin(endpoints)
            .expect(issuer.issuer(), issuer.audience(&api.base_path))
            .clock(clock.clone())
            .limiter(issuer.limiter().clone())
            .usage(issuer.usage().clone())
            .project_source(gate_feed.project_source(&api.id))
            .metrics_label("api", &api.id)
            .in_process();
        if let Some(nonces) = issuer.gate_dpop_nonces(&api.id) {
            builder = builder.dpop_nonces(nonces);
        }
        let gate = builder.build();
        gate_feed.attach_gate(&api.id, gate.clone());
        gate
    };
    for api in catalogue.apis() {
        if api.id == portcullis_core::manage::API_ID {
            let gate = gate_for(api);
            routes = routes.nest(
                &api.base_path,
                crate::manage::router(&gate, manage_state.clone()),
            );
            continue;
        }
        let Some(ops) = operations(&api.id) else {
            tracing::warn!(api = %api.id, "no reference handlers for this API; tokens are issued, nothing is served");
            continue;
        };
        let gate = gate_for(api);
        routes = routes.nest(&api.base_path, router(&ops, &gate, state.clone()));
        documented.push((api.clone(), ops.ops));
    }
    let document: Arc<str> = openapi::document(
        issuer.issuer(),
        endpoints,
        &documented,
        &manage_doc::Vocabulary::new(
            catalogue,
            manage_state.webhooks.targets(),
            manage_state.clients.key_targets(),
            issuer.issuer(),
        ),
    )
    .to_string()
    .into();
    routes.route(
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
