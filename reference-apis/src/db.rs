//! The reference APIs' storage: the pool they are handed (sqlx's `Any`
//! driver, SQLite or PostgreSQL, the same SQL on both) and their own
//! migrations in `reference-apis/migrations/`.
//!
//! Their migrations are numbered from 1,000,000,001 up, apart from the
//! issuer's (which stay below 1,000,000,000, `portcullis_core::db`), so the
//! two sets can share one database and its `_sqlx_migrations` table: each
//! migrator ignores the other's versions and checks its own.

use sqlx::migrate::{Migrate, MigrateError, Migrator};

/// The storage handle every store module takes.
pub type Db = sqlx::AnyPool;

/// Where the reference APIs' migration versions start.
pub const FIRST_VERSION: i64 = 1_000_000_000;

/// Migrations of ours this binary does not know mean a newer binary ran
/// here: refused below, as sqlx would refuse them were it not told to
/// ignore the issuer's.
static MIGRATOR: Migrator = Migrator {
    ignore_missing: true,
    ..sqlx::migrate!("./migrations")
};

/// How many migrations the reference APIs carry.
pub fn migrations() -> usize {
    MIGRATOR.iter().count()
}

/// Brings the reference APIs' tables up to date. On a database the issuer
/// migrated before these had migrations of their own (its 0004 made the
/// same tables), the first one finds them in place and changes nothing.
pub async fn migrate(db: &Db) -> Result<(), MigrateError> {
    let mut conn = db.acquire().await?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    drop(conn);
    if let Some(unknown) = applied
        .iter()
        .map(|m| m.version)
        .find(|v| *v > FIRST_VERSION && !MIGRATOR.version_exists(*v))
    {
        return Err(MigrateError::VersionMissing(unknown));
    }
    MIGRATOR.run(db).await
}

/// True when `e` is a unique-constraint violation (duplicate key).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
