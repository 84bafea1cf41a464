//! `portcullis-bench`: sets up an account, a project and a client on a
//! running Portcullis through its public HTTP interface, then drives
//! `POST /oauth/token` over keep-alive connections and reports throughput
//! and latency percentiles. Run by `make bench`.

mod http;
mod load;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Measure a running Portcullis on loopback")]
struct Args {
    /// Base URL of the server, e.g. http://127.0.0.1:3999
    #[arg(long)]
    base: String,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of measurement, after the warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of warm-up (not counted).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // One thread for the load generator: the server gets the other core.
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
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let addr = args
        .base
        .strip_prefix("http://")
        .ok_or("--base must be an http:// URL")?
        .trim_end_matches('/')
        .to_owned();
    http::wait_ready(&addr, Duration::from_secs(60)).await?;
    let creds = http::provision(&addr, "applications:read decisions:read").await?;
    let body = bytes::Bytes::from_static(
        b"grant_type=client_credentials&scope=applications%3Aread%20decisions%3Aread",
    );
    let request = load::RequestSpec {
        path: "/oauth/token".into(),
        authorization: creds.basic(),
        body,
        expect_status: 200,
    };
    let report = load::run(
        &addr,
        &request,
        args.connections,
        Duration::from_secs(args.warmup),
        Duration::from_secs(args.seconds),
    )
    .await?;
    println!(
        "{:<28} {:>10} {:>12} {:>10} {:>10} {:>8}",
        "benchmark", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    );
    report.print(&format!("token endpoint ({} conns)", args.connections));
    if report.errors > 0 {
        return Err(format!("{} requests failed", report.errors));
    }
    Ok(())
}
