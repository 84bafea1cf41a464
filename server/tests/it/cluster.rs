//! Several `portcullis serve` processes on one PostgreSQL database, as an
//! operator runs them behind a load balancer: same database, master key,
//! public URL (so the same issuer) and scope catalogue.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use reqwest::{redirect, Client, Response};
use serde_json::Value;
use tempfile::TempDir;

use crate::harness::{client_form, Creds, PASSWORD};

/// Set by `make test` for the PostgreSQL pass: a throw-away Redis
/// (`scripts/redis-tmp`). Clusters started with `redis: true` use it.
pub const REDIS_ENV: &str = "PORTCULLIS_TEST_REDIS";

pub struct Node {
    pub base: String,
    /// Its metrics listener (`PORTCULLIS_METRICS_ADDR`), as a URL.
    pub metrics: String,
    child: Child,
    addr: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    pub database_url: String,
    /// What browsers see: the load balancer's address, the same for all
    /// nodes, and so the issuer (unique per cluster: it also keys Redis).
    pub public_url: String,
    redis_url: Option<String>,
    master_key: String,
    dir: TempDir,
    /// More environment for every node.
    env: Vec<(String, String)>,
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

impl Cluster {
    /// `n` nodes on a new database of the test cluster, each answering.
    pub async fn start(admin_url: &str, n: usize, redis: bool) -> Self {
        let database_url = crate::harness::new_postgres_database(admin_url).await;
        Self::start_on(
            database_url,
            tempfile::tempdir().unwrap(),
            n,
            redis,
            Vec::new(),
        )
        .await
    }

    /// `n` nodes on the backend under test: a new PostgreSQL database in
    /// the PostgreSQL pass, else one SQLite file the processes share.
    pub async fn start_on_test_backend(n: usize) -> Self {
        Self::start_on_test_backend_with(n, &[]).await
    }

    /// [`Cluster::start_on_test_backend`], each node with `env` too.
    pub async fn start_on_test_backend_with(n: usize, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = crate::harness::database_url(&dir).await;
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::start_on(database_url, dir, n, false, env).await
    }

