//! Revoked access-token ids, kept until the token would have expired.

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;

pub async fn insert(
    db: &Db,
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

/// Revocations still in force, for the in-memory denylist.
pub async fn live(db: &Db, now: Epoch) -> Result<Vec<(String, Epoch)>> {
    Ok(
        sqlx::query_as("select jti, expires_at from revoked_tokens where expires_at > $1")
            .bind(now)
            .fetch_all(db)
            .await?,
    )
}

pub async fn delete_expired(db: &Db, now: Epoch) -> Result<u64> {
    Ok(
        sqlx::query("delete from revoked_tokens where expires_at <= $1")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
