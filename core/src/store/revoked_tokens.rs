//! Revoked access-token ids, kept until the token would have expired.

use crate::clock::Epoch;
use crate::error::Result;
use sqlx::{Any, Executor};

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    client_id: &str,
    jti: &str,
    expires_at: Epoch,
    now: Epoch,
) -> Result<()> {
    // A second revocation of the same token changes nothing.
    sqlx::query(
        "insert into revoked_tokens (jti, account_id, client_id, expires_at, revoked_at)
         values ($1, $2, $3, $4, $5) on conflict (jti) do nothing",
    )
    .bind(jti)
    .bind(account_id)
    .bind(client_id)
    .bind(expires_at)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// How many of a client's revoked ids are still in force.
pub async fn live_for_client<'e>(
    db: impl Executor<'e, Database = Any>,
    client_id: &str,
    now: Epoch,
) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from revoked_tokens where client_id = $1 and expires_at > $2",
    )
    .bind(client_id)
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(n)
}

/// The expiry of a revoked token id, for the change feed.
pub async fn expiry<'e>(db: impl Executor<'e, Database = Any>, jti: &str) -> Result<Option<Epoch>> {
    Ok(
        sqlx::query_as("select expires_at from revoked_tokens where jti = $1")
            .bind(jti)
            .fetch_optional(db)
            .await?
            .map(|(at,): (Epoch,)| at),
    )
}

/// Revocations still in force, for the in-memory denylist.
pub async fn live<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Epoch,
) -> Result<Vec<(String, Epoch)>> {
    Ok(
        sqlx::query_as("select jti, expires_at from revoked_tokens where expires_at > $1")
            .bind(now)
            .fetch_all(db)
            .await?,
    )
}

pub async fn delete_expired<'e>(db: impl Executor<'e, Database = Any>, now: Epoch) -> Result<u64> {
    Ok(
        sqlx::query("delete from revoked_tokens where expires_at <= $1")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
