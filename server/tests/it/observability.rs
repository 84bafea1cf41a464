//! Request ids and structured logs: every answer carries `X-Request-Id`
//! (a trusted proxy's, else a new one), and with `PORTCULLIS_LOG_FORMAT=json`
//! every log line is a JSON object carrying the id of the request it is
//! about.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::TestServer;

async fn id_for(base: &str, sent: Option<&str>) -> String {
    let mut req = reqwest::Client::new().get(format!("{base}/healthz"));
    if let Some(id) = sent {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await.unwrap();
    res.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_only_a_trusted_proxy_chooses_it() {
    let s = TestServer::start().await;
    let made = id_for(&s.base, None).await;
    assert!(made.starts_with("req_"), "{made}");
    assert_ne!(made, id_for(&s.base, None).await, "a new one each time");
    // Not from a proxy we were told to trust: ours, not the caller's.
    assert_ne!(id_for(&s.base, Some("chosen-1")).await, "chosen-1");

    let s =
        TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    assert_eq!(id_for(&s.base, Some("lb-7f3a")).await, "lb-7f3a");
    assert_ne!(id_for(&s.base, Some("has space")).await, "has space");
    let long = "x".repeat(200);
    assert_ne!(id_for(&s.base, Some(&long)).await, long);
}

/// Kills the server when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn json_logs_are_one_object_a_line_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let addr = crate::gate_process::free_addr();
    let base = format!("http://{addr}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .env("DATABASE_URL", crate::harness::database_url(&dir).await)
        .env("PORTCULLIS_MASTER_KEY", "5a".repeat(32))
        .env("PORTCULLIS_PUBLIC_URL", &base)
        .env("PORTCULLIS_ADDR", &addr)
        .env("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.1")
        .env(
            "PORTCULLIS_SCOPES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml"),
        )
        .env("LEPTOS_SITE_ROOT", dir.path().join("site"))
        .env("RUST_LOG", "info")
        .env("PORTCULLIS_LOG_FORMAT", "json")
        .env_remove("PORTCULLIS_MASTER_KEY_FILE")
        .env_remove("PORTCULLIS_ISSUER")
        .env_remove("PORTCULLIS_REDIS_URL")
        .env_remove("PORTCULLIS_APIS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Log lines go to standard output.
    let stdout = child.stdout.take();
    let server = Killed(child);
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    std::thread::spawn({
        let lines = lines.clone();
        move || {
            for line in BufReader::new(stdout.unwrap()).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A refused log-in writes an info line inside its request.
    let res = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .header("origin", &base)
        .header("x-request-id", "lb-42")
        .form(&[
            ("email", "nobody@example.com"),
            ("password", "wrong password!!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-request-id"], "lb-42");
    let mut found = None;
    for _ in 0..100 {
        found = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["spans"][0]["request_id"] == "lb-42" && v["message"] == "sign-in refused");
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = found.unwrap_or_else(|| panic!("no such line in {:?}", lines.lock().unwrap()));
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["spans"][0]["name"], "request");
    assert_eq!(line["spans"][0]["path"], "/api/login");
    drop(server);
    let all = lines.lock().unwrap().clone();
    assert!(!all.is_empty());
    for l in &all {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{l}");
        assert!(
            !l.contains("wrong password!!"),
            "a password reached a log line: {l}"
        );
    }
}
