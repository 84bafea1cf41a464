//! Node heartbeats.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;

/// Records that node `id` is alive at `now`, and forgets nodes silent since
/// before `stale`. Returns how many nodes are alive (this one included).
pub async fn beat(db: &Db, id: &str, started_at: Epoch, now: Epoch, stale: Epoch) -> Result<i64> {
    sqlx::query(
        "insert into nodes (id, started_at, seen_at) values ($1, $2, $3)
         on conflict (id) do update set seen_at = excluded.seen_at",
    )
    .bind(id)
    .bind(started_at)
    .bind(now)
    .execute(db)
    .await?;
    sqlx::query("delete from nodes where seen_at < $1")
        .bind(stale)
        .execute(db)
        .await?;
    let (n,): (i64,) = sqlx::query_as("select count(*) from nodes")
        .fetch_one(db)
        .await?;
    Ok(n)
}

/// A node that stops cleanly leaves at once.
pub async fn leave<'e>(db: impl Executor<'e, Database = Any>, id: &str) -> Result<()> {
    sqlx::query("delete from nodes where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
