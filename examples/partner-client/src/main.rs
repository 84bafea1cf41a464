//! Calls a Portcullis-protected API `--calls` times with one cached token
//! and says how many tokens that took (one, unless the calls outlast it).
//!
//! PORTCULLIS_CLIENT_ID=pcl_… PORTCULLIS_CLIENT_SECRET=pcs_… partner-client-example \
//!   --token-url https://auth.example.com/oauth/token \
//!   --api-url https://api.example.com/partner/v1/applications \
//!   --scope applications:read --calls 100

use clap::Parser;
use partner_client_example::TokenSource;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    token_url: String,
    #[arg(long)]
    api_url: String,
    /// Repeat for several scopes.
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
    #[arg(long, default_value_t = 10)]
    calls: u32,
    #[arg(long, env = "PORTCULLIS_CLIENT_ID")]
    client_id: String,
    #[arg(long, env = "PORTCULLIS_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let tokens = TokenSource::new(&args.token_url, &args.client_id, &args.client_secret);
    let scopes: Vec<&str> = args.scopes.iter().map(String::as_str).collect();
    let http = reqwest::Client::new();
    for _ in 0..args.calls {
        let token = tokens.token(&scopes).await?;
        let status = http
            .get(&args.api_url)
            .bearer_auth(token)
            .send()
            .await?
            .status();
        println!("{status}");
    }
    println!("{} calls, {} token(s) minted", args.calls, tokens.minted());
    Ok(())
}
