//! The server under test, in this process on its own runtime, and the
//! gate-less copy of the Partner API used to price the gate.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::{Extension, Router};
use portcullis_core::caas::Caas;
use portcullis_core::partner::Partner;
use portcullis_core::{Clock, Db, Issuer, SystemClock};
use portcullis_gate::Bearer;
use portcullis_server::apis::{operations, ApiState};
use portcullis_server::{build, Config};
use tokio::runtime::Runtime;

pub struct Servers {
    pub gated: SocketAddr,
    runtime: Runtime,
    issuer: Arc<Issuer>,
    db: Db,
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
        "--log=warn".to_owned(),
    ];
    if let Some(redis) = &storage.redis_url {
        args.push(format!("--redis-url={redis}"));
    }
    let settings = Settings::try_parse_from(args).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (gated, issuer, db) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut config = settings.config;
        config.addr = addr;
        let built = build(&config, Arc::new(SystemClock))
            .await
            .map_err(|e| e.to_string())?;
        let (issuer, db) = (built.issuer.clone(), built.db.clone());
        tokio::spawn(async move {
            let app = built
                .router
                .into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("bench: server stopped: {e}");
            }
        });
        Ok::<_, String>((addr, issuer, db))
    })?;
    Ok(Servers {
        gated,
        runtime,
        issuer,
        db,
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

    /// The Partner API's handlers behind no gate: the token's claims are
    /// attached to every request as if the gate had admitted it.
    pub fn serve_ungated(&self, token: &str) -> Result<SocketAddr, String> {
        let claims = self
            .issuer
            .check(token)
            .map_err(|e| format!("the bench token does not check: {e}"))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let state = ApiState {
            partner: Arc::new(Partner::new(self.db.clone(), clock.clone())),
            caas: Arc::new(Caas::new(self.db.clone(), clock)),
        };
        let ops = operations("partner").ok_or("no partner operations")?;
        let router = Router::new().nest(
            "/partner/v1",
            ops.router
                .layer(Extension(Bearer::from_claims((*claims).clone())))
                .with_state(state),
        );
        // Called from the load generator's runtime: bind here, serve there.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
        self.runtime.spawn(async move {
            match tokio::net::TcpListener::from_std(std_listener) {
                Ok(listener) => {
                    if let Err(e) = axum::serve(listener, router).await {
                        eprintln!("bench: ungated server stopped: {e}");
                    }
                }
                Err(e) => eprintln!("bench: ungated listener: {e}"),
            }
        });
        Ok(addr)
    }
}
