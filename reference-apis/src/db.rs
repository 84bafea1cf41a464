//! The reference APIs' storage: the pool they are handed (sqlx's `Any`
//! driver, SQLite or PostgreSQL, the same SQL on both) and their own
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

use sqlx::migrate::{Migrate, MigrateError, Migrator};

/// The storage handle every store module takes.
pub type Db = sqlx::AnyPool;

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
