//! `portcullis-bench`: starts Portcullis (release build) in this process on
//! loopback with a throw-away database, sets up an account, project and
//! client through its public HTTP interface, then measures, in one run:
//!
//! 1. `POST /oauth/token`;
//! 2. a cheap gated read, `GET /partner/v1/applications/{id}`;
//! 3. the same handler with the gate removed (served on a second port with
//!    the token's claims attached directly), to price the gate;
//! 4. a gate in another process: revocation to refusal, and the gate's
//!    throughput and CPU per request fed over HTTP vs in-process
//!    (`remote_gate.rs`);
//! 5. first, without a server: the gate's verified-token cache past its
//!    bound (`token_cache.rs`);
//! 6. tokens and gated reads on two release nodes, with and without
//!    metrics (`metrics_cost.rs`);
//! 7. `/oauth/token` against oidc-provider, the same grant on the same
//!    load, in alternating rounds (`against.rs`);
//! 8. a release node's memory per client with 200,000 clients, and a
//!    remote gate's snapshot of them (`scale.rs`).
//!
//! `--write-readme` puts the figures into README.md (`readme.rs`).
//!
//! The load generator is one thread with keep-alive connections; the server
//! runtime has the machine's cores. Run by `make bench`.

mod against;
mod audit;
mod backends;
mod flood;
mod http;
mod load;
mod metrics_cost;
mod nodes;
mod page_weight;
mod readme;
mod remote_gate;
mod scale;
mod server;
mod signed;
mod token_cache;
mod token_cpu;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

const ROUNDS: usize = 5;

#[derive(Parser)]
#[command(about = "Measure Portcullis on loopback")]
struct Args {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of measurement per benchmark, after the warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of warm-up per benchmark (not counted).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// The built console, as `make run` serves it (release build).
    #[arg(long, default_value = "target/site")]
    site_root: std::path::PathBuf,
    /// Audit rows to write before timing the audit-log queries (0 skips).
    #[arg(long, default_value_t = 1_000_000)]
    audit_rows: usize,
    /// Admin URL of a PostgreSQL cluster to create throw-away databases in
    /// (`make bench` starts one): enables the storage comparison, the
    /// three-node propagation bench and the audit log on PostgreSQL.
    #[arg(long, env = "PORTCULLIS_BENCH_POSTGRES")]
    postgres: Option<String>,
    /// Redis for the shared-bucket variant (`make bench` starts one).
    #[arg(long, env = "PORTCULLIS_BENCH_REDIS")]
    redis: Option<String>,
    /// Addresses failed client authentications come from in the flood bench
    /// (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    flood_addresses: usize,
    /// Revocations timed at a gate in another process.
    #[arg(long, default_value_t = 200)]
    revocations: usize,
    /// Changes timed in the three-node propagation bench.
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Only the verified-token cache bench (no server; seconds).
    #[arg(long)]
    cache_only: bool,
    /// Only the CPU per token and per gated request (SQLite, one process;
    /// with --redis, used-once values go to that Redis, as on a cluster).
    #[arg(long)]
    token_cpu_only: bool,
    /// oidc-provider's folder (`bench/oidc-provider`, `npm ci` there
    /// installs it): the token endpoint is compared with it; empty skips.
    #[arg(long, default_value = "bench/oidc-provider")]
    oidc_provider: std::path::PathBuf,
    /// Only the comparison with oidc-provider.
    #[arg(long)]
    against_only: bool,
    /// Only the audit log at scale: its queries and its export (SQLite).
    #[arg(long)]
    audit_only: bool,
    /// Only the metrics on/off comparison (two release nodes).
    #[arg(long)]
    metrics_only: bool,
    /// Only the CPU a gate fed over HTTP costs per request, against one
    /// fed in-process and none.
    #[arg(long)]
    remote_gate_only: bool,
    /// Clients written into a release node's database for the memory per
    /// client and the gate snapshot (0 skips it).
    #[arg(long, default_value_t = 200_000)]
    scale_clients: usize,
    /// Only the clients-at-scale bench (a release node; `--binary`).
    #[arg(long)]
    scale_only: bool,
    /// Write what this run measured into README.md's generated sections
    /// (`make bench` does; see `readme.rs`).
    #[arg(long)]
    write_readme: bool,
    /// The release binary the nodes run.
    #[arg(long, default_value = "target/release/portcullis")]
    binary: String,
}

/// A new database in the cluster at `admin`; its URL.
fn new_database(admin: &str, name: &str) -> Result<String, String> {
    use sqlx::Connection;
    let admin = admin.trim_end_matches('/');
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut conn = sqlx::postgres::PgConnection::connect(&format!("{admin}/postgres"))
            .await
            .map_err(|e| format!("PostgreSQL at {admin}: {e}"))?;
        let stamp = std::process::id();
        let db = format!("bench_{name}_{stamp}");
        sqlx::query(&format!("create database {db}"))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("{admin}/{db}"))
    })
}

