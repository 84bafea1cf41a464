//! Settings, from flags or environment variables, checked at start-up.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use portcullis_core::master_key::MasterKey;
use url::Url;

use crate::error::StartupError;

/// The log filter when neither `--log` nor `RUST_LOG` is given.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

/// `Debug` (below) leaves the master key out and masks URL passwords.
#[derive(clap::Args, Clone)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "PORTCULLIS_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub addr: SocketAddr,

    /// Database URL: a SQLite file (created with its folder if missing), or
    /// postgres://user:password@host:5432/db for several nodes on one
    /// PostgreSQL database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/portcullis.db",
        global = true
    )]
    pub database_url: String,

    /// Database of the reference APIs (Partner, Transactions): their
    /// records and their migrations, in a pool of their own. A SQLite file
    /// or a PostgreSQL URL, as DATABASE_URL. [default: DATABASE_URL]
    #[arg(
        long,
        env = "PORTCULLIS_APIS_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub apis_database_url: Option<String>,

    /// Redis (or Valkey) that holds the limits shared by every node:
    /// project buckets, the log-in throttle and the token endpoint's
    /// per-address guard, e.g. redis://127.0.0.1:6379. Unset: each node keeps
    /// them in memory, with the buckets split between live nodes.
    #[arg(
        long,
        env = "PORTCULLIS_REDIS_URL",
        hide_env_values = true,
        global = true
    )]
    pub redis_url: Option<String>,

    /// URL people use to reach the console, e.g. https://auth.example.com.
    /// With https, cookies are Secure and named with the __Host- prefix.
    /// [default: http://<PORTCULLIS_ADDR>]
    #[arg(long, env = "PORTCULLIS_PUBLIC_URL", global = true)]
    pub public_url: Option<Url>,

    /// Minutes of inactivity after which a console session ends.
    #[arg(long, env = "PORTCULLIS_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=1440), global = true)]
    pub session_idle_minutes: u32,

    /// Hours after sign-in at which a console session ends, however active.
    #[arg(long, env = "PORTCULLIS_SESSION_ABSOLUTE_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=720), global = true)]
    pub session_absolute_hours: u32,

    /// Comma-separated IPs of reverse proxies whose X-Forwarded-For is
    /// believed. Empty: the peer address is the client.
    #[arg(
        long,
        env = "PORTCULLIS_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Seconds a request's headers may take to arrive. A kept-alive
    /// connection that sends no next request is closed after as long.
    #[arg(long, env = "PORTCULLIS_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub header_timeout_secs: u64,

    /// Seconds a request may take to send its body and be answered (408).
    #[arg(long, env = "PORTCULLIS_REQUEST_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub request_timeout_secs: u64,

    /// Open connections at most; a connection past it gets 503 and is
    /// closed. [default: 10000, less if the open-file limit is lower]
    #[arg(long, env = "PORTCULLIS_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_connections: Option<u32>,

    /// How many argon2id password hashes may run at once (19 MiB each).
    #[arg(long, env = "PORTCULLIS_HASH_CONCURRENCY", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub hash_concurrency: u32,

    /// Sign-ups one client address may make before it must wait (1 s, then
    /// doubling up to an hour; forgotten after an hour without one).
    #[arg(long, env = "PORTCULLIS_SIGN_UPS_PER_ADDRESS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub sign_ups_per_address: u32,

    /// The master key, 64 hex digits (`openssl rand -hex 32`). It keys the
    /// client-secret hashes and seals the token signing keys. When unset,
    /// the key file below is used (created on first start).
    #[arg(
        long,
        env = "PORTCULLIS_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,

    /// Where the master key is kept when PORTCULLIS_MASTER_KEY is unset;
    /// created with mode 0600 on first start. Back it up.
    #[arg(
        long,
        env = "PORTCULLIS_MASTER_KEY_FILE",
        default_value = "data/master.key",
        global = true
    )]
    pub master_key_file: PathBuf,

    /// The `iss` of every token and the RFC 8414 issuer. [default: the
    /// public URL without its trailing slash]
    #[arg(long, env = "PORTCULLIS_ISSUER", global = true)]
    pub issuer: Option<Url>,

    /// The scope catalogue: the APIs tokens are issued for and their scopes.
    #[arg(
        long,
        env = "PORTCULLIS_SCOPES",
        default_value = "scopes.toml",
        global = true
    )]
    pub scopes: PathBuf,

    /// The keys leaked-secret reports must be signed with: GitHub's JSON
    /// document from https://api.github.com/meta/public_keys/secret_scanning,
    /// saved to a file. Set: `POST /oauth/secret-reports` takes reports (a
    /// reported live client secret retires its client at once). Unset: no
    /// such endpoint.
    #[arg(long, env = "PORTCULLIS_SECRET_REPORT_KEYS", global = true)]
    pub secret_report_keys: Option<PathBuf>,

    /// Let webhooks go to loopback, private and link-local addresses, and
    /// over plain http (for receivers inside the company network). Off:
    /// only https to public addresses, so tenants cannot reach this
    /// server's own network.
    #[arg(long, env = "PORTCULLIS_WEBHOOK_PRIVATE_TARGETS", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new(),
          global = true)]
    pub webhook_private_targets: bool,

    /// Let key clients' `jwks_uri` point at loopback, private and
    /// link-local addresses, and use plain http (for partners' key
    /// servers inside the company network). Off: only https to public
    /// addresses.
    #[arg(long, env = "PORTCULLIS_KEY_FETCH_PRIVATE_TARGETS", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new(),
          global = true)]
    pub key_fetch_private_targets: bool,

    /// Require a nonce this cluster gave out in every DPoP proof at the
    /// token endpoint (RFC 9449 §8): clients retry once with the
    /// `DPoP-Nonce` it answers. Off by default.
    #[arg(long, env = "PORTCULLIS_DPOP_NONCE", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new(),
          global = true)]
    pub dpop_nonce: bool,

    /// Require a nonce in every DPoP proof at the gates (RFC 9449 §9): the
    /// in-process gates of `serve` (a key per API from the master key) and
    /// `portcullis gate` (a key from its credential's secret, so replicas
    /// with one credential take each other's nonces). Off by default.
    #[arg(long, env = "PORTCULLIS_GATE_DPOP_NONCE", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new(),
          global = true)]
    pub gate_dpop_nonce: bool,

    /// Where Prometheus scrapes `GET /metrics` (e.g. 127.0.0.1:9464), on
    /// a listener of its own, never the public port; `off` (the default)
    /// serves none. `make run` serves it on 127.0.0.1:9464.
    #[arg(
        long,
        env = "PORTCULLIS_METRICS_ADDR",
        default_value = "off",
        global = true
    )]
    pub metrics_addr: MetricsAddr,

    /// Folder with the built console assets (pkg/ with wasm, js, css).
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: PathBuf,

    /// Log filter, e.g. "info" or "portcullis_core=debug,info".
    #[arg(
        long = "log",
        env = "RUST_LOG",
        default_value = DEFAULT_LOG_FILTER,
        global = true
    )]
    pub log_filter: String,

    /// How log lines are written: `text` for people, `json` (one object a
    /// line, with the request's span fields) for a log pipeline.
    #[arg(long, env = "PORTCULLIS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text,
          global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use portcullis_core::db::redacted;
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &redacted(&self.database_url))
            .field(
                "apis_database_url",
                &self.apis_database_url.as_deref().map(redacted),
            )
            .field("redis_url", &self.redis_url.as_deref().map(redacted))
            .field("public_url", &self.public_url.as_ref().map(Url::as_str))
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_absolute_hours", &self.session_absolute_hours)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("sign_ups_per_address", &self.sign_ups_per_address)
            .field("master_key", &self.master_key.as_ref().map(|_| "<set>"))
            .field("master_key_file", &self.master_key_file)
            .field("issuer", &self.issuer.as_ref().map(Url::as_str))
            .field("scopes", &self.scopes)
            .field("secret_report_keys", &self.secret_report_keys)
            .field("webhook_private_targets", &self.webhook_private_targets)
            .field("key_fetch_private_targets", &self.key_fetch_private_targets)
            .field("dpop_nonce", &self.dpop_nonce)
            .field("gate_dpop_nonce", &self.gate_dpop_nonce)
            .field("site_root", &self.site_root)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// The default cap on open connections: 10,000, or what the process's
