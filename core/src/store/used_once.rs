//! Values used once across the cluster (see [`crate::used_once`]).

use std::collections::HashSet;

use crate::clock::Epoch;
use crate::db::Backend;
use crate::error::Result;
use sqlx::{Any, Executor, Row};

/// SQLite: one statement text whatever the group's size (the rows come as
/// one JSON array), so the connection prepares it once and keeps it; the
/// `where true` is SQLite's rule for an upsert from a `select`.
const INSERT_SQLITE: &str = "insert into used_once (key, expires_at) \
     select value ->> 0, value ->> 1 from json_each($1) where true \
     on conflict (key) do nothing returning key";

/// A value's row key: its expiry, zero-padded, before its digest. Rows
/// then sort in time order, so a group's inserts (and the housekeeping's
/// deletes) touch the index's last (first) few pages instead of one random
/// page a value: on SQLite that was most of a value's cost (`make bench`).
/// The expiry is the signed `exp` (or proof `iat` + window), so a replay
/// of the same JWT names the same row on every node; another JWT with the
/// same `jti` but another time can only be made by the key's holder.
pub fn row_key(expires_at: Epoch, digest: &str) -> String {
    format!("{}.{digest}", expiry_prefix(expires_at))
}

/// The start of the row keys of values that expire at `at`: every key
/// below it expired before (expiries are minutes from now, so always
/// twelve digits).
fn expiry_prefix(at: Epoch) -> String {
    format!("{:012}", at.max(0))
}

/// Inserts `(key, expires_at)` rows in one statement; the keys that were
/// new (a key stored before, by any node, is not among them). Keys must
/// be distinct.
pub async fn insert_new<'e>(
    db: impl Executor<'e, Database = Any>,
    backend: Backend,
    rows: &[(&str, Epoch)],
) -> Result<HashSet<String>> {
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let inserted = match backend {
        Backend::Sqlite => {
            let json = serde_json::to_string(rows)
                .map_err(|e| crate::error::Error::Internal(format!("used-once rows: {e}")))?;
            sqlx::query(INSERT_SQLITE).bind(json).fetch_all(db).await?
        }
        Backend::Postgres => {
            let mut sql = String::from("insert into used_once (key, expires_at) values ");
            for i in 0..rows.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
            }
            sql.push_str(" on conflict (key) do nothing returning key");
            // One text per group size: not worth a slot in the statement
            // cache (PostgreSQL parses it in its own process).
            let mut query = sqlx::query(&sql).persistent(false);
            for (key, expires_at) in rows {
                query = query.bind(*key).bind(*expires_at);
            }
            query.fetch_all(db).await?
        }
    };
    inserted
        .iter()
        .map(|row| Ok(row.try_get::<String, _>(0)?))
        .collect()
}

/// Forgets values expired a minute ago: a node whose clock runs behind
/// still finds what another node recorded. A range of the primary key:
/// keys begin with their zero-padded expiry ([`row_key`]).
pub async fn prune<'e>(db: impl Executor<'e, Database = Any>, now: Epoch) -> Result<u64> {
    let done = sqlx::query("delete from used_once where key < $1")
        .bind(expiry_prefix(now - 60))
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