fn postgres_benches(args: &Args, admin: &str) -> Result<(), String> {
    backends::compare(
        &args.site_root,
        &new_database(admin, "hot")?,
        &new_database(admin, "hot_redis")?,
        args.redis.as_deref(),
        args.connections,
        3,
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(nodes::propagation(
        &args.binary,
        &new_database(admin, "nodes")?,
        args.changes,
    ))?;
    if args.audit_rows > 0 {
        let storage = server::Storage {
            database_url: Some(new_database(admin, "audit")?),
            redis_url: None,
        };
        let servers = server::start(&args.site_root, &storage)?;
        rt.block_on(async {
            let addr = servers.gated.to_string();
            http::wait_ready(&addr, Duration::from_secs(60)).await?;
            http::provision(&addr, "applications:read")
                .await
                .map(|_| ())
        })?;
        println!(
            "
on PostgreSQL:"
        );
        servers.block_on(audit::run(servers.db(), "PostgreSQL", args.audit_rows))?;
    }
    Ok(())
}

/// Success: README.md gets this run's sections when asked.
fn done(args: &Args) -> ExitCode {
    if args.write_readme {
        if let Err(e) = readme::write("README.md") {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The clients-at-scale bench, on a runtime of its own.
fn scale(args: &Args) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(scale::run(
        &args.binary,
        &args.site_root,
        args.scale_clients,
        args.connections,
        args.seconds,
    ))
}

/// The log subscriber `portcullis serve` installs by default (text lines,
/// its default filter, `RUST_LOG` over it), so the in-process server pays
/// for its request spans as a node does. To standard error: the tables
/// stay on standard output.
fn install_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(portcullis_server::config::DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    // Before any thread starts (its options are not thread-safe).
    portcullis_server::configure_allocator();
    let args = Args::parse();
    install_logs();
    if args.scale_only {
        if let Err(e) = scale(&args) {
            eprintln!("bench: clients at scale: {e}");
            return ExitCode::FAILURE;
        }
        return done(&args);
    }
    token_cache::report();
    if args.cache_only {
        return done(&args);
    }
    let storage = server::Storage {
        database_url: None,
        redis_url: args.redis.clone().filter(|_| args.token_cpu_only),
    };
    let servers = match server::start(&args.site_root, &storage) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: cannot start the server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One thread for the load generator: the server runtime has the rest.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let measured = if args.audit_only {
        // The audit rows need an account: the load benches make one.
        let addr = servers.gated.to_string();
        runtime.block_on(async {
            http::wait_ready(&addr, Duration::from_secs(60)).await?;
            http::provision(&addr, "applications:read")
                .await
                .map(|_| ())
        })
    } else {
        runtime.block_on(run(&args, &servers))
    };
    if let Err(e) = measured {
        eprintln!("bench: {e}");
        return ExitCode::FAILURE;
    }
    if args.token_cpu_only || args.metrics_only || args.against_only || args.remote_gate_only {
        return done(&args);
    }
    if args.audit_rows > 0 {
        if let Err(e) = servers.block_on(audit::run(servers.db(), "SQLite", args.audit_rows)) {
            eprintln!("bench: audit log: {e}");
            return ExitCode::FAILURE;
        }
    }
    drop(servers);
    if args.audit_only {
        return done(&args);
    }
    if args.scale_clients > 0 {
        if let Err(e) = scale(&args) {
            eprintln!("bench: clients at scale: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(admin) = &args.postgres {
        if let Err(e) = postgres_benches(&args, admin) {
            eprintln!("bench: PostgreSQL: {e}");
            return ExitCode::FAILURE;
        }
    } else {
        println!("
(no PORTCULLIS_BENCH_POSTGRES: the PostgreSQL and multi-node benches were skipped; `make bench` sets it)");
    }
    done(&args)
}

/// One kind of request's rounds: medians of rate and latency.
#[derive(Default)]
struct Rounds {
    rates: Vec<f64>,
    p50s: Vec<f64>,
    p99s: Vec<f64>,
}

impl Rounds {
    fn add(&mut self, report: &load::Report) {
        self.rates.push(report.rate());
        self.p50s.push(report.percentile_ms(0.50));
        self.p99s.push(report.percentile_ms(0.99));
    }

    fn rate(&mut self) -> f64 {
        load::median(&mut self.rates)
    }

    fn p50(&mut self) -> f64 {
        load::median(&mut self.p50s)
    }

    fn p99(&mut self) -> f64 {
        load::median(&mut self.p99s)
    }
}

async fn run(args: &Args, servers: &server::Servers) -> Result<(), String> {
    let addr = servers.gated.to_string();
    http::wait_ready(&addr, Duration::from_secs(60)).await?;
    let slice = Duration::from_secs((args.seconds / 3).max(2));
    if args.token_cpu_only {
        return token_cpu::run(&addr, args.connections, ROUNDS, slice).await;
    }
    if args.metrics_only {
        return metrics_cost::compare(&args.binary, args.connections, ROUNDS, slice).await;
    }
    if args.against_only {
        return against::run(&addr, &args.oidc_provider, args.connections, ROUNDS, slice).await;
    }
    let creds = http::provision(&addr, "applications:read applications:write").await?;
    if args.remote_gate_only {
        return remote_gate::cost(servers, &creds, args.connections, ROUNDS, slice).await;
    }
    page_weight::report(&addr).await?;
    let token = http::access_token(&addr, &creds, "applications:read applications:write").await?;
    let app_id = http::create_application(&addr, &token).await?;
    let ungated = servers.serve_ungated(&token)?;

    let warmup = Duration::from_secs(args.warmup);
    let measure = Duration::from_secs(args.seconds);
    let read_path = format!("/partner/v1/applications/{app_id}");
    let token_spec = load::RequestSpec::post(
        "/oauth/token",
        &creds.basic(),
        "grant_type=client_credentials&scope=applications%3Aread",
    );
    let gated_spec = load::RequestSpec::get(&read_path, &format!("Bearer {token}"));
    let bare_spec = load::RequestSpec::get(&read_path, "");
    let (gated_addr, bare_addr) = (addr.clone(), ungated.to_string());

    println!(
        "{:<34} {:>10} {:>12} {:>10} {:>10} {:>8}",
        "benchmark", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let tokens = load::run(&addr, &token_spec, args.connections, warmup, measure).await?;
    tokens.print(&format!("token endpoint ({} conns)", args.connections));
    // Gated and ungated alternate in rounds, so drift in the machine's load
    // hits both alike; the medians of the rounds are compared.
    let rounds = ROUNDS;
    let (mut gated, mut bare) = (Rounds::default(), Rounds::default());
    for round in 1..=rounds {
        for (name, target, spec, rates) in [
            ("gated read", &gated_addr, &gated_spec, &mut gated),
            ("same read, gate removed", &bare_addr, &bare_spec, &mut bare),
        ] {
            let report = load::run(
                target,
                spec,
                args.connections,
                Duration::from_secs(1),
                slice,
            )
            .await?;
            report.print(&format!("{name} (round {round})"));
            if report.errors > 0 {
                return Err(format!("{name}: {} requests failed", report.errors));
            }
            rates.add(&report);
        }
    }
    if tokens.errors > 0 {
        return Err(format!("token endpoint: {} requests failed", tokens.errors));
    }
    let (g, b) = (gated.rate(), bare.rate());
    readme::record(
        "throughput",
        format!(
            "| benchmark | req/s | p50 | p99 |\n|---|---|---|---|\n\
             | `/oauth/token`, ES256 | {} | {:.2} ms | {:.2} ms |\n\
             | gated read (median of {rounds} rounds) | {} | {:.2} ms | {:.2} ms |\n\
             | same read, gate removed (median of {rounds} rounds) | {} | {:.2} ms | {:.2} ms |\n\n\
             The gate costs {:.0} % of the ungated throughput in this run.",
            readme::thousands(tokens.rate()),
            tokens.percentile_ms(0.50),
            tokens.percentile_ms(0.99),
            readme::thousands(g),
            gated.p50(),
            gated.p99(),
            readme::thousands(b),
            bare.p50(),
            bare.p99(),
            (1.0 - g / b) * 100.0,
        ),
    );
    println!("\nmedian of {rounds} rounds: gated {g:.0} req/s, ungated {b:.0} req/s");
    println!(
        "gate cost: gated/ungated = {:.2} ({:.1}% of the ungated throughput)",
        g / b,
        (1.0 - g / b) * 100.0
    );
    println!(
        "targets: tokens/s >= 10000: {}; gated req/s >= 20000: {}; gate cost <= 25%: {}",
        if tokens.rate() >= 10_000.0 {
            "met"
        } else {
            "MISSED"
        },
        if g >= 20_000.0 { "met" } else { "MISSED" },
        if 1.0 - g / b <= 0.25 { "met" } else { "MISSED" },
    );
    token_cpu::run(&addr, args.connections, rounds, slice).await?;
    if !args.oidc_provider.as_os_str().is_empty() {
        against::run(&addr, &args.oidc_provider, args.connections, rounds, slice).await?;
    }
    metrics_cost::compare(&args.binary, args.connections, rounds, slice).await?;
    if args.flood_addresses > 0 {
        flood::run(&addr, &creds, args.flood_addresses).await?;
    }
    remote_gate::revocation(servers, &args.binary, args.revocations).await?;
    remote_gate::cost(servers, &creds, args.connections, rounds, slice).await?;
    Ok(())
}