/// open-file limit leaves room for (it also needs files for the database,
/// logs and outgoing connections).
fn default_max_connections() -> usize {
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        });
    match soft_limit {
        Some(n) => n.saturating_sub(256).clamp(16, 10_000),
        None => 10_000,
    }
}

impl Config {
    /// The defaults `make run` starts with, taken from the flags' own
    /// declarations above (the environment is not read), listening on
    /// `addr` with `database_url` and the master key and site under `dir`.
    /// For tests and tools that start a server in-process.
    pub fn for_test(addr: SocketAddr, database_url: String, dir: &std::path::Path) -> Self {
        use clap::{Args, FromArgMatches};
        let cmd =
            Self::augment_args(clap::Command::new("portcullis")).mut_args(|a| a.env(None::<&str>));
        let matches = cmd
            .try_get_matches_from(["portcullis"])
            .unwrap_or_else(|e| unreachable!("every flag has a default or is optional: {e}"));
        let mut config = Self::from_arg_matches(&matches)
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"));
        config.addr = addr;
        config.database_url = database_url;
        config.master_key_file = dir.join("master.key");
        config.site_root = dir.join("site");
        config
    }

    /// Where the reference APIs keep their records.
    pub fn apis_database_url(&self) -> &str {
        match &self.apis_database_url {
            Some(url) if !url.is_empty() => url,
            _ => &self.database_url,
        }
    }

