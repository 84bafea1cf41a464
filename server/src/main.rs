//! `portcullis`: serve the console and APIs, or run the migrations.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use portcullis_core::catalogue::SigningAlg;
use portcullis_core::gate_credentials::Gates;
use portcullis_core::keyring::{Keyring, PUBLISH_LEAD_SECS};
use portcullis_core::password::PasswordHasher;
use portcullis_core::throttle::{LoginThrottle, ThrottlePolicy};
use portcullis_core::{db, Accounts, Catalogue, Clock, Password, SystemClock};
use portcullis_server::config::LogFormat;
use portcullis_server::gate_cmd::{self, GateArgs};
use portcullis_server::{build, Config, StartupError};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Portcullis: an OAuth 2.0 client-credentials authorization server with a multi-tenant console.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the console and APIs (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Manage the keys that sign access tokens.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage support staff (platform users who belong to no account).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Manage gate credentials: what a resource server's gate in another
    /// process uses to follow one API's revocation feed.
    Gates {
        #[command(subcommand)]
        command: GatesCommand,
    },
    /// Run a gate as a forward-auth service for a reverse proxy (nginx
    /// auth_request, Traefik ForwardAuth, Envoy ext_authz). Needs no
    /// database: it follows Portcullis over HTTP.
    Gate(Box<GateArgs>),
}

