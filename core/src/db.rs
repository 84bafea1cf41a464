//! The connection pool and the migrations in `migrations/`.
//!
//! One pool type for both backends: sqlx's `Any` driver runs the same SQL
//! (`$1` parameters, text ids, bigint epoch seconds) on SQLite and on
//! PostgreSQL, so every store function is written once.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::error::{Error, Result};

/// The storage handle every store module takes.
pub type Db = sqlx::AnyPool;

/// The issuer's migrations. Versions from 1,000,000,000 up are not ours: a
/// resource server sharing the database keeps its own there (the reference
/// APIs do), so sqlx is told to ignore applied versions it does not know,
/// and [`migrate`] checks ours itself, under the lock it holds.
pub static MIGRATOR: Migrator = Migrator {
    ignore_missing: true,
    locking: false,
    ..sqlx::migrate!("../migrations")
};

/// The first migration version that belongs to someone else.
pub const OTHERS_FROM: i64 = 1_000_000_000;

/// Which database a URL (or an open pool) points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads the URL's scheme before anything is opened: sqlx reads text
    /// that is not a known URL as a file name, so a typo used to become a
    /// new SQLite file. The URL itself is never echoed (it may carry a
    /// password).
    pub fn of_url(url: &str) -> Result<Self> {
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            _ => Err(Error::Setup(
                "DATABASE_URL must be a SQLite URL such as sqlite://data/portcullis.db \
                 or a PostgreSQL URL such as postgres://user@host:5432/portcullis"
                    .into(),
            )),
        }
    }

    /// The backend of an open pool.
    pub fn of(db: &Db) -> Self {
        if db
            .connect_options()
            .database_url
            .scheme()
            .starts_with("postgres")
        {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// The URL with any password replaced, for log lines and messages: the
/// one after the user name and any query parameter that names one
/// (`?password=`, libpq's `sslpassword=`).
pub fn redacted(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "(unparsable URL)".into();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.to_ascii_lowercase().contains("password");
                (
                    k.into_owned(),
                    if secret { "***".into() } else { v.into_owned() },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// Opens the database at `url`: a SQLite file (created if needed, parent
/// folder included) or a PostgreSQL database that must already exist.
pub async fn connect(url: &str) -> Result<Db> {
    sqlx::any::install_default_drivers();
    match Backend::of_url(url)? {
        Backend::Sqlite => connect_sqlite(url).await,
        Backend::Postgres => connect_postgres(url).await,
    }
}

async fn connect_sqlite(url: &str) -> Result<Db> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::Setup(format!("DATABASE_URL is not a usable SQLite URL: {e}")))?;
    let file = options.get_filename();
    // From the text: sqlx names an in-memory database
    // `file:sqlx-in-memory-N`, not `:memory:`.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !in_memory {
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Setup(format!("cannot create {}: {e}", parent.display())))?;
        }
    }
    // The Any driver takes a URL only: ask for create-if-missing there and
    // set the pragmas on each new connection.
    let url = if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    let options = AnyConnectOptions::from_str(&url)
        .map_err(|e| Error::Setup(format!("DATABASE_URL is not a usable SQLite URL: {e}")))?;
    Ok(AnyPoolOptions::new()
        // An in-memory database exists once per connection.
        .max_connections(if in_memory { 1 } else { 8 })
        // ... and lives only as long as that connection: the pool keeps it
        // open (sqlx's default idle and lifetime limits otherwise).
        .min_connections(u32::from(in_memory))
        .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
        .max_lifetime((!in_memory).then_some(Duration::from_secs(1800)))
        // A connection to a local file cannot go stale: no ping (a round
        // trip to the connection's thread) before every query.
        .test_before_acquire(false)
        // mmap: a connection drops its page cache whenever another one
        // wrote, and reading the pages back through a memory map costs a
        // copy-free lookup instead of a read system call a page (`make
        // bench`: a sixth of SQLite's time on the token path).
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "pragma journal_mode = wal; pragma synchronous = normal; \
                     pragma foreign_keys = on; pragma busy_timeout = 5000; \
                     pragma mmap_size = 268435456;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?)
}

