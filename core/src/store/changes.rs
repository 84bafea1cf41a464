//! The change feed's rows: appended inside a change's transaction, read in
//! order by every node.

use sqlx::{Any, AnyConnection, Executor};

use crate::clock::Epoch;
use crate::error::Result;

/// The PostgreSQL channel that wakes every node after a commit.
pub const CHANNEL: &str = "portcullis_changes";

/// Appends one change in the caller's transaction and returns its `seq`.
///
/// On PostgreSQL the table is locked for appends until the transaction
/// ends, so sequence numbers are handed out in commit order: a reader never
/// sees seq 8 committed while 7 is still to come (which would make it skip
/// 7 for good). Readers are not blocked. On SQLite the write lock that the
/// transaction already holds does the same. `NOTIFY` is delivered at commit.
pub async fn append(
    conn: &mut AnyConnection,
    kind: &str,
    target_id: &str,
    at: Epoch,
) -> Result<i64> {
    let postgres = conn.backend_name() == "PostgreSQL";
    if postgres {
        conn.execute("lock table changes in exclusive mode").await?;
    }
    let (seq,): (i64,) = sqlx::query_as(
        "insert into changes (seq, kind, target_id, at)
         select coalesce(max(seq), 0) + 1, $1, $2, $3 from changes
         returning seq",
    )
    .bind(kind)
    .bind(target_id)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    if postgres {
        conn.execute(format!("notify {CHANNEL}").as_str()).await?;
    }
    Ok(seq)
}

/// Changes after `seq`, oldest first.
pub async fn after<'e>(
    db: impl Executor<'e, Database = Any>,
    seq: i64,
    limit: i64,
) -> Result<Vec<(i64, String, String)>> {
    Ok(sqlx::query_as(
        "select seq, kind, target_id from changes where seq > $1 order by seq limit $2",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The newest sequence number (0 for none).
pub async fn latest<'e>(db: impl Executor<'e, Database = Any>) -> Result<i64> {
    let (seq,): (i64,) = sqlx::query_as("select coalesce(max(seq), 0) from changes")
        .fetch_one(db)
        .await?;
    Ok(seq)
}

/// When the first change after `seq` was committed, if there is one.
pub async fn oldest_after<'e>(
    db: impl Executor<'e, Database = Any>,
    seq: i64,
) -> Result<Option<Epoch>> {
    let (at,): (Option<Epoch>,) = sqlx::query_as("select min(at) from changes where seq > $1")
        .bind(seq)
        .fetch_one(db)
        .await?;
    Ok(at)
}

/// Forgets changes older than `before`, always keeping the newest (the next
/// `seq` is counted from it).
pub async fn prune<'e>(db: impl Executor<'e, Database = Any>, before: Epoch) -> Result<u64> {
    Ok(
        sqlx::query("delete from changes where at < $1 and seq < (select max(seq) from changes)")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