#[derive(Subcommand)]
enum GatesCommand {
    /// Make a gate credential for one API of the scope catalogue; its secret
    /// is printed once.
    Add {
        /// The API id in the scope catalogue (e.g. partner).
        #[arg(long)]
        api: String,
        /// Where the gate runs or what it guards, for people.
        #[arg(long)]
        name: String,
    },
    /// List gate credentials (never their secrets).
    List,
    /// Revoke a gate credential: its gates lose the feed and fail closed.
    Revoke {
        /// The credential's id (gate_…).
        id: String,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member; the password (12-128 characters) is read from
    /// standard input, one line, never from the command line.
    Add {
        /// Their email, used to sign in at the usual log-in page.
        email: String,
    },
    /// Set a staff member's password (read from standard input, one line);
    /// every session of theirs ends.
    ResetPassword { email: String },
    /// Remove a staff member's second factor (lost phone and recovery
    /// codes); they set a new one up at their next sign-in.
    ResetSecondFactor { email: String },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key for each algorithm in use. It is published at
    /// once and signs after 5 minutes; the old key stays published until
    /// its tokens have expired. Running servers pick it up within a minute.
    Rotate,
}

fn main() -> ExitCode {
    // Before any thread starts (its options are not thread-safe).
    portcullis_server::configure_allocator();
    let cli = Cli::parse();
    let traces = init_telemetry(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portcullis: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(&cli.config).await,
            Command::Migrate => migrate(&cli.config).await,
            Command::Keys {
                command: KeysCommand::Rotate,
            } => rotate_keys(&cli.config).await,
            Command::Staff { command } => staff(&cli.config, command).await,
            Command::Gates { command } => gates(&cli.config, command).await,
            Command::Gate(args) => {
                gate_cmd::run(
                    &args,
                    cli.config.metrics_addr.0,
                    cli.config.redis_url.as_deref(),
                    cli.config.gate_dpop_nonce,
                    cli.config.listen_limits(),
                    shutdown_signal(),
                )
                .await
            }
        }
    });
    // Sends the spans still waiting in the batch.
    if let Some(provider) = traces {
        if let Err(e) = provider.shutdown() {
            eprintln!("portcullis: the last traces were not sent: {e}");
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs (text or JSON, filtered by `RUST_LOG`) and, when an OTLP endpoint
/// is set, traces of this product's spans (the domain's are at debug, to
/// cost nothing in logs) and its events at info and above, whatever the
/// log filter. Returns the trace provider to flush at exit.
fn init_telemetry(cli: &Cli) -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let filter =
        EnvFilter::try_new(&cli.config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match cli.config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        // One object a line; the spans it was written in (the request's
        // first: its id, method and path) on every line.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    };
    let service = match cli.command {
        Some(Command::Gate(_)) => "portcullis-gate",
        _ => "portcullis",
    };
    let provider = if portcullis_server::traces::wanted() {
        portcullis_server::traces::provider(service)
            .map_err(|e| eprintln!("portcullis: traces are off: {e}"))
            .ok()
    } else {
        None
    };
    let logs = tracing_subscriber::registry().with(logs.with_filter(filter));
    // Two branches, not an optional layer: an absent layer would still
    // change how often the log filter is asked.
    match &provider {
        Some(p) => {
            let ours = tracing_subscriber::filter::filter_fn(|m| {
                let t = m.target();
                let ours = t.starts_with("portcullis") || t == "app" || t.starts_with("app::");
                let level = if m.is_span() {
                    tracing::Level::DEBUG
                } else {
                    tracing::Level::INFO
                };
                ours && *m.level() <= level
            })
            .with_max_level_hint(tracing::level_filters::LevelFilter::DEBUG);
            logs.with(portcullis_server::traces::layer(p).with_filter(ours))
                .init()
        }
        None => logs.init(),
    }
    provider
}

async fn serve(config: &Config) -> Result<(), StartupError> {
    // Before anything makes a counter handle (build makes them).
    let metrics = match config.metrics_addr.0 {
        Some(addr) => Some((addr, portcullis_server::metrics::install()?)),
        None => None,
    };
    let built = build(config, Arc::new(SystemClock)).await?;
    if let Some((addr, handle)) = metrics {
        let router = portcullis_server::metrics::router(handle, Some(built.vitals.clone()));
        portcullis_server::metrics::serve(addr, router, shutdown_signal()).await?;
    }
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(
        "Portcullis console on {} (database {}; the reference APIs' {})",
        config.public_url()?,
        db::redacted(&config.database_url),
        db::redacted(config.apis_database_url())
    );
    portcullis_server::listen::serve(
        listener,
        built.router,
        config.listen_limits(),
        shutdown_signal(),
    )
    .await?;
    built.background.stop().await;
    built.db.close().await;
    built.apis_db.close().await;
    Ok(())
}

async fn migrate(config: &Config) -> Result<(), StartupError> {
    let (pool, apis) = portcullis_server::apis::open_databases(config).await?;
    pool.close().await;
    apis.close().await;
    println!(
        "{}: schema up to date ({} migrations)",
        db::redacted(&config.database_url),
        db::MIGRATOR.iter().count()
    );
    let theirs = portcullis_reference_apis::db::migrations();
    println!(
        "{}: the reference APIs' schema up to date ({theirs} migration{})",
        db::redacted(config.apis_database_url()),
        if theirs == 1 { "" } else { "s" }
    );
    Ok(())
}

async fn rotate_keys(config: &Config) -> Result<(), StartupError> {
    let catalogue = Catalogue::load(&config.scopes)?.with_management()?;
    let master = config.master_key()?;
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
    let mut algs: Vec<SigningAlg> = catalogue.apis().iter().map(|a| a.signing_alg).collect();
    algs.sort_by_key(|a| a.as_str());
    algs.dedup();
    let kids = Keyring::rotate(&pool, &master, &algs, SystemClock.now()).await?;
    for kid in kids {
        println!("new signing key {kid}: published now, signing in {PUBLISH_LEAD_SECS} s");
    }
    pool.close().await;
    Ok(())
}

/// One line of standard input: a password, never an argument (which
/// other users can read in the process list).
fn password_from_stdin() -> Result<Password, StartupError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(Password::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

async fn staff(config: &Config, command: StaffCommand) -> Result<(), StartupError> {
    let password = match &command {
        StaffCommand::Add { .. } | StaffCommand::ResetPassword { .. } => {
            Some(password_from_stdin()?)
        }
        StaffCommand::ResetSecondFactor { .. } => None,
    };
    let master = Arc::new(config.master_key()?);
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
    let accounts = Accounts::new(
        pool.clone(),
        PasswordHasher::new(1)?,
        LoginThrottle::new(ThrottlePolicy::default()),
        master,
        Arc::new(SystemClock),
    );
    let password = password.unwrap_or_else(|| Password::new(String::new()));
    match command {
        StaffCommand::Add { email } => {
            let staff = accounts.add_staff(&email, &password).await?;
            println!(
                "staff member {} added ({}); they sign in at the usual log-in page and set up two-factor authentication there",
                staff.email(), staff.user_id()
            );
        }
        StaffCommand::ResetPassword { email } => {
            accounts.reset_staff_password(&email, &password).await?;
            println!("password of staff member {email} set; their sessions have ended");
        }
        StaffCommand::ResetSecondFactor { email } => {
            accounts.reset_staff_second_factor(&email).await?;
            println!("second factor of staff member {email} removed; they set up a new one at their next sign-in");
        }
    }
    pool.close().await;
    Ok(())
}

async fn gates(config: &Config, command: GatesCommand) -> Result<(), StartupError> {
    let catalogue = Arc::new(Catalogue::load(&config.scopes)?);
    let master = Arc::new(config.master_key()?);
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
    let gates = Gates::new(pool.clone(), master, catalogue, Arc::new(SystemClock));
    let by = "cli";
    match command {
        GatesCommand::Add { api, name } => {
            let (gate, secret) = gates.create(&api, &name, by).await?;
            println!(
                "gate credential {} for API {} ({})",
                gate.id, gate.api_id, gate.name
            );
            println!("GATE_CLIENT_ID={}", gate.id);
            println!("GATE_CLIENT_SECRET={}", secret.expose());
            println!("The secret is shown this once; only a keyed hash of it is kept.");
        }
        GatesCommand::List => {
            for g in gates.list().await? {
                let state = g.revoked_at.map_or("live", |_| "revoked");
                println!("{}\t{}\t{}\t{}", g.id, g.api_id, state, g.name);
            }
        }
        GatesCommand::Revoke { id } => {
            gates.revoke(&id, by).await?;
            println!("gate credential {id} revoked; its gates fail closed once their feed drops");
        }
    }
    pool.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
