//! Serving the reference resource servers (`portcullis-reference-apis`) of
//! `scopes.toml`, each behind its own gate fed from this process's change
//! feed, and the OpenAPI document describing them and the OAuth endpoints.

pub(crate) mod manage_doc;
mod openapi;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use portcullis_core::db::{self, redacted, Backend};
use portcullis_core::feed::gates::GateFeed;
use portcullis_core::{Catalogue, Clock, Db, Issuer};
use portcullis_gate::Gate;
use portcullis_reference_apis::{operations, router, ApiState};

use crate::config::Config;
use crate::error::StartupError;

/// The issuer's pool and the reference APIs' own, both migrated. Both URLs
/// are read before either database is opened (a bad setting changes
/// nothing). The issuer's migrations run first: on a database that
/// predates the APIs' own migrations, the issuer's 0004 made their tables,
/// which theirs then find.
pub async fn open_databases(
    config: &Config,
) -> Result<(Db, portcullis_reference_apis::Db), StartupError> {
    Backend::of_url(&config.database_url)?;
    let apis_url = config.apis_database_url();
    let apis_failed = |source| StartupError::ApisDatabase {
        url: redacted(apis_url),
        source,
    };
    portcullis_reference_apis::db::check(apis_url).map_err(apis_failed)?;
    // PostgreSQL first, SQLite (which makes its file) last: a database
    // that cannot be reached then leaves nothing made. On a shared one the
    // issuer's failure is the one to report (it names DATABASE_URL).
    let apis_first = apis_url != config.database_url
        && Backend::of_url(apis_url)? == Backend::Postgres
        && Backend::of_url(&config.database_url)? == Backend::Sqlite;
    let (db, apis) = if apis_first {
        let apis = portcullis_reference_apis::connect(apis_url)
            .await
            .map_err(apis_failed)?;
        match db::connect(&config.database_url).await {
            Ok(db) => (db, apis),
            Err(e) => {
                apis.close().await;
                return Err(e.into());
            }
        }
    } else {
        let db = db::connect(&config.database_url).await?;
        match portcullis_reference_apis::connect(apis_url).await {
            Ok(apis) => (db, apis),
            Err(e) => {
                db.close().await;
                return Err(apis_failed(e));
            }
        }
    };
    let migrated = async {
        db::migrate(&db).await?;
        portcullis_reference_apis::migrate(&apis)
            .await
            .map_err(StartupError::ReferenceApis)
    };
    if let Err(e) = migrated.await {
        db.close().await;
        apis.close().await;
        return Err(e);
    }
    Ok((db, apis))
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
