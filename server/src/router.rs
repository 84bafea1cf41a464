//! Builds the whole application from a `Config`: database, domain services,
//! console routes and the layers around them.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::{provide_page_context, AppState, SessionPolicy};
use app::{shell, App};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{middleware, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use portcullis_core::catalogue::SigningAlg;
use portcullis_core::db::Backend;
use portcullis_core::feed::gates::GateFeed;
use portcullis_core::feed::Feed;
use portcullis_core::gate_credentials::Gates;
use portcullis_core::gate_reach::GateReach;
use portcullis_core::keyring::Keyring;
use portcullis_core::limits::RateLimiter;
use portcullis_core::password::PasswordHasher;
use portcullis_core::registry::Registry;
use portcullis_core::shared_limits::SharedLimits;
use portcullis_core::throttle::{LoginThrottle, ThrottlePolicy};
use portcullis_core::webhooks::{Outbox, Webhooks};
use portcullis_core::{db, store, Accounts, Catalogue, Clients, Clock, Db, Issuer, Projects};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

use crate::apis;
use crate::background::Background;
use crate::config::Config;
use crate::error::StartupError;
use crate::gate_api::{self, GateApiState};
use crate::middleware::access;
use crate::middleware::compression;
use crate::middleware::csrf::{self, AllowedOrigin};
use crate::middleware::page_guard;
use crate::middleware::request_id;
use crate::middleware::security_headers::SecurityHeaders;
use crate::oauth;
use crate::sessions;
use portcullis_core::lifecycle::Lifecycle;
use portcullis_core::usage_totals::UsageTotals;

/// The app, ready to serve, the database it opened and the housekeeping
/// running beside it (stop it after serving to flush what is in memory).
pub struct Built {
    pub router: Router,
    pub db: Db,
    /// The reference APIs' own pool (on the same database unless
    /// `PORTCULLIS_APIS_DATABASE_URL` names another).
    pub apis_db: portcullis_reference_apis::Db,
    pub issuer: Arc<Issuer>,
    pub projects: Arc<Projects>,
    pub clients: Arc<Clients>,
    pub feed: Arc<Feed>,
    /// Gate credentials (the CLI and the staff console make them).
    pub gates: Arc<Gates>,
    /// What gates follow; in-process gates attach here.
    pub gate_feed: Arc<GateFeed>,
    /// Applies the change feed; runs while the server does.
    pub feed_task: tokio::task::JoinHandle<()>,
    /// What the metrics scrape reads (see [`crate::metrics`]).
    pub vitals: Arc<crate::metrics::Vitals>,
    /// Use summed over the cluster; the background flushes this node's.
    pub usage: Arc<UsageTotals>,
    /// Warnings before ends, dormant clients; the background sweeps.
    pub lifecycle: Arc<Lifecycle>,
    pub background: Background,
}

/// Console forms are small; a larger body is refused (413) before it is read.
const API_BODY_LIMIT: usize = 64 * 1024;

/// The name of the wasm, js and css under `pkg/` (scripts/build-site;
/// `LEPTOS_OUTPUT_NAME` in .cargo/config.toml).
const OUTPUT_NAME: &str = "portcullis";

/// The layers every request goes through, outermost first: the request id
/// (so it is on the span of everything the request does), the trace span,
/// the answer and body timeouts, the security headers. (The bench's
/// ungated server wears them too, so the share of throughput it puts on
/// the gate is the gate's alone.)
///
/// They wrap the whole router as one statically typed stack: `Router::layer`
/// would box each layer around every route again, and each request would
/// clone every box (issue 23).
pub fn outer_layers(router: Router, config: &Config) -> Result<Router, StartupError> {
    let request_timeout = Duration::from_secs(config.request_timeout_secs);
    let https = config.public_url()?.scheme() == "https";
    let stack = tower::ServiceBuilder::new()
        .layer(request_id::Trusted(config.trusted_proxies.clone().into()))
        .layer(TraceLayer::new_for_http())
        // A slow body or a slow answer ends in 408 instead of holding the
        // connection (the listener bounds the headers and idle time).
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(RequestBodyTimeoutLayer::new(request_timeout))
        .layer(SecurityHeaders { https })
        .service(router);
    Ok(Router::new().fallback_service(stack))
}

pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<Built, StartupError> {
    let public_url = config.public_url()?;
    let https = public_url.scheme() == "https";
    // `scheme://host[:port]`, as browsers send it in `Origin`.
    let public_origin = public_url.origin().ascii_serialization();
    let catalogue = Arc::new(Catalogue::load(&config.scopes)?.with_management()?);
    // Read at start-up: a broken key file stops the server, not a report.
    let report_keys = match &config.secret_report_keys {
        Some(path) => Some(portcullis_core::secret_reports::ReportKeys::load(path)?),
        None => None,
    };
    tracing::info!(
        apis = catalogue.apis().len(),
        scopes = catalogue.scope_names().count(),
        "scope catalogue loaded from {}",
        config.scopes.display()
    );

    let (db, apis_db) = apis::open_databases(config).await?;

    let master = Arc::new(config.master_key()?);
    let now = clock.now();
    let mut algs: Vec<SigningAlg> = catalogue.apis().iter().map(|a| a.signing_alg).collect();
    algs.sort_by_key(|a| a.as_str());
    algs.dedup();
    // The feed position first: every change after it is applied on top of
    // what is loaded next, so nothing committed meanwhile is missed.
    let applied = store::changes::latest(&db).await?;
    let keyring = Arc::new(Keyring::open(db.clone(), master.clone(), &algs, now).await?);
    let registry = Arc::new(Registry::load(&db, now).await?);
    let registry_for_metrics = registry.clone();
    let feed = Arc::new(Feed::new(
        db.clone(),
        registry.clone(),
        keyring.clone(),
        clock.clone(),
        applied,
    ));
    let listen = (Backend::of(&db) == Backend::Postgres).then(|| config.database_url.clone());
    let feed_task = tokio::spawn(feed.clone().run(listen));
    let readiness = Arc::new(portcullis_core::readiness::Readiness::new(
        feed.clone(),
        keyring.clone(),
        algs.clone(),
        clock.clone(),
    ));
    let shared_limits = match &config.redis_url {
        Some(url) if !url.is_empty() => {
            let shared = SharedLimits::connect(url, &config.issuer()?).await?;
            tracing::info!("limits shared through Redis at {}", db::redacted(url));
            Some(Arc::new(shared))
        }
        _ => None,
    };
    let limiter = match &shared_limits {
        Some(shared) => RateLimiter::shared(shared.buckets()),
        None => RateLimiter::local(),
    };
    let issuer = Arc::new(
        Issuer::new(
            config.issuer()?,
            catalogue.clone(),
            master.clone(),
            clock.clone(),
            feed.clone(),
            Arc::new(limiter),
        )
        .with_shared_limits(shared_limits.clone())
        .with_dpop_nonces(config.dpop_nonce)
        .with_gate_dpop_nonces(config.gate_dpop_nonce)
        .with_key_fetcher(Arc::new(
            crate::outbound::JwksFetcher::new(config.key_fetch_targets()).map_err(|e| {
                portcullis_core::Error::Setup(format!("an HTTP client for JWK Sets: {e}"))
            })?,
        )),
    );
    let gate_feed = GateFeed::attach_to(&feed, config.issuer()?, catalogue.clone());
    let gates = Arc::new(Gates::new(
        db.clone(),
        master.clone(),
        catalogue.clone(),
        clock.clone(),
    ));
    let reach = Arc::new(GateReach::new(db.clone(), clock.clone()));
    let projects = Arc::new(Projects::new(
        feed.clone(),
        catalogue.clone(),
        clock.clone(),
    ));
    let clients = Arc::new(
        Clients::new(
            feed.clone(),
            registry,
            catalogue.clone(),
            issuer.clone(),
            master.clone(),
            clock.clone(),
        )
        .with_key_targets(config.key_fetch_targets()),
    );
    // Failed client authentications per address: the token endpoint's and
    // the gate feed's brute-force guard.
    let client_failures = Arc::new(LoginThrottle::shared(
        ThrottlePolicy::default(),
        shared_limits.clone(),
    ));
    let usage = Arc::new(UsageTotals::new(
        db.clone(),
        issuer.usage().clone(),
        feed.registry().clone(),
        clock.clone(),
    ));
    let lifecycle = Arc::new(Lifecycle::new(db.clone(), feed.clone(), clock.clone()));
    let mut background = Background::start(
        db.clone(),
        issuer.clone(),
        clients.clone(),
        clock.clone(),
        client_failures.clone(),
        usage.clone(),
        lifecycle.clone(),
    );
    let webhooks = Arc::new(Webhooks::new(
        db.clone(),
        master.clone(),
        clock.clone(),
        config.webhook_targets(),
    ));
    // In-process gates forget revocations and refused clients that no
    // token can need any more (remote gates do the same as they follow).
    background.adopt(vec![tokio::spawn({
        let gate_feed = gate_feed.clone();
        async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                gate_feed.prune_gates();
            }
        }
    })]);
    background.adopt(crate::webhook_delivery::start(
        db.clone(),
        Arc::new(Outbox::new(db.clone(), master.clone(), clock.clone())),
        issuer.clone(),
        clock.clone(),
        config.webhook_targets(),
    ));
    let projects_handle = projects.clone();
    let clients_handle = clients.clone();
    let clients_for_reports = clients.clone();
    let clock_for_apis = clock.clone();
    let clock_for_metrics = clock.clone();

    let hasher = PasswordHasher::new(config.hash_concurrency as usize)?;
    let accounts = Accounts::new(
        db.clone(),
        hasher,
        LoginThrottle::shared(ThrottlePolicy::default(), shared_limits.clone()),
        master.clone(),
        clock,
    )
    .with_sign_ups_per_address(config.sign_ups_per_address);
    let accounts = Arc::new(accounts);

    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_addr(config.addr)
        .build();

    let manage_state = crate::manage::ManageState {
        projects: projects.clone(),
        clients: clients.clone(),
        accounts: accounts.clone(),
        webhooks: webhooks.clone(),
        usage: usage.clone(),
        lifecycle: lifecycle.clone(),
        request_timeout_secs: config.request_timeout_secs as i64,
    };
    let live = portcullis_core::feed::pages::ProjectLive::attach_to(&feed);
    let state = AppState {
        leptos_options: leptos_options.clone(),
        accounts: accounts.clone(),
        projects,
        clients,
        issuer: issuer.clone(),
        catalogue: catalogue.clone(),
        gates: gates.clone(),
        reach: reach.clone(),
        webhooks,
        usage: usage.clone(),
        lifecycle: lifecycle.clone(),
        live,
        public_base: public_url.as_str().trim_end_matches('/').into(),
        sessions: SessionPolicy {
            idle_secs: i64::from(config.session_idle_minutes) * 60,
            absolute_secs: i64::from(config.session_absolute_hours) * 3600,
        },
        trusted_proxies: config.trusted_proxies.clone().into(),
    };

    let page_context = {
        let state = state.clone();
        move || provide_page_context(state.clone())
    };
    let console = Router::new()
        // Downloads: behind the role table as the server functions are.
        .route("/api/audit_export", get(crate::evidence::console_audit))
        .route("/api/usage_export", get(crate::evidence::console_usage))
        .route("/api/project_live", get(crate::project_live::stream))
        // Also mounts every server function at /api/<name>, with this context.
        .leptos_routes_with_context(&state, generate_route_list(App), page_context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        // The bundle, with conditional requests (a 304 for an unchanged
        // file: the files go out `no-cache`, see security_headers). Leptos's
        // file handler would pass on only Accept-Encoding.
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(config.site_root.join("pkg")),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context, shell))
        // On the console only: the token endpoint and the gated APIs answer
        // JSON and skip even the check.
        .layer(compression::layer())
        .layer(RequestBodyLimitLayer::new(API_BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            page_guard::guard,
        ))
        // Before any server function reads its request.
        .layer(middleware::from_fn_with_state(state.clone(), access::guard))
        .layer(middleware::from_fn_with_state(
            AllowedOrigin(public_origin.into()),
            csrf::refuse_cross_site,
        ));
    let console = sessions::wrap(
        console,
        &config.database_url,
        sessions::CookiePolicy {
            secure: https,
            idle: Duration::from_secs(u64::from(config.session_idle_minutes) * 60),
        },
    )
    .await?
    .with_state(state);

    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(crate::readyz::readyz).with_state(readiness.clone()),
        )
        .merge(oauth::routes(
            issuer.clone(),
            &catalogue,
            public_url.as_str().trim_end_matches('/'),
            config.trusted_proxies.clone().into(),
            client_failures.clone(),
        ))
        .merge(oauth::secret_reports::routes(
            clients_for_reports,
            report_keys,
        ))
        .merge(gate_api::routes(GateApiState {
            issuer: issuer.clone(),
            gates: gates.clone(),
            feed: gate_feed.clone(),
            db: db.clone(),
            trusted_proxies: config.trusted_proxies.clone().into(),
            failures: client_failures.clone(),
            bounds: Default::default(),
            reach: reach.clone(),
            usage: usage.clone(),
        }))
        .merge(apis::routes(
            issuer.clone(),
            &gate_feed,
            &catalogue,
            &apis_db,
            clock_for_apis,
            public_url.as_str().trim_end_matches('/'),
            manage_state,
        ))
        .merge(console);
    let router = outer_layers(router, config)?;

    let vitals = Arc::new(crate::metrics::Vitals {
        db: db.clone(),
        apis_db: apis_db.clone(),
        readiness,
        registry: registry_for_metrics,
        client_failures,
        reach,
        clock: clock_for_metrics,
    });
    Ok(Built {
        router,
        vitals,
        db,
        apis_db,
        issuer,
        projects: projects_handle,
        clients: clients_handle,
        feed,
        gates,
        gate_feed,
        feed_task,
        usage,
        lifecycle,
        background,
    })
}
