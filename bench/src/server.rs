//! The server under test, in this process on its own runtime, and the
//! gate-less copy of the Partner API used to price the gate.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::{Extension, Router};
use portcullis_core::feed::gates::GateFeed;
use portcullis_core::gate_credentials::Gates;
use portcullis_core::{Db, Issuer, SystemClock};
use portcullis_gate::{Bearer, Gate};
use portcullis_reference_apis::{operations, ApiState};
use portcullis_server::{build, Config};
use tokio::runtime::Runtime;

pub struct Servers {
    pub gated: SocketAddr,
    runtime: Runtime,
    issuer: Arc<Issuer>,
    gates: Arc<Gates>,
    gate_feed: Arc<GateFeed>,
    db: Db,
    /// The reference APIs' own pool, which the ungated handler uses too.
    apis_db: portcullis_reference_apis::Db,
    /// The gated server's settings (its outer layers, for the ungated one).
    config: Config,
    _dir: tempfile::TempDir,
}

#[derive(clap::Parser)]
struct Settings {
    #[command(flatten)]
    config: Config,
}

/// Where the server under test keeps its data.
#[derive(Clone, Default)]
pub struct Storage {
    /// None: a SQLite file in a temporary folder.
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
}

/// `site_root` is the built console (`target/site` after the release build).
pub fn start(site_root: &std::path::Path, storage: &Storage) -> Result<Servers, String> {
    use clap::Parser;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut args = vec![
        "portcullis".to_owned(),
        format!(
            "--database-url={}",
            storage
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()))
        ),
        format!("--master-key-file={}/master.key", dir.path().display()),
        format!("--site-root={}", site_root.display()),
        // Empty: the reference APIs on the bench's database.
        "--apis-database-url=".to_owned(),
    ];
    if let Some(redis) = &storage.redis_url {
        args.push(format!("--redis-url={redis}"));
    }
    let settings = Settings::try_parse_from(args).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (gated, issuer, db, apis_db, gates, gate_feed, config) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut config = settings.config;
        config.addr = addr;
        let built = build(&config, Arc::new(SystemClock))
            .await
            .map_err(|e| e.to_string())?;
        let (issuer, db, apis_db) = (
            built.issuer.clone(),
            built.db.clone(),
            built.apis_db.clone(),
        );
        let (gates, gate_feed) = (built.gates.clone(), built.gate_feed.clone());
        // The production listener (its timeouts and connection cap), as
        // `portcullis serve` runs it: what is measured is what is served.
        let limits = config.listen_limits();
        tokio::spawn(async move {
            let stop = std::future::pending();
            if let Err(e) =
                portcullis_server::listen::serve(listener, built.router, limits, stop).await
            {
                eprintln!("bench: server stopped: {e}");
            }
        });
        Ok::<_, String>((addr, issuer, db, apis_db, gates, gate_feed, config))
    })?;
    Ok(Servers {
        gated,
        runtime,
        issuer,
        gates,
        gate_feed,
        db,
        apis_db,
        config,
        _dir: dir,
    })
}

impl Servers {
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs `f` on the server's runtime (from outside any runtime).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// A gate credential for `api`: (id, secret).
    pub async fn gate_credential(&self, api: &str) -> Result<(String, String), String> {
        let gates = self.gates.clone();
        let api = api.to_owned();
        self.runtime
            .spawn(async move { gates.create(&api, "bench", "bench").await })
            .await
            .map_err(|e| e.to_string())?
            .map(|(g, secret)| (g.id, secret.expose().to_owned()))
            .map_err(|e| e.to_string())
    }

    /// A gate for `api` fed from this server's change feed, as the
    /// reference APIs' gates are.
    pub fn in_process_gate(&self, api: &str) -> Result<Gate, String> {
        let issuer = self.issuer.issuer().to_owned();
        let audience = self
            .gate_feed
            .audience(api)
            .ok_or_else(|| format!("no API {api}"))?;
        let gate = Gate::builder()
            .expect(issuer, audience)
            .project_source(self.gate_feed.project_source(api))
            .in_process()
            .build();
        self.gate_feed.attach_gate(api, gate.clone());
        Ok(gate)
    }

    /// The claims of a token, as a gate would find them.
    pub fn claims(&self, token: &str) -> Result<portcullis_gate::Claims, String> {
        self.issuer
            .check(token)
            .map(|c| (*c).clone())
            .map_err(|e| format!("the bench token does not check: {e}"))
    }

    /// The Partner API's handlers behind no gate: the token's claims are
    /// attached to every request as if the gate had admitted it.
    pub fn serve_ungated(&self, token: &str) -> Result<SocketAddr, String> {
        let claims = self
            .issuer
            .check(token)
            .map_err(|e| format!("the bench token does not check: {e}"))?;
        let state = ApiState::new(self.apis_db.clone(), Arc::new(SystemClock));
        let ops = operations("partner").ok_or("no partner operations")?;
        // The gated server's outer layers too: only the gate differs.
        let router = portcullis_server::router::outer_layers(
            Router::new().nest(
                "/partner/v1",
                ops.router
                    .layer(Extension(Bearer::from_claims((*claims).clone())))
                    .with_state(state),
            ),
            &self.config,
        )
        .map_err(|e| e.to_string())?;
        let limits = self.config.listen_limits();
        // Called from the load generator's runtime: bind here, serve there.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
        self.runtime.spawn(async move {
            match tokio::net::TcpListener::from_std(std_listener) {
                Ok(listener) => {
                    let stop = std::future::pending();
                    if let Err(e) =
                        portcullis_server::listen::serve(listener, router, limits, stop).await
                    {
                        eprintln!("bench: ungated server stopped: {e}");
                    }
                }
                Err(e) => eprintln!("bench: ungated listener: {e}"),
            }
        });
        Ok(addr)
    }
}
