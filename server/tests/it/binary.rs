//! The `portcullis` binary itself: subcommands, help and start-up errors.

use std::process::Command;

fn portcullis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for var in [
        "PORTCULLIS_ADDR",
        "DATABASE_URL",
        "PORTCULLIS_PUBLIC_URL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn help_documents_every_setting() {
    let out = portcullis().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "PORTCULLIS_ADDR",
        "DATABASE_URL",
        "PORTCULLIS_PUBLIC_URL",
        "PORTCULLIS_SESSION_IDLE_MINUTES",
        "PORTCULLIS_SESSION_ABSOLUTE_HOURS",
        "PORTCULLIS_TRUSTED_PROXIES",
        "PORTCULLIS_HASH_CONCURRENCY",
        "LEPTOS_SITE_ROOT",
        "PORTCULLIS_SCOPES",
        "RUST_LOG",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
    for sub in ["serve", "migrate"] {
        assert!(help.contains(sub), "--help does not list {sub}");
    }
}

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/folder/p.db");
    for _ in 0..2 {
        let out = portcullis()
            .arg("migrate")
            .env("DATABASE_URL", format!("sqlite://{}", db.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("schema up to date"));
    }
    assert!(db.exists());
}

#[test]
fn a_broken_scope_catalogue_stops_start_up_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = include_str!("../../../scopes.toml");
    let broken = dir.path().join("scopes.toml");
    // Declare the first Partner scope a second time, at the end.
    let first = shipped.find("[[api.scope]]").unwrap();
    let dup = &shipped[first..shipped[first + 1..].find("[[api.scope]]").unwrap() + first + 1];
    std::fs::write(&broken, format!("{shipped}\n{dup}")).unwrap();
    let line = shipped.lines().count() + 3;

    let out = portcullis()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("PORTCULLIS_SCOPES", &broken)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/p.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:{line}: duplicate scope \"applications:read\"",
        broken.display()
    );
    assert!(err.contains(&expected), "{err}\nexpected: {expected}");
    assert!(!dir.path().join("p.db").exists(), "nothing was created");
}

#[test]
fn bad_settings_stop_start_up_with_a_clear_message() {
    let out = portcullis()
        .args(["serve", "--public-url", "ftp://example.com"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PORTCULLIS_PUBLIC_URL must be an http(s) URL"),
        "{err}"
    );

    let out = portcullis()
        .env("PORTCULLIS_SESSION_IDLE_MINUTES", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PORTCULLIS_SESSION_IDLE_MINUTES")
            || String::from_utf8_lossy(&out.stderr).contains("session-idle-minutes")
    );
}
