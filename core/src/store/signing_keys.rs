//! Token signing keys. Platform-wide, not tenant-owned.

use crate::clock::Epoch;
use crate::error::Result;
use sqlx::{Any, AnyConnection, Executor};

#[derive(sqlx::FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub public_jwk: String,
    pub private_sealed: String,
    pub created_at: Epoch,
}

pub struct NewKeyRow<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub public_jwk: &'a str,
    pub private_sealed: &'a str,
}

/// Keys still published, oldest first.
pub async fn published<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Epoch,
) -> Result<Vec<KeyRow>> {
    Ok(sqlx::query_as(
        "select kid, alg, public_jwk, private_sealed, created_at from signing_keys
         where unpublish_at is null or unpublish_at > $1
         order by created_at, case when retired_at is null then 1 else 0 end, kid",
    )
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Adds `key` for its algorithm and marks the previous ones retired: they
/// stay published until `unpublish_old_at`.
pub async fn insert_active(
    tx: &mut AnyConnection,
    key: NewKeyRow<'_>,
    now: Epoch,
    unpublish_old_at: Epoch,
) -> Result<()> {
    sqlx::query(
        "update signing_keys set retired_at = $1, unpublish_at = $2
         where alg = $3 and retired_at is null",
    )
    .bind(now)
    .bind(unpublish_old_at)
    .bind(key.alg)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into signing_keys (kid, alg, public_jwk, private_sealed, created_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(key.kid)
    .bind(key.alg)
    .bind(key.public_jwk)
    .bind(key.private_sealed)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Forgets keys whose tokens have all expired.
pub async fn delete_unpublished<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Epoch,
) -> Result<u64> {
    Ok(sqlx::query(
        "delete from signing_keys where unpublish_at is not null and unpublish_at <= $1",
    )
    .bind(now)
    .execute(db)
    .await?
    .rows_affected())
}
