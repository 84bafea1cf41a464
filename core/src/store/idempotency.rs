//! Idempotency keys of the management API (see `crate::idempotency`).

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;

/// Frees the key if it was taken before `kept_before`, or if its first
/// request started before `running_before` and has not settled.
pub async fn forget_stale(
    db: &Db,
    client_id: &str,
    key: &str,
    kept_before: Epoch,
    running_before: Epoch,
) -> Result<()> {
    sqlx::query(
        "delete from idempotency_keys where client_id = $1 and idem_key = $2
         and (created_at < $3 or (status is null and created_at < $4))",
    )
    .bind(client_id)
    .bind(key)
    .bind(kept_before)
    .bind(running_before)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes the key for a first request; false if it is taken.
pub async fn claim(db: &Db, client_id: &str, key: &str, hash: &str, now: Epoch) -> Result<bool> {
    Ok(sqlx::query(
        "insert into idempotency_keys (client_id, idem_key, request_hash, created_at)
         values ($1, $2, $3, $4) on conflict (client_id, idem_key) do nothing",
    )
    .bind(client_id)
    .bind(key)
    .bind(hash)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// (request hash, status, response) of a taken key.
pub async fn get(
    db: &Db,
    client_id: &str,
    key: &str,
) -> Result<Option<(String, Option<i64>, Option<String>)>> {
    Ok(sqlx::query_as(
        "select request_hash, status, response from idempotency_keys where client_id = $1 and idem_key = $2",
    )
    .bind(client_id)
    .bind(key)
    .fetch_optional(db)
    .await?)
}

pub async fn settle(
    db: &Db,
    client_id: &str,
    key: &str,
    status: i64,
    response: &str,
) -> Result<()> {
    sqlx::query(
        "update idempotency_keys set status = $1, response = $2 where client_id = $3 and idem_key = $4",
    )
    .bind(status)
    .bind(response)
    .bind(client_id)
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn release(db: &Db, client_id: &str, key: &str) -> Result<()> {
    // Only a running one: a settled answer is kept its 24 hours.
    sqlx::query(
        "delete from idempotency_keys where client_id = $1 and idem_key = $2 and status is null",
    )
    .bind(client_id)
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets every key past its time (the housekeeping).
pub async fn purge(db: &Db, before: Epoch) -> Result<u64> {
    Ok(
        sqlx::query("delete from idempotency_keys where created_at < $1")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
