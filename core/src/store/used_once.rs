//! Values used once across the cluster (see [`crate::used_once`]).

use std::collections::HashSet;

use crate::clock::Epoch;
use crate::error::Result;
use sqlx::{Any, Executor, Row};

/// Inserts `(key, expires_at)` rows in one statement; the keys that were
/// new (a key stored before, by any node, is not among them). Keys must
/// be distinct.
pub async fn insert_new<'e>(
    db: impl Executor<'e, Database = Any>,
    rows: &[(&str, Epoch)],
) -> Result<HashSet<String>> {
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let mut sql = String::from("insert into used_once (key, expires_at) values ");
    for i in 0..rows.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
    }
    sql.push_str(" on conflict (key) do nothing returning key");
    // One text per group size: not worth a slot in the statement cache.
    let mut query = sqlx::query(&sql).persistent(false);
    for (key, expires_at) in rows {
        query = query.bind(*key).bind(*expires_at);
    }
    let inserted = query.fetch_all(db).await?;
    inserted
        .iter()
        .map(|row| Ok(row.try_get::<String, _>(0)?))
        .collect()
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