    /// Where webhooks may go.
    pub fn webhook_targets(&self) -> portcullis_core::webhooks::Targets {
        if self.webhook_private_targets {
            portcullis_core::webhooks::Targets::AnyHttp
        } else {
            portcullis_core::webhooks::Targets::PublicHttps
        }
    }

    /// Where key clients' `jwks_uri` may point.
    pub fn key_fetch_targets(&self) -> portcullis_core::webhooks::Targets {
        if self.key_fetch_private_targets {
            portcullis_core::webhooks::Targets::AnyHttp
        } else {
            portcullis_core::webhooks::Targets::PublicHttps
        }
    }

    /// The listener's limits.
    pub fn listen_limits(&self) -> crate::listen::Limits {
        crate::listen::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs),
            max_connections: self
                .max_connections
                .map_or_else(default_max_connections, |n| n as usize),
        }
    }

    pub fn master_key(&self) -> Result<MasterKey, StartupError> {
        match &self.master_key {
            Some(hex) => MasterKey::from_hex(hex)
                .map_err(|e| StartupError::Config(format!("PORTCULLIS_MASTER_KEY: {e}"))),
            None => Ok(MasterKey::load_or_create(&self.master_key_file)?),
        }
    }

    /// The issuer identifier: an https (or, for local use, http) URL with no
    /// query or fragment, written without a trailing slash.
    pub fn issuer(&self) -> Result<String, StartupError> {
        let url = match &self.issuer {
            Some(u) => u.clone(),
            None => self.public_url()?,
        };
        if !matches!(url.scheme(), "http" | "https")
            || url.host().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(StartupError::Config(format!(
                "PORTCULLIS_ISSUER must be an http(s) URL without query or fragment, not {url}"
            )));
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    pub fn public_url(&self) -> Result<Url, StartupError> {
        let url = match &self.public_url {
            Some(u) => u.clone(),
            None => Url::parse(&format!("http://{}", self.addr))
                .map_err(|e| StartupError::Config(format!("PORTCULLIS_ADDR: {e}")))?,
        };
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(StartupError::Config(format!(
                "PORTCULLIS_PUBLIC_URL must be an http(s) URL with a host, not {url}"
            )));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn debug_leaves_out_the_master_key_and_url_passwords() {
        let cli = Cli::try_parse_from([
            "portcullis",
            "--master-key",
            &"ab".repeat(32),
            "--database-url",
            "postgres://app:hunter2@db/portcullis",
            "--redis-url",
            "redis://:s3cret@cache:6379",
        ])
        .unwrap();
        let printed = format!("{:?}", cli.config);
        for secret in ["abababab", "hunter2", "s3cret"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("<set>"), "{printed}");
    }
}

/// `PORTCULLIS_METRICS_ADDR`: an address to listen on, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsAddr(pub Option<std::net::SocketAddr>);

impl std::str::FromStr for MetricsAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "off" | "" => Ok(MetricsAddr(None)),
            addr => addr
                .parse()
                .map(|a| MetricsAddr(Some(a)))
                .map_err(|_| format!("{addr:?} is not an address to listen on (host:port) or off")),
        }
    }
}
