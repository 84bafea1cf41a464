//! Starting a server for one test and talking to it like a browser would.

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_core::{Db, ManualClock};
use portcullis_server::{build, Config};
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use reqwest::{redirect, Client, Response};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub db: Db,
    _dir: TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config {
            addr,
            database_url: format!("sqlite://{}/test.db", dir.path().display()),
            public_url: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            trusted_proxies: vec![],
            hash_concurrency: 2,
            scopes: concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml").into(),
            site_root: dir.path().join("site"),
            log_filter: "warn".into(),
        };
        adjust(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let built = build(&config, clock.clone()).await.unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                built
                    .router
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        TestServer {
            base: format!("http://{addr}"),
            clock,
            db: built.db,
            _dir: dir,
        }
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

    pub async fn post(&self, client: &Client, fn_name: &str, form: &[(&str, &str)]) -> Response {
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

    pub async fn log_in(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post(client, "login", &[("email", email), ("password", password)])
            .await
    }

    /// `/api/me`: the status and JSON body.
    pub async fn me(&self, client: &Client) -> (u16, serde_json::Value) {
        let res = self.post(client, "me", &[]).await;
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
