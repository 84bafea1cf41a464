//! `/readyz`: ready with its database, migrations, signing keys and a
//! current feed; not ready (503, naming why) without them; back when they
//! are. `/healthz` answers either way.

use serde_json::Value;

use crate::harness::TestServer;

async fn readyz(base: &str) -> (u16, Value) {
    let res = reqwest::get(format!("{base}/readyz")).await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_node_is_ready_with_its_database_migrations_keys_and_feed() {
    let s = TestServer::start().await;
    let (status, body) = readyz(&s.base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["failing"], serde_json::json!([]));
    assert_eq!(body["feed_lag_secs"], 0);
    // A database behind this build (a migration not yet run) is not ready.
    // The issuer's newest (the reference APIs' own are numbered above).
    let (newest,): (i64,) =
        sqlx::query_as("select max(version) from _sqlx_migrations where version < $1")
            .bind(portcullis_core::db::OTHERS_FROM)
            .fetch_one(&s.db)
            .await
            .unwrap();
    sqlx::query("update _sqlx_migrations set success = false where version = $1")
        .bind(newest)
        .execute(&s.db)
        .await
        .unwrap();
    let (status, body) = readyz(&s.base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], serde_json::json!(["migrations"]));
    let res = reqwest::get(format!("{}/healthz", s.base)).await.unwrap();
    assert_eq!(res.status(), 200, "alive all the same");
}

/// A node whose PostgreSQL stops turns not-ready, and ready again when it
/// is back. Its own throw-away PostgreSQL server (the suite's is shared),
/// in the PostgreSQL pass of `make test`.
#[tokio::test]
async fn a_node_whose_postgresql_stops_is_not_ready_until_it_is_back() {
    if !crate::harness::on_postgres() {
        eprintln!("PostgreSQL-only: runs in the PostgreSQL pass");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-cluster");
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster");
    let pg = |cmd: &str| {
        let out = std::process::Command::new(script)
            .arg(cmd)
            .arg(&cluster)
            .output()
            .unwrap();
        assert!(out.status.success(), "pg-cluster {cmd}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let url = format!("{}/postgres", pg("start"));
    let s = TestServer::start_with(|c| c.database_url = url.clone()).await;
    assert_eq!(readyz(&s.base).await.0, 200);

    pg("pause");
    let (status, body) = readyz(&s.base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], serde_json::json!(["database"]));
    assert!(body.get("feed_lag_secs").is_none());

    pg("resume");
    let mut back = false;
    for _ in 0..100 {
        if readyz(&s.base).await.0 == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "ready again once PostgreSQL is back");
    drop(s);
    pg("stop");
}
