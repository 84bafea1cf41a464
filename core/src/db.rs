//! The connection pool and the migrations in `migrations/`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{Error, Result};

/// The storage handle every store module takes. PostgreSQL arrives behind
/// this same name.
pub type Db = sqlx::SqlitePool;

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens (creating if needed, parent folder included) the database at `url`.
pub async fn connect(url: &str) -> Result<Db> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("DATABASE_URL is not a usable SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let file = options.get_filename();
    if file != std::path::Path::new(":memory:") {
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Internal(format!("cannot create {}: {e}", parent.display())))?;
        }
    }
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?)
}

pub async fn migrate(db: &Db) -> Result<()> {
    MIGRATOR.run(db).await?;
    Ok(())
}

/// True when `e` is a unique-constraint violation (duplicate key).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
