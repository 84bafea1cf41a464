//! Starting a server for one test and talking to it like a browser would.

use std::sync::Arc;

use portcullis_core::{Db, Issuer, ManualClock};
use portcullis_server::{build, Config};
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use reqwest::{redirect, Client, Response};
use tempfile::TempDir;

mod console;
pub use console::*;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub db: Db,
    /// The reference APIs' own pool.
    pub apis_db: portcullis_reference_apis::Db,
    pub issuer: Arc<Issuer>,
    /// What the housekeeping calls (scheduled retirements, expiries);
    /// tests call it after moving the clock.
    pub clients: Arc<portcullis_core::Clients>,
    pub gates: Arc<portcullis_core::gate_credentials::Gates>,
    /// The change feed: `catch_up` waits for what is committed to be applied.
    pub feed: Arc<portcullis_core::feed::Feed>,
    /// Background work is stopped: tests flush use themselves.
    pub usage: Arc<portcullis_core::usage_totals::UsageTotals>,
    /// … and run the lifecycle sweeps themselves.
    pub lifecycle: Arc<portcullis_core::lifecycle::Lifecycle>,
    pub dir: TempDir,
}

/// Set by `make test` for the second run of the suite: the admin URL of a
/// throw-away PostgreSQL cluster (`scripts/pg-cluster`). Unset: SQLite.
pub const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES";

/// A new, empty database for one test on the backend under test.
pub async fn database_url(dir: &TempDir) -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(admin) if !admin.is_empty() => new_postgres_database(&admin).await,
        _ => format!("sqlite://{}/test.db", dir.path().display()),
    }
}

/// [`database_url`] for tests that are not async (they run the binary).
pub fn database_url_blocking(dir: &TempDir) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(database_url(dir))
}

/// Where tower-sessions keeps sessions on the backend under test.
pub fn sessions_table() -> &'static str {
    if on_postgres() {
        "tower_sessions.session"
    } else {
        "tower_sessions"
    }
}

pub fn on_postgres() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|v| !v.is_empty())
}

/// Creates `t_<random>` in the cluster at `admin` and returns its URL.
pub async fn new_postgres_database(admin: &str) -> String {
    use sqlx::Connection;
    let admin = admin.trim_end_matches('/');
    let mut conn = sqlx::postgres::PgConnection::connect(&format!("{admin}/postgres"))
        .await
        .expect("the test PostgreSQL cluster is reachable");
    let name = format!("t_{}", portcullis_core::ids::new_id("db").to_lowercase());
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    format!("{admin}/{name}")
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config::for_test(addr, database_url(&dir).await, dir.path());
        config.scopes = concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml").into();
        config.sign_ups_per_address = 1000;
        config.log_filter = "warn".into();
        adjust(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let built = build(&config, clock.clone()).await.unwrap();
        // Background work is driven by tests where it matters.
        built.background.stop().await;
        let limits = config.listen_limits();
        tokio::spawn(async move {
            portcullis_server::listen::serve(
                listener,
                built.router,
                limits,
                std::future::pending(),
            )
            .await
            .unwrap();
        });
        TestServer {
            base: format!("http://{addr}"),
            clock,
            db: built.db,
            apis_db: built.apis_db,
            issuer: built.issuer,
            clients: built.clients,
            gates: built.gates,
            feed: built.feed,
            usage: built.usage,
            lifecycle: built.lifecycle,
            dir,
        }
    }

    pub fn clock_now(&self) -> i64 {
        use portcullis_core::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: keeps cookies, sends this site's `Origin`,
    /// and does not follow redirects, so tests can look at them.
    pub fn browser(&self) -> Client {
        self.client_with_origin(&self.base)
    }

    pub fn client_with_origin(&self, origin: &str) -> Client {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    }

    pub async fn post(
        &self,
        client: &Client,
        fn_name: &str,
        form: &(impl serde::Serialize + ?Sized),
    ) -> Response {
        client
            .post(self.url(&format!("/api/{fn_name}")))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_up(&self, client: &Client, account: &str, email: &str) -> Response {
        self.post(
            client,
            "signup",
            &[
                ("account_name", account),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await
    }

    /// The domain's accounts on this server's database and master key (for
    /// what only the command line does, such as adding staff).
    pub fn accounts(&self) -> portcullis_core::Accounts {
        use portcullis_core::password::PasswordHasher;
        use portcullis_core::throttle::{LoginThrottle, ThrottlePolicy};
        let master = portcullis_core::master_key::MasterKey::load_or_create(
            &self.dir.path().join("master.key"),
        )
        .unwrap();
        portcullis_core::Accounts::new(
            self.db.clone(),
            PasswordHasher::new(1).unwrap(),
            LoginThrottle::new(ThrottlePolicy::default()),
            Arc::new(master),
            self.clock.clone(),
        )
    }

    /// The code an authenticator app with `secret_text` shows now.
    pub fn totp_now(&self, secret_text: &str) -> String {
        let secret = data_encoding::BASE32_NOPAD
            .decode(secret_text.as_bytes())
            .unwrap();
        portcullis_core::totp::code_at(&secret, self.clock_now())
    }

    /// Turns on the second factor for whoever `browser` is signed in as;
    /// the secret text and the recovery codes. Moves the clock on a step
    /// so the next code is a fresh one.
    pub async fn set_up_second_factor(&self, browser: &Client) -> (String, Vec<String>) {
        let (status, set_up) = self
            .call(browser, "second_factor_begin", &[("password", PASSWORD)])
            .await;
        assert_eq!(status, 200, "{set_up}");
        let secret = set_up["secret_text"].as_str().unwrap().to_owned();
        let code = self.totp_now(&secret);
        let (status, codes) = self
            .call(browser, "second_factor_confirm", &[("code", code.as_str())])
            .await;
        assert_eq!(status, 200, "{codes}");
        self.clock.advance(30);
        let codes = codes
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (secret, codes)
    }

    /// Signs up (which starts no session) and logs in: the log-in's answer.
    pub async fn sign_up_and_log_in(
        &self,
        client: &Client,
        account: &str,
        email: &str,
    ) -> Response {
        let res = self.sign_up(client, account, email).await;
        assert_redirected(&res, "/login?signed_up=1");
        self.log_in(client, email, PASSWORD).await
    }

    pub async fn log_in(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post(client, "login", &[("email", email), ("password", password)])
            .await
    }

    /// `/api/me`: the status and JSON body.
    pub async fn me(&self, client: &Client) -> (u16, serde_json::Value) {
        let res = self.post(client, "me", &[] as &[(&str, &str)]).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!("select count(*) from {table}"))
            .fetch_one(&self.db)
            .await
            .unwrap();
        n
    }
}

/// The session cookie's `name=value` from a response, if it sets one.
pub fn session_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("portcullis_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// A client with no cookie jar that sends exactly `cookie`.
pub fn replay(server: &TestServer, cookie: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_str(&server.base).unwrap());
    headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    Client::builder()
        .redirect(redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// A server function that succeeded and told the client to go to `to`
/// (Leptos: 200 with `Location` and `serverfnredirect`; the router follows).
pub fn assert_redirected(res: &Response, to: &str) {
    assert_eq!(res.status(), 200, "expected success, got {}", res.status());
    assert!(res.headers().contains_key("serverfnredirect"));
    assert_eq!(res.headers()["location"], to);
}
