//! Calls a Portcullis-protected API `--calls` times with one cached token
//! and says how many tokens that took (one, unless the calls outlast it).
//!
//! PORTCULLIS_CLIENT_ID=pcl_… PORTCULLIS_CLIENT_SECRET=pcs_… partner-client-example \
//!   --token-url https://auth.example.com/oauth/token \
//!   --api-url https://api.example.com/partner/v1/applications \
//!   --scope applications:read --calls 100
//!
//! A key client gives its private key instead of a secret, and `--dpop`
//! binds its tokens to a key made at start:
//! PORTCULLIS_CLIENT_ID=pcl_… partner-client-example --private-key key.pem --key-alg ES256 --dpop …

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
    #[arg(
        long,
        env = "PORTCULLIS_CLIENT_SECRET",
        hide_env_values = true,
        required_unless_present = "private_key"
    )]
    client_secret: Option<String>,
    /// A key client's private key (PEM), for private_key_jwt.
    #[arg(long, env = "PORTCULLIS_PRIVATE_KEY", conflicts_with = "client_secret")]
    private_key: Option<std::path::PathBuf>,
    /// ES256, RS256 or EdDSA.
    #[arg(long, default_value = "ES256")]
    key_alg: String,
    /// The kid the key was registered with, if any.
    #[arg(long)]
    key_id: Option<String>,
    /// Bind the tokens to a DPoP key made at start (RFC 9449); every call
    /// then carries a proof.
    #[arg(long)]
    dpop: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let tokens = match (&args.private_key, &args.client_secret) {
        (Some(path), _) => TokenSource::with_private_key(
            &args.token_url,
            &args.client_id,
            &std::fs::read(path)?,
            args.key_alg.parse()?,
            args.key_id.as_deref(),
        )?,
        (None, Some(secret)) => TokenSource::new(&args.token_url, &args.client_id, secret),
        (None, None) => return Err("give a client secret or a private key".into()),
    };
    let tokens = if args.dpop {
        tokens.with_dpop()?
    } else {
        tokens
    };
    let scopes: Vec<&str> = args.scopes.iter().map(String::as_str).collect();
    let http = reqwest::Client::new();
    for _ in 0..args.calls {
        let token = tokens.token(&scopes).await?;
        let request = tokens.authorize(http.get(&args.api_url), "GET", &args.api_url, &token)?;
        let status = request.send().await?.status();
        println!("{status}");
    }
    println!("{} calls, {} token(s) minted", args.calls, tokens.minted());
    Ok(())
}
