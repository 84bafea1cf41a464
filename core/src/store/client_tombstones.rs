//! Deleted clients whose tokens may still be live (see migration 0028).

use sqlx::{Any, AnyConnection, Executor};

use crate::clock::Epoch;
use crate::error::Result;

/// A deleted client, refused by gates until `until`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tombstone {
    pub id: String,
    pub account_id: String,
    pub project_id: String,
    #[sqlx(rename = "until_at")]
    pub until: Epoch,
}

const COLUMNS: &str = "id, account_id, project_id, until_at";

/// Buries the client about to be deleted (same transaction).
pub async fn bury(tx: &mut AnyConnection, account_id: &str, id: &str, until: Epoch) -> Result<()> {
    sqlx::query(
        "insert into client_tombstones (id, account_id, project_id, until_at)
         select id, account_id, project_id, $3 from clients where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(until)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn by_id<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<Tombstone>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from client_tombstones where id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Tombstones still in force, for the registry.
pub async fn live<'e>(db: impl Executor<'e, Database = Any>, now: Epoch) -> Result<Vec<Tombstone>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from client_tombstones where until_at > $1"
    ))
    .bind(now)
    .fetch_all(db)
    .await?)
}

pub async fn delete_expired<'e>(db: impl Executor<'e, Database = Any>, now: Epoch) -> Result<u64> {
    Ok(
        sqlx::query("delete from client_tombstones where until_at <= $1")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