async fn connect_postgres(url: &str) -> Result<Db> {
    let options = AnyConnectOptions::from_str(url)
        .map_err(|_| Error::Setup("DATABASE_URL is not a usable PostgreSQL URL".into()))?;
    let unreachable = |e: sqlx::Error| {
        Error::Setup(format!(
            "cannot connect to PostgreSQL at {}: {e}",
            redacted(url)
        ))
    };
    // One direct try first: the pool would retry until its timeout and
    // then say only that it timed out, hiding "connection refused".
    options
        .connect()
        .await
        .map_err(unreachable)?
        .close()
        .await
        .ok();
    AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(unreachable)
}

/// Brings the issuer's tables up to date, under sqlx's migration lock (on
/// PostgreSQL an advisory lock: nodes starting together take turns). A
/// migration of ours that this binary does not know means a newer
/// Portcullis migrated the database: refused, as sqlx would refuse it,
/// before anything runs.
pub async fn migrate(db: &Db) -> Result<()> {
    use sqlx::migrate::Migrate;
    let mut conn = db.acquire().await?;
    // PostgreSQL's advisory lock belongs to the connection's session:
    // should the unlock below fail or never run (a cancelled start-up),
    // the connection closes instead of going back to the pool holding it.
    // (SQLite takes no lock, and an in-memory database lives only as long
    // as its one connection.)
    if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
        conn.close_on_drop();
    }
    conn.lock().await?;
    let outcome = checked_run(&mut conn).await;
    let unlocked = conn.unlock().await;
    outcome?;
    unlocked?;
    Ok(())
}

/// The check and the run, on the connection that holds the lock.
async fn checked_run(conn: &mut sqlx::AnyConnection) -> Result<()> {
    use sqlx::migrate::Migrate;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    if let Some(unknown) = applied
        .iter()
        .map(|m| m.version)
        .find(|v| *v < OTHERS_FROM && !MIGRATOR.version_exists(*v))
    {
        return Err(sqlx::migrate::MigrateError::VersionMissing(unknown).into());
    }
    MIGRATOR.run_direct(conn).await?;
    Ok(())
}

/// True when `e` is a unique-constraint violation (duplicate key).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_served_and_nothing_else() {
        for ok in [
            "sqlite://data/p.db",
            "sqlite::memory:",
            "SQLite:///tmp/p.db",
        ] {
            assert_eq!(Backend::of_url(ok).unwrap(), Backend::Sqlite, "{ok}");
        }
        for pg in ["postgres://u@h/db", "postgresql://u:p@h:5432/db"] {
            assert_eq!(Backend::of_url(pg).unwrap(), Backend::Postgres, "{pg}");
        }
        for bad in ["mysql://admin:hunter2@db", "data/p.db", ""] {
            let e = Backend::of_url(bad).unwrap_err().to_string();
            assert!(e.contains("PostgreSQL URL"), "{e}");
            assert!(!e.contains("hunter2"), "the URL is never echoed");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        let r = redacted("postgres://admin:hunter2@127.0.0.1:5432/db");
        assert!(!r.contains("hunter2") && r.contains("admin"), "{r}");
        assert_eq!(redacted("sqlite://data/p.db"), "sqlite://data/p.db");
        // libpq takes the password as a parameter too.
        for url in [
            "postgres://admin@h/db?password=hunter2",
            "postgres://admin@h/db?sslmode=require&PASSWORD=hunter2",
            "postgres://admin@h/db?sslpassword=hunter2&application_name=x",
        ] {
            let r = redacted(url);
            assert!(!r.contains("hunter2") && r.contains("admin@h"), "{r}");
        }
        assert!(redacted("postgres://h/db?sslmode=require").ends_with("?sslmode=require"));
    }
}
