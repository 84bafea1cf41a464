//! The `portcullis` binary's database settings: `migrate` on the issuer's
//! database and the reference APIs' (one or two), and URLs that cannot be
//! served stopping start-up with nothing made.

use crate::binary::{portcullis, scopes_file};

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/folder/p.db");
    let url = if crate::harness::on_postgres() {
        crate::harness::database_url_blocking(&dir)
    } else {
        format!("sqlite://{}", db.display())
    };
    for _ in 0..2 {
        let out = portcullis()
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("schema up to date"));
    }
    assert!(db.exists() || crate::harness::on_postgres());
}

/// With `PORTCULLIS_APIS_DATABASE_URL`, `migrate` brings each database up
/// to date with its own set and says so for each.
#[test]
fn migrate_brings_a_separate_apis_database_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let apis_dir = tempfile::tempdir().unwrap();
    let (url, apis_url) = if crate::harness::on_postgres() {
        (
            crate::harness::database_url_blocking(&dir),
            crate::harness::database_url_blocking(&apis_dir),
        )
    } else {
        (
            format!("sqlite://{}/p.db", dir.path().display()),
            format!("sqlite://{}/apis/records.db", apis_dir.path().display()),
        )
    };
    for _ in 0..2 {
        let out = portcullis()
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .env("PORTCULLIS_APIS_DATABASE_URL", &apis_url)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.lines().count(), 2, "{stdout}");
        let theirs = portcullis_reference_apis::db::migrations();
        let plural = if theirs == 1 { "" } else { "s" };
        assert!(
            stdout.contains(&format!(
                "the reference APIs' schema up to date ({theirs} migration{plural})"
            )),
            "{stdout}"
        );
    }
    assert!(crate::harness::on_postgres() || apis_dir.path().join("apis/records.db").exists());
    // Each set on its own database.
    let ours = portcullis_reference_apis::db::VERSIONS.start;
    let versions = |url: String| async move {
        let pool = portcullis_reference_apis::connect(&url).await.unwrap();
        let all: Vec<(i64,)> = sqlx::query_as("select version from _sqlx_migrations")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        all.into_iter().map(|(v,)| v).collect::<Vec<_>>()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuers = rt.block_on(versions(url));
    let theirs = rt.block_on(versions(apis_url));
    assert!(
        !issuers.is_empty() && issuers.iter().all(|v| *v < ours),
        "{issuers:?}"
    );
    assert_eq!(theirs.len(), portcullis_reference_apis::db::migrations());
    assert!(theirs.iter().all(|v| *v >= ours), "{theirs:?}");
}

/// A reference APIs' URL that cannot be served stops start-up, naming the
/// setting and never its password.
#[test]
fn an_apis_database_url_that_cannot_be_served_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    for apis_url in [
        "postgres://postgres:hunter2@127.0.0.1:9/db",
        "mysql://127.0.0.1/db",
        "data/apis.db",
    ] {
        let out = portcullis()
            .arg("migrate")
            .current_dir(dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/p.db", dir.path().display()),
            )
            .env("PORTCULLIS_APIS_DATABASE_URL", apis_url)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{apis_url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("PORTCULLIS_APIS_DATABASE_URL"),
            "{apis_url}: {err}"
        );
        assert!(
            !err.contains("hunter2"),
            "the password is never echoed: {err}"
        );
        // The cause, not a pool's timeout.
        assert!(!err.contains("timed out"), "{apis_url}: {err}");
        // Both URLs are read before either database is opened; the
        // unreachable PostgreSQL is tried before the issuer's file is made.
        let made: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(made.is_empty(), "{apis_url}: nothing made, found {made:?}");
    }
}

/// The other way round: the issuer's PostgreSQL unreachable, the APIs on a
/// SQLite file. PostgreSQL is tried first, so their file is never made.
#[test]
fn an_unreachable_issuer_database_leaves_the_apis_file_unmade() {
    let dir = tempfile::tempdir().unwrap();
    let out = portcullis()
        .arg("migrate")
        .current_dir(dir.path())
        .env("DATABASE_URL", "postgres://postgres:hunter2@127.0.0.1:9/db")
        .env(
            "PORTCULLIS_APIS_DATABASE_URL",
            format!("sqlite://{}/apis/records.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let made: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(made.is_empty(), "nothing made, found {made:?}");
}

/// A URL the server cannot serve stops it, and creates nothing: a
/// PostgreSQL URL used to start a new SQLite file under `postgres:/`; now
/// it must reach PostgreSQL (here nothing listens) or stop.
#[test]
fn a_database_url_that_cannot_be_served_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://postgres:hunter2@127.0.0.1:9/db",
        "mysql://127.0.0.1/db",
        "data/portcullis.db",
    ] {
        let out = portcullis()
            .arg("migrate")
            .current_dir(dir.path())
            .env("DATABASE_URL", url)
            .env("PORTCULLIS_MASTER_KEY_FILE", dir.path().join("master.key"))
            .env("PORTCULLIS_SCOPES", scopes_file())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        if url.starts_with("postgres") {
            assert!(err.contains("cannot connect to PostgreSQL"), "{url}: {err}");
        } else {
            assert!(err.contains("DATABASE_URL"), "{url}: {err}");
            assert!(err.contains("sqlite://"), "{url}: {err}");
        }
        assert!(!err.contains("hunter2"), "the URL is never echoed: {err}");
        let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(
            created.is_empty(),
            "{url}: nothing created, found {created:?}"
        );
    }
}
