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

/// Checks the URL's scheme before anything is opened: sqlx reads text that
/// is not a `sqlite:` URL as a file name, so `postgres://…` used to become a
/// new SQLite file under a folder named `postgres:`. The URL itself is never
/// echoed (it may carry a password).
fn check_scheme(url: &str) -> Result<()> {
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => Ok(()),
        Some("postgres" | "postgresql") => Err(Error::Internal(
            "DATABASE_URL is a PostgreSQL URL, which this version cannot serve yet: \
             use a SQLite URL such as sqlite://data/portcullis.db"
                .into(),
        )),
        _ => Err(Error::Internal(
            "DATABASE_URL must be a SQLite URL such as sqlite://data/portcullis.db".into(),
        )),
    }
}

/// Opens (creating if needed, parent folder included) the database at `url`.
pub async fn connect(url: &str) -> Result<Db> {
    check_scheme(url)?;
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

#[cfg(test)]
mod tests {
    use super::check_scheme;

    #[test]
    fn only_sqlite_urls_are_served() {
        for ok in [
            "sqlite://data/p.db",
            "sqlite::memory:",
            "SQLite:///tmp/p.db",
        ] {
            assert!(check_scheme(ok).is_ok(), "{ok}");
        }
        let pg = check_scheme("postgres://admin:hunter2@127.0.0.1:5432/db").unwrap_err();
        assert!(pg.to_string().contains("PostgreSQL"), "{pg}");
        assert!(
            !pg.to_string().contains("hunter2"),
            "the URL is never echoed"
        );
        for bad in ["postgresql://db", "mysql://db", "data/p.db", ""] {
            assert!(check_scheme(bad).is_err(), "{bad}");
        }
    }
}
