//! A real nginx (Debian's package) with `auth_request` in front of a small
//! upstream, asking `portcullis gate`, configured from the example file the
//! README points to: allowed, missing-scope, revoked and over-limit calls
//! end to end.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::any;
use axum::Router;
use reqwest::Client;

use crate::gate_process::{credential, free_addr, GateProcess};
use crate::harness::TestServer;

struct Nginx {
    child: Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> &'static str {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is installed (make test installs Debian's nginx)")
}

/// The upstream: answers with the caller the gate vouched for.
async fn upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = Router::new().fallback(any(|h: HeaderMap| async move {
        let get = |n: &str| {
            h.get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        axum::Json(serde_json::json!({
            "client_id": get("x-portcullis-client-id"),
            "project_id": get("x-portcullis-project-id"),
            "scope": get("x-portcullis-scope"),
        }))
    }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn start_nginx(dir: &std::path::Path, gate: &str, upstream: &str) -> (Nginx, String) {
    let listen = free_addr();
    let template = include_str!("../../../examples/nginx/gate.conf");
    let conf = template
        .replace("{{DIR}}", &dir.display().to_string())
        .replace("{{LISTEN}}", &listen)
        .replace("{{GATE}}", gate.trim_start_matches("http://"))
        .replace("{{UPSTREAM}}", upstream);
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(&listen).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: see {}/error.log",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (Nginx { child }, format!("http://{listen}"))
}

#[tokio::test]
async fn nginx_auth_request_enforces_scope_revocation_and_the_bucket() {
    let s = TestServer::start().await;
    let (owner, project, creds) = s
        .partner_client("nginx@example.com", &["applications:read"])
        .await;
    let gate = GateProcess::start(&s, &s.base, &credential(&s, "partner").await, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let (_nginx, base) = start_nginx(dir.path(), &gate.base, &upstream().await).await;
    let http = Client::new();
    let call = |token: String, method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .send()
    };
    let token = s.access_token(&creds, "applications:read").await;
    gate.until(
        &token,
        "GET",
        "/partner/v1/applications",
        200,
        Duration::from_secs(10),
    )
    .await;

    // Allowed: the upstream answers, told who is calling.
    let res = call(
        token.clone(),
        reqwest::Method::GET,
        "/partner/v1/applications",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"project\";r="));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["client_id"], creds.id.as_str());
    assert_eq!(body["project_id"], project.as_str());
    assert_eq!(body["scope"], "applications:read");

    // Missing scope: 403 with the gate's challenge; the upstream never runs.
    let res = call(
        token.clone(),
        reqwest::Method::POST,
        "/partner/v1/applications",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert!(!res.text().await.unwrap().contains("client_id"));

    // No token: 401 with the Bearer challenge nginx passes on.
    let res = http
        .get(format!("{base}/partner/v1/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    // Over the limit: 429 with Retry-After.
    s.set_rate_limit(&owner, &project, 2, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut limited = None;
    for _ in 0..6 {
        let res = call(
            token.clone(),
            reqwest::Method::GET,
            "/partner/v1/applications",
        )
        .await
        .unwrap();
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
    }
    let limited = limited.expect("a 429 within 6 calls at 2 per second");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(limited.headers()["ratelimit-policy"], "\"project\";q=2;w=1");

    // Revoked at the issuer: refused at nginx within a second.
    let res = s
        .oauth_post("/oauth/revoke", &creds, &[("token", token.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let start = Instant::now();
    loop {
        let status = call(
            token.clone(),
            reqwest::Method::GET,
            "/partner/v1/applications",
        )
        .await
        .unwrap()
        .status();
        if status == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "still {status} after revocation"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A DPoP-bound token and Debian's nginx in front of a `portcullis gate`
/// run with `gate_args`: what the DPoP tests through nginx share.
struct BoundBehindNginx {
    s: TestServer,
    _gate: GateProcess,
    _nginx: Nginx,
    _dir: tempfile::TempDir,
    /// nginx's origin.
    base: String,
    key: crate::private_key_jwt::TestKey,
    token: String,
}

impl BoundBehindNginx {
    async fn start(email: &str, gate_args: &[&str]) -> Self {
        let s = TestServer::start().await;
        let (_, _, creds) = s.partner_client(email, &["applications:read"]).await;
        let gate =
            GateProcess::start(&s, &s.base, &credential(&s, "partner").await, gate_args).await;
        let dir = tempfile::tempdir().unwrap();
        let (nginx, base) = start_nginx(dir.path(), &gate.base, &upstream().await).await;
        let key = crate::private_key_jwt::TestKey::es256(None);
        let (status, body) = crate::dpop::bound_token(&s, &creds, &key).await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        Self {
            s,
            _gate: gate,
            _nginx: nginx,
            _dir: dir,
            base,
            key,
            token,
        }
    }
}

/// DPoP through nginx: the proxy passes the Authorization and DPoP headers
/// and the URL the client called; the gate checks the proof against it.
#[tokio::test]
async fn nginx_passes_dpop_and_the_gate_checks_the_proof() {
    use crate::dpop::proof;
    let b = BoundBehindNginx::start("nginx-dpop@example.com", &[]).await;
    let (s, base, key, token) = (&b.s, b.base.as_str(), &b.key, b.token.as_str());
    let url = format!("{base}/partner/v1/applications");
    let send = |scheme: &str, dpop: Option<String>| {
        let mut req = Client::new()
            .get(&url)
            .header("authorization", format!("{scheme} {token}"));
        if let Some(p) = dpop {
            req = req.header("DPoP", p);
        }
        req.send()
    };
    let fresh = || proof(key, "GET", &url, Some(token), s.clock_now());
    // The gate learns of the client from the feed first.
    let start = Instant::now();
    while send("DPoP", Some(fresh())).await.unwrap().status() != 200 {
        assert!(start.elapsed() < Duration::from_secs(10), "never admitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let once = fresh();
    assert_eq!(
        send("DPoP", Some(once.clone())).await.unwrap().status(),
        200
    );
    for (what, scheme, dpop) in [
        ("replayed", "DPoP", Some(once)),
        ("as Bearer", "Bearer", None),
        (
            "for another path",
            "DPoP",
            Some(proof(
                key,
                "GET",
                &format!("{base}/partner/v1/decisions"),
                Some(token),
                s.clock_now(),
            )),
        ),
    ] {
        let res = send(scheme, dpop).await.unwrap();
        assert_eq!(res.status(), 401, "{what}");
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("DPoP "),
            "{what}"
        );
    }
}

/// `portcullis gate --gate-dpop-nonce` behind nginx (RFC 9449 §9): the proxy
/// passes the gate's `use_dpop_nonce` answer on with its `DPoP-Nonce`
/// header, and the retry carrying that nonce reaches the upstream.
#[tokio::test]
async fn nginx_passes_the_gates_dpop_nonce_on() {
    use crate::dpop::proof_with;
    let b = BoundBehindNginx::start("nginx-nonce@example.com", &["--gate-dpop-nonce=true"]).await;
    let (s, base, key, token) = (&b.s, b.base.as_str(), &b.key, b.token.as_str());
    let url = format!("{base}/partner/v1/applications");
    let send = |nonce: Option<String>| {
        let dpop = proof_with(
            key,
            "GET",
            &url,
            Some(token),
            nonce.as_deref(),
            s.clock_now(),
        );
        Client::new()
            .get(&url)
            .header("authorization", format!("DPoP {token}"))
            .header("DPoP", dpop)
            .send()
    };
    // The gate learns of the client from the feed first.
    let start = Instant::now();
    let nonce = loop {
        let res = send(None).await.unwrap();
        if let Some(n) = res.headers().get("dpop-nonce") {
            assert_eq!(res.status(), 401);
            let challenge = res.headers()["www-authenticate"].to_str().unwrap();
            assert!(
                challenge.contains(r#"error="use_dpop_nonce""#),
                "{challenge}"
            );
            break n.to_str().unwrap().to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never asked for a nonce"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let res = send(Some(nonce)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("dpop-nonce").is_none(),
        "only on refusals"
    );
}
