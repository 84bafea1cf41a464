//! `portcullis gate` as a process of its own, as a partner's proxy runs it,
//! and a loopback forwarder the tests can cut to lose the issuer.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::harness::TestServer;

/// The routes file the tests' gates use.
pub const ROUTES: &str = r#"
[[route]]
method = "GET"
path = "/partner/v1/applications"
scope = "applications:read"

[[route]]
method = "GET"
path = "/partner/v1/applications/{id}/decision"
scope = "decisions:read"

[[route]]
method = "POST"
path = "/partner/v1/applications"
scope = "applications:write"
"#;

pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

pub struct GateProcess {
    pub base: String,
    /// Its gate credential's id.
    pub id: String,
    child: Child,
}

impl Drop for GateProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gate credential for `api` on `server`: (id, secret).
pub async fn credential(server: &TestServer, api: &str) -> (String, String) {
    let (gate, secret) = server.gates.create(api, "test gate", "test").await.unwrap();
    (gate.id, secret.expose().to_owned())
}

impl GateProcess {
    /// Starts `portcullis gate` following `issuer_url` and waits until it
    /// listens. `args` are extra flags.
    pub async fn start(
        server: &TestServer,
        issuer_url: &str,
        credential: &(String, String),
        args: &[&str],
    ) -> Self {
        Self::start_in(server.dir.path(), issuer_url, credential, args).await
    }

    /// [`GateProcess::start`] with its routes file in `dir`.
    pub async fn start_in(
        dir: &std::path::Path,
        issuer_url: &str,
        (id, secret): &(String, String),
        args: &[&str],
    ) -> Self {
        let routes = dir.join(format!("routes-{}.toml", id));
        std::fs::write(&routes, ROUTES).unwrap();
        let addr = free_addr();
        let child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("gate")
            .args(["--issuer", issuer_url, "--listen", &addr])
            .arg("--routes")
            .arg(&routes)
            .args(args)
            .env("GATE_CLIENT_ID", id)
            .env("GATE_CLIENT_SECRET", secret)
            .env("RUST_LOG", "warn")
            .env_remove("PORTCULLIS_REDIS_URL")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let gate = GateProcess {
            base: format!("http://{addr}"),
            id: id.clone(),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&addr).await.is_err() {
            assert!(Instant::now() < deadline, "the gate did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        gate
    }

    /// Stops the process (as a crash would).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the gate about `method path` with `token`, as nginx does.
    pub async fn ask(&self, token: Option<&str>, method: &str, path: &str) -> Response {
        let mut req = Client::new()
            .get(format!("{}/", self.base))
            .header("x-original-method", method)
            .header("x-original-uri", path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Asks until the answer's status is `want`, for at most `within`;
    /// returns how long it took.
    pub async fn until(
        &self,
        token: &str,
        method: &str,
        path: &str,
        want: u16,
        within: Duration,
    ) -> Duration {
        let start = Instant::now();
        loop {
            let status = self.ask(Some(token), method, path).await.status().as_u16();
            if status == want {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "the gate still answers {status}, not {want}, after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A TCP forwarder to the issuer that the test can cut: `cut_feed` drops
/// every feed connection and refuses new ones (other requests still pass,
/// so introspection works); `cut_all` refuses everything.
pub struct Forwarder {
    pub url: String,
    state: watch::Sender<Cut>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cut {
    None,
    Feed,
    All,
}

impl Forwarder {
    pub async fn start(to: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (state, rx) = watch::channel(Cut::None);
        let to = to.trim_start_matches("http://").to_owned();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(forward(inbound, to.clone(), rx.clone()));
            }
        });
        Self { url, state }
    }

    pub fn cut(&self, cut: Cut) {
        self.state.send_replace(cut);
    }
}

async fn forward(mut inbound: TcpStream, to: String, mut cut: watch::Receiver<Cut>) {
    // The request line says whether this is the feed.
    let mut first = vec![0u8; 64];
    let n = match tokio::time::timeout(Duration::from_secs(5), inbound.peek(&mut first)).await {
        Ok(Ok(n)) => n,
        _ => return,
    };
    let is_feed = first[..n].starts_with(b"GET /gate/v1/feed");
    let blocked = |c: Cut| c == Cut::All || (c == Cut::Feed && is_feed);
    if blocked(*cut.borrow()) {
        let _ = inbound.shutdown().await;
        return;
    }
    let Ok(mut outbound) = TcpStream::connect(&to).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        _ = async {
            while cut.changed().await.is_ok() {
                if blocked(*cut.borrow()) {
                    return;
                }
            }
            std::future::pending::<()>().await
        } => {}
    }
}
