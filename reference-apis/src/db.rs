//! The reference APIs' storage: a pool of their own ([`connect`]; sqlx's
//! `Any` driver, SQLite or PostgreSQL, the same SQL on both) and their own
//! migrations in `reference-apis/migrations/`.
//!
//! Their migrations are numbered from 1,000,000,001 (the range
//! 1,000,000,000 to 1,999,999,999 is theirs), apart from the issuer's (below
//! 1,000,000,000, `portcullis_core::db`), so the two sets can share one
//! database and its `_sqlx_migrations` table: each migrator ignores
//! versions outside its range and refuses unknown ones inside it. On a
//! shared database the issuer's run first (the Portcullis process does so):
//! its 0004 made these tables before they had migrations of their own, and
//! would fail on finding them.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Executor;
use sqlx::{ConnectOptions, Connection};

/// The storage handle every store module takes.
pub type Db = sqlx::AnyPool;

/// Connections of their pool: these APIs' calls are short single
/// statements or one small transaction.
pub const CONNECTIONS: u32 = 4;

/// How long a call waits for one of those connections before it is
/// answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why [`connect`] could not open the pool. Never holds the URL (it may
/// carry a password).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "not a SQLite URL (sqlite://data/apis.db) or a PostgreSQL URL \
         (postgres://user@host:5432/apis)"
    )]
    Scheme,
    #[error("not a usable URL: {0}")]
    Url(sqlx::Error),
    #[error("cannot create {folder}: {source}")]
    Folder {
        folder: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Where a URL [`check`]ed points.
enum Target {
    /// The file's folder, if it must exist; whether it is in memory.
    Sqlite {
        folder: Option<PathBuf>,
        in_memory: bool,
    },
    Postgres(AnyConnectOptions),
}

/// Reads `url` without opening or creating anything, so that start-up
/// can refuse a bad setting before it touches any database.
pub fn check(url: &str) -> Result<(), ConnectError> {
    target(url).map(|_| ())
}

fn target(url: &str) -> Result<Target, ConnectError> {
    // The scheme first: sqlx reads text that is not a URL as a file name.
    match url
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("sqlite") => {
            let options = SqliteConnectOptions::from_str(url).map_err(ConnectError::Url)?;
            // From the text: sqlx names an in-memory database
            // `file:sqlx-in-memory-N`, not `:memory:`.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let folder = options
                .get_filename()
                .parent()
                .filter(|p| !in_memory && !p.as_os_str().is_empty())
                .map(Path::to_path_buf);
            Ok(Target::Sqlite { folder, in_memory })
        }
        Some("postgres" | "postgresql") => Ok(Target::Postgres(
            AnyConnectOptions::from_str(url).map_err(ConnectError::Url)?,
        )),
        _ => Err(ConnectError::Scheme),
    }
}

/// Opens the reference APIs' own pool on `url`: a SQLite file (made, with
/// its folder, if missing) or a PostgreSQL database. Their own even when
/// `url` is the issuer's database: a flood of API calls waits for these
/// connections, not for those the console and the management API use.
pub async fn connect(url: &str) -> Result<Db, ConnectError> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    let in_memory = match target(url)? {
        Target::Postgres(options) => {
            // One direct try first: the pool would retry until its timeout
            // and then say only that it timed out, hiding the cause.
            options.connect().await?.close().await.ok();
            return Ok(pool.connect_with(options).await?);
        }
        Target::Sqlite { folder, in_memory } => {
            if let Some(folder) = folder {
                std::fs::create_dir_all(&folder)
                    .map_err(|source| ConnectError::Folder { folder, source })?;
            }
            in_memory
        }
    };
    // The Any driver takes a URL only: create-if-missing goes there, the
    // pragmas run on each new connection (WAL and a busy timeout: the
    // issuer's pool may write the same file; mmap, as the issuer's).
    let url = match (url.contains("mode="), url.contains('?')) {
        (true, _) => url.to_owned(),
        (false, true) => format!("{url}&mode=rwc"),
        (false, false) => format!("{url}?mode=rwc"),
    };
    Ok(pool
        // An in-memory database exists once per connection.
        .max_connections(if in_memory { 1 } else { CONNECTIONS })
        // ... and lives only as long as that connection: the pool keeps it
        // open (sqlx's default idle and lifetime limits otherwise).
        .min_connections(u32::from(in_memory))
        .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
        .max_lifetime((!in_memory).then_some(Duration::from_secs(1800)))
        // A connection to a local file cannot go stale: no ping first.
        .test_before_acquire(false)
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
        .connect(&url)
        .await?)
}

/// The migration versions that are the reference APIs'.
pub const VERSIONS: Range<i64> = 1_000_000_000..2_000_000_000;

/// [`migrate`] checks versions in [`VERSIONS`] itself and holds sqlx's
/// lock around that check and the run.
static MIGRATOR: Migrator = Migrator {
    ignore_missing: true,
    locking: false,
    ..sqlx::migrate!("./migrations")
};

/// How many migrations the reference APIs carry.
pub fn migrations() -> usize {
    MIGRATOR.iter().count()
}

/// Brings the reference APIs' tables up to date, under sqlx's migration
/// lock (on PostgreSQL an advisory lock: processes starting together take
/// turns). A version of theirs that this binary does not know (a newer
/// release migrated the database) is refused before anything runs.
pub async fn migrate(db: &Db) -> Result<(), MigrateError> {
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
    outcome.and(unlocked)
}

async fn checked_run(conn: &mut sqlx::AnyConnection) -> Result<(), MigrateError> {
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    if let Some(unknown) = applied
        .iter()
        .map(|m| m.version)
        .find(|v| VERSIONS.contains(v) && !MIGRATOR.version_exists(*v))
    {
        return Err(MigrateError::VersionMissing(unknown));
    }
    MIGRATOR.run_direct(conn).await
}

/// True when `e` is a unique-constraint violation (duplicate key).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_before_anything_is_opened() {
        for ok in [
            "sqlite://data/apis.db",
            "sqlite::memory:",
            "postgres://u:p@h:5432/db",
        ] {
            check(ok).unwrap();
        }
        for bad in ["mysql://u:hunter2@h/db", "data/apis.db", ""] {
            let e = check(bad).unwrap_err();
            assert!(matches!(e, ConnectError::Scheme), "{bad}: {e}");
            assert!(
                !e.to_string().contains("hunter2"),
                "the URL is never echoed"
            );
        }
    }

    /// sqlx names an in-memory database `file:sqlx-in-memory-N`: read from
    /// the file name, every further connection of the pool would be a new,
    /// empty database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_in_memory_database_is_one_database() {
        let db = connect("sqlite::memory:").await.unwrap();
        migrate(&db).await.unwrap();
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    sqlx::query("select count(*) from caas_categories")
                        .fetch_one(&db)
                        .await
                        .map(|_| ())
                })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        db.close().await;
    }
}
