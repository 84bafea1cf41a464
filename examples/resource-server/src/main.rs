//! `resource-server-example --issuer https://auth.example.com`, with
//! GATE_CLIENT_ID and GATE_CLIENT_SECRET in the environment.

use std::process::ExitCode;

use clap::Parser;
use resource_server_example::{serve, Args};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().init();
    let mut args = Args::parse();
    let Ok(secret) = std::env::var("GATE_CLIENT_SECRET") else {
        eprintln!("set GATE_CLIENT_SECRET to the gate credential's secret");
        return ExitCode::FAILURE;
    };
    args.gate_client_secret = secret;
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{}", args.listen);
    match serve(args, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resource-server-example: {e}");
            ExitCode::FAILURE
        }
    }
}
