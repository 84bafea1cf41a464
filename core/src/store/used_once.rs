//! Values used once across the cluster (see [`crate::used_once`]).

use crate::clock::Epoch;
use crate::error::Result;
use sqlx::{Any, Executor};

/// True when the row is new; false when `key` was stored before.
pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
    expires_at: Epoch,
) -> Result<bool> {
    let done = sqlx::query(
        "insert into used_once (key, expires_at) values ($1, $2) on conflict (key) do nothing",
    )
    .bind(key)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets values expired a minute ago: a node whose clock runs behind
/// still finds what another node recorded.
pub async fn prune<'e>(db: impl Executor<'e, Database = Any>, now: Epoch) -> Result<u64> {
    let done = sqlx::query("delete from used_once where expires_at < $1")
        .bind(now - 60)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