    async fn start_on(
        database_url: String,
        dir: TempDir,
        n: usize,
        redis: bool,
        env: Vec<(String, String)>,
    ) -> Self {
        let redis_url = if redis {
            Some(std::env::var(REDIS_ENV).expect("PORTCULLIS_TEST_REDIS is set"))
        } else {
            None
        };
        let mut cluster = Cluster {
            nodes: Vec::new(),
            database_url,
            public_url: format!(
                "http://{}.test",
                portcullis_core::ids::new_id("portcullis").replace('_', "-")
            ),
            redis_url,
            master_key: hex::encode(portcullis_core::ids::random_bytes::<32>()),
            dir,
            env,
        };
        // The first node migrates and makes the signing keys; the others
        // start on that, as a rolling deployment would.
        for _ in 0..n {
            let node = cluster.spawn(&free_addr()).await;
            cluster.nodes.push(node);
        }
        cluster
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("PORTCULLIS_MASTER_KEY", &self.master_key)
            .env("PORTCULLIS_PUBLIC_URL", &self.public_url)
            .env(
                "PORTCULLIS_SCOPES",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml"),
            )
            .env("LEPTOS_SITE_ROOT", self.dir.path().join("site"))
            .env("RUST_LOG", "warn")
            // Test receivers listen on loopback.
            .env("PORTCULLIS_WEBHOOK_PRIVATE_TARGETS", "true")
            // A proxy that refuses every connection: webhooks must not
            // go through one from the environment (the address check
            // would be the proxy's to make).
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("ALL_PROXY", "http://127.0.0.1:9")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("PORTCULLIS_MASTER_KEY_FILE")
            .env_remove("PORTCULLIS_ISSUER")
            .env_remove("PORTCULLIS_REDIS_URL")
            .env_remove("PORTCULLIS_APIS_DATABASE_URL")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        // Nor the rest of a developer's OpenTelemetry settings.
        for (key, _) in std::env::vars() {
            if key.starts_with("OTEL_") {
                cmd.env_remove(key);
            }
        }
        if let Some(url) = &self.redis_url {
            cmd.env("PORTCULLIS_REDIS_URL", url);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    async fn spawn(&self, addr: &str) -> Node {
        let metrics = free_addr();
        let child = self
            .command(&["serve"])
            .env("PORTCULLIS_ADDR", addr)
            .env("PORTCULLIS_METRICS_ADDR", &metrics)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut node = Node {
            base: format!("http://{addr}"),
            metrics: format!("http://{metrics}/metrics"),
            child,
            addr: addr.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = reqwest::get(format!("{}/healthz", node.base)).await {
                if res.status() == 200 {
                    return node;
                }
            }
            // Its own error is on stderr above; say which node it was.
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("node {addr} exited while starting: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "node {addr} did not answer /healthz within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills node `i` with SIGKILL (no shutdown work at all).
    pub fn kill(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.child.kill().unwrap();
        node.child.wait().unwrap();
    }

    /// Starts node `i` again on its address.
    pub async fn restart(&mut self, i: usize) {
        let addr = self.nodes[i].addr.clone();
        let node = self.spawn(&addr).await;
        self.nodes[i] = node;
    }

    /// Runs the binary's CLI (`keys rotate`, `staff add`) on the database.
    pub fn cli(&self, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{stdin}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn url(&self, node: usize, path: &str) -> String {
        format!("{}{path}", self.nodes[node].base)
    }

    /// A browser behind the load balancer: its cookie (one jar for
    /// 127.0.0.1, whatever the port) and Origin work on every node.
    pub fn browser(&self) -> Client {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.public_url).unwrap());
        Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// `/api/<fn>` on node `node`: status and JSON body.
    pub async fn call(
        &self,
        node: usize,
        browser: &Client,
        fn_name: &str,
        form: &(impl serde::Serialize + ?Sized),
    ) -> (u16, Value) {
        let res = browser
            .post(self.url(node, &format!("/api/{fn_name}")))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub async fn owner(&self, node: usize, email: &str) -> Client {
        let browser = self.browser();
        let (status, body) = self
            .call(
                node,
                &browser,
                "signup",
                &[
                    ("account_name", format!("Org of {email}").as_str()),
                    ("email", email),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        // Sign-up starts no session: log in, as a person would.
        let (status, body) = self
            .call(
                node,
                &browser,
                "login",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        browser
    }

    /// A staff member (made with the CLI), logged in on node `node` with a
    /// second factor set up, as staff must before any staff action.
    pub async fn staff(&self, node: usize) -> Client {
        use portcullis_core::Clock as _;
        self.cli(&["staff", "add", "support@portcullis.example"], PASSWORD);
        let browser = self.browser();
        let (status, body) = self
            .call(
                node,
                &browser,
                "login",
                &[
                    ("email", "support@portcullis.example"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, set_up) = self
            .call(
                node,
                &browser,
                "second_factor_begin",
                &[("password", crate::harness::PASSWORD)],
            )
            .await;
        assert_eq!(status, 200, "{set_up}");
        let secret = data_encoding::BASE32_NOPAD
            .decode(set_up["secret_text"].as_str().unwrap().as_bytes())
            .unwrap();
        let code = portcullis_core::totp::code_at(&secret, portcullis_core::SystemClock.now());
        let (status, body) = self
            .call(
                node,
                &browser,
                "second_factor_confirm",
                &[("code", code.as_str())],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        browser
    }

    pub async fn project(&self, node: usize, owner: &Client, name: &str) -> String {
        let (status, body) = self
            .call(
                node,
                owner,
                "project_create",
                &[("name", name), ("api_id", "partner"), ("description", "")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_str().unwrap().to_owned()
    }

    pub async fn client(
        &self,
        node: usize,
        owner: &Client,
        project: &str,
        scopes: &[&str],
    ) -> Creds {
        let (status, body) = self
            .call(
                node,
                owner,
                "client_create",
                &client_form(project, "Primary", scopes),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        Creds {
            id: body["client"]["id"].as_str().unwrap().into(),
            secret: body["client_secret"].as_str().unwrap().into(),
        }
    }

    /// The token endpoint of node `node`.
    pub async fn token(&self, node: usize, creds: &Creds, scope: &str) -> Response {
        Client::new()
            .post(self.url(node, "/oauth/token"))
            .basic_auth(&creds.id, Some(&creds.secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap()
    }
}

/// Polls `check` until it holds, and returns how long that took; fails the
/// test if it does not hold within `within`.
pub async fn within<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until node `node` knows the client (the change feed took it
/// there), asking its token endpoint a few times a second: each "unknown"
/// answer counts as a failed authentication from this address, so asking
/// faster would lock the address out (20 failures).
pub async fn client_known(cluster: &Cluster, node: usize, creds: &Creds) {
    for _ in 0..15 {
        // An empty scope is refused before the bucket: nothing is minted.
        if cluster.token(node, creds, "").await.status() != 401 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("node {node} did not learn of the client within 4 s");
}
