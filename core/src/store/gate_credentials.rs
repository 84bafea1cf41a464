//! Gate credentials: one row each, the secret only as a keyed hash.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::error::Result;

#[derive(Clone, sqlx::FromRow)]
pub struct GateCredentialRow {
    pub id: String,
    pub api_id: String,
    pub name: String,
    pub secret_hash: String,
    pub created_at: Epoch,
    pub created_by: String,
    pub revoked_at: Option<Epoch>,
}

crate::debug_fields!(GateCredentialRow {
    id,
    api_id,
    name,
    created_at,
    revoked_at
});

const COLUMNS: &str = "id, api_id, name, secret_hash, created_at, created_by, revoked_at";

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    row: &GateCredentialRow,
) -> Result<()> {
    sqlx::query(
        "insert into gate_credentials (id, api_id, name, secret_hash, created_at, created_by)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&row.id)
    .bind(&row.api_id)
    .bind(&row.name)
    .bind(&row.secret_hash)
    .bind(row.created_at)
    .bind(&row.created_by)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn by_id<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<GateCredentialRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from gate_credentials where id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Every credential, newest first.
pub async fn all<'e>(db: impl Executor<'e, Database = Any>) -> Result<Vec<GateCredentialRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from gate_credentials order by created_at desc, id"
    ))
    .fetch_all(db)
    .await?)
}

/// Revokes a live credential; false if it was unknown or revoked already.
pub async fn revoke<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update gate_credentials set revoked_at = $2 where id = $1 and revoked_at is null",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}
