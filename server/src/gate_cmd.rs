//! `portcullis gate`: the gate as a forward-auth service beside a reverse
//! proxy (nginx `auth_request`, Traefik ForwardAuth, Envoy `ext_authz`), for
//! resource servers in any language. It follows the issuer's gate feed with
//! a gate credential and needs no database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use portcullis_gate::dpop_nonce::DpopNonces;
use portcullis_gate::forward_auth::{self, Routes};
use portcullis_gate::limits::{RateLimiter, SharedBuckets};
use portcullis_gate::remote::{self, Credential, Settings};
use portcullis_gate::{Gate, OnStale};

use crate::error::StartupError;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Refuse every call with 503 until the feed is back.
    FailClosed,
    /// Ask the issuer about each token (one round trip per call).
    Introspect,
}

#[derive(clap::Args, Debug, Clone)]
pub struct GateArgs {
    /// Where Portcullis is reached, e.g. https://auth.example.com.
    #[arg(long, env = "PORTCULLIS_GATE_ISSUER")]
    pub issuer: url::Url,

    /// Address the forward-auth service listens on.
    #[arg(long, env = "PORTCULLIS_GATE_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,

    /// The routes file: TOML `[[route]]` tables with method, path and scope.
    #[arg(long, env = "PORTCULLIS_GATE_ROUTES")]
    pub routes: PathBuf,

    /// The gate credential's id (`portcullis gates add`). Its secret is read
    /// from GATE_CLIENT_SECRET only, never from the command line.
    #[arg(long, env = "GATE_CLIENT_ID")]
    pub client_id: String,

    /// Seconds the issuer's feed may be silent before --on-stale applies.
    #[arg(long, env = "PORTCULLIS_GATE_STALE_AFTER", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(2..=86_400))]
    pub stale_after: u64,

    /// What to do once the feed has been silent for --stale-after seconds.
    #[arg(long, env = "PORTCULLIS_GATE_ON_STALE", value_enum, default_value_t = Stale::FailClosed)]
    pub on_stale: Stale,

    /// Without Redis: how many gate replicas share the API's traffic (each
    /// takes that share of every project's rate).
    #[arg(long, env = "PORTCULLIS_GATE_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub replicas: u32,

    /// The origin clients call the protected API at (e.g.
    /// https://api.example.com), which DPoP proofs name. Unset: taken from
    /// the proxy's X-Forwarded-Proto and X-Forwarded-Host headers.
    #[arg(long, env = "PORTCULLIS_GATE_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// Where Prometheus scrapes this gate's `GET /metrics` (its decisions,
    /// labelled with the gate credential's id), on a listener of its own.
    /// Unset: PORTCULLIS_METRICS_ADDR, else none.
    #[arg(long, env = "PORTCULLIS_GATE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

/// Runs the forward-auth service until Ctrl-C or SIGTERM.
pub async fn run(
    args: &GateArgs,
    metrics_addr: Option<SocketAddr>,
    redis_url: Option<&str>,
    dpop_nonce: bool,
    limits: crate::listen::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let secret = std::env::var("GATE_CLIENT_SECRET").map_err(|_| {
        StartupError::Config(
            "set GATE_CLIENT_SECRET to the gate credential's secret (shown once by `portcullis gates add`)".into(),
        )
    })?;
    // Keyed from the credential's secret, which only its replicas hold.
    let nonces = dpop_nonce.then(|| DpopNonces::new(secret.as_bytes(), "gate-dpop-nonce"));
    let routes = Routes::load(&args.routes).map_err(|e| StartupError::Config(e.to_string()))?;
    let limiter = match redis_url.filter(|u| !u.is_empty()) {
        Some(url) => {
            let buckets = SharedBuckets::connect(url).await.map_err(|e| {
                StartupError::Config(format!(
                    "PORTCULLIS_REDIS_URL: cannot use Redis at {}: {e}",
                    portcullis_core::db::redacted(url)
                ))
            })?;
            RateLimiter::shared(Arc::new(buckets))
        }
        None => RateLimiter::local(),
    };
    limiter.set_nodes(args.replicas);
    let settings = Settings {
        issuer_url: args.issuer.as_str().to_owned(),
        credential: Credential::new(args.client_id.clone(), secret),
        stale_after: Duration::from_secs(args.stale_after),
        on_stale: match args.on_stale {
            Stale::FailClosed => OnStale::FailClosed,
            Stale::Introspect => OnStale::Introspect,
        },
    };
    // Before the gate makes its counter handles.
    let metrics = match args.metrics_listen.or(metrics_addr) {
        Some(addr) => Some((addr, crate::metrics::install()?)),
        None => None,
    };
    let mut builder = Gate::builder()
        .limiter(Arc::new(limiter))
        .metrics_label("gate", &args.client_id);
    if let Some(nonces) = nonces {
        builder = builder.dpop_nonces(nonces);
    }
    if let Some(url) = &args.public_url {
        builder = builder.public_origin(url.origin().ascii_serialization().as_str());
    }
    let (gate, _following) =
        remote::follow(settings, builder).map_err(|e| StartupError::Config(e.to_string()))?;
    if let Some((addr, handle)) = metrics {
        // Its own shutdown: the process ends with the main listener.
        crate::metrics::serve(
            addr,
            crate::metrics::router(handle, None),
            std::future::pending(),
        )
        .await?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(
        "Portcullis gate on http://{} ({} routes) following {}",
        args.listen,
        routes.len(),
        args.issuer
    );
    crate::listen::serve(
        listener,
        forward_auth::router(gate, routes),
        limits,
        shutdown,
    )
    .await?;
    Ok(())
}
