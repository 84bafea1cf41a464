//! The `portcullis` binary itself: subcommands, help and start-up errors
//! (its database settings in `binary_databases`).

use std::process::Command;

pub(crate) fn portcullis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for var in [
        "PORTCULLIS_ADDR",
        "DATABASE_URL",
        "PORTCULLIS_APIS_DATABASE_URL",
        "PORTCULLIS_PUBLIC_URL",
        "PORTCULLIS_MASTER_KEY",
        "PORTCULLIS_MASTER_KEY_FILE",
        "PORTCULLIS_ISSUER",
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
        "PORTCULLIS_APIS_DATABASE_URL",
        "PORTCULLIS_PUBLIC_URL",
        "PORTCULLIS_SESSION_IDLE_MINUTES",
        "PORTCULLIS_SESSION_ABSOLUTE_HOURS",
        "PORTCULLIS_TRUSTED_PROXIES",
        "PORTCULLIS_HASH_CONCURRENCY",
        "PORTCULLIS_HEADER_TIMEOUT_SECS",
        "PORTCULLIS_REQUEST_TIMEOUT_SECS",
        "PORTCULLIS_MAX_CONNECTIONS",
        "LEPTOS_SITE_ROOT",
        "PORTCULLIS_SCOPES",
        "PORTCULLIS_MASTER_KEY",
        "PORTCULLIS_MASTER_KEY_FILE",
        "PORTCULLIS_ISSUER",
        "RUST_LOG",
        "PORTCULLIS_LOG_FORMAT",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
    for sub in ["serve", "migrate", "keys", "gates", "gate"] {
        assert!(help.contains(sub), "--help does not list {sub}");
    }
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

pub(crate) fn scopes_file() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml").into()
}

#[test]
fn keys_rotate_adds_a_key_and_keeps_the_old_one_published() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::harness::database_url_blocking(&dir);
    let key_file = dir.path().join("master.key");
    let rotate = || {
        portcullis()
            .args(["keys", "rotate"])
            .env("DATABASE_URL", &db)
            .env("PORTCULLIS_MASTER_KEY_FILE", &key_file)
            .env("PORTCULLIS_SCOPES", scopes_file())
            .output()
            .unwrap()
    };
    for round in 1..=2 {
        let out = rotate();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("new signing key key_"), "{stdout}");
        assert!(stdout.contains("signing in 300 s"), "{stdout}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (published, retired): (i64, i64) = rt.block_on(async {
            let pool = portcullis_core::db::connect(&db).await.unwrap();
            sqlx::query_as(
                "select count(*), count(retired_at) from signing_keys where unpublish_at is null or unpublish_at > 0",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        });
        assert_eq!((published, retired), (round, round - 1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }

    // Another master key cannot open these keys: start-up says so.
    let out = portcullis()
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("PORTCULLIS_MASTER_KEY", "ab".repeat(32))
        .env("PORTCULLIS_SCOPES", scopes_file())
        .env("PORTCULLIS_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sealed with another master key"),
        "{stderr}"
    );

    let out = portcullis()
        .args(["keys", "rotate"])
        .env("DATABASE_URL", &db)
        .env("PORTCULLIS_MASTER_KEY", "not-hex")
        .env("PORTCULLIS_SCOPES", scopes_file())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PORTCULLIS_MASTER_KEY") && stderr.contains("64 hex digits"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-hex"), "the key is never echoed");
}

#[test]
fn staff_add_reads_the_password_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = crate::harness::database_url_blocking(&dir);
    let run = |email: &str, password: &str| {
        let mut child = portcullis()
            .args(["staff", "add", email])
            .env("DATABASE_URL", &db)
            .env("PORTCULLIS_MASTER_KEY_FILE", dir.path().join("master.key"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("support@example.com", "a long enough passphrase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("staff member support@example.com added"));
    let out = run("support@example.com", "a long enough passphrase");
    assert!(!out.status.success(), "the same email twice");
    let out = run("short@example.com", "short");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("12"), "{stderr}");
    assert!(!stderr.contains("short\n"), "the password is never echoed");
}

#[test]
fn staff_reset_password_and_second_factor_from_the_command_line() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = crate::harness::database_url_blocking(&dir);
    let run = |args: &[&str], stdin: &str| {
        let mut child = portcullis()
            .args(args)
            .env("DATABASE_URL", &db)
            .env("PORTCULLIS_MASTER_KEY_FILE", dir.path().join("master.key"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{stdin}").unwrap();
        child.wait_with_output().unwrap()
    };
    let hash_and_epoch = || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let pool = portcullis_core::db::connect(&db).await.unwrap();
            let row: (String, i64) = sqlx::query_as(
                "select password_hash, session_epoch from users where email = 'support@example.com'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            pool.close().await;
            row
        })
    };
    let out = run(
        &["staff", "add", "support@example.com"],
        "a long enough passphrase",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = hash_and_epoch();

    let out = run(&["staff", "reset-password", "support@example.com"], "short");
    assert!(!out.status.success(), "the policy holds");
    assert_eq!(hash_and_epoch(), before, "a refused reset changes nothing");
    let out = run(
        &["staff", "reset-password", "nobody@example.com"],
        "another long passphrase",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no support staff member has the email nobody@example.com"),
        "{stderr}"
    );

    let out = run(
        &["staff", "reset-password", "support@example.com"],
        "another long passphrase",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("their sessions have ended"));
    let after = hash_and_epoch();
    assert_ne!(after.0, before.0, "a new hash");
    assert_eq!(after.1, before.1 + 1, "the session epoch moved on");
    assert!(!after.0.contains("another long passphrase"));

    let out = run(&["staff", "reset-second-factor", "support@example.com"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["staff", "reset-second-factor", "nobody@example.com"], "");
    assert!(!out.status.success());
}
