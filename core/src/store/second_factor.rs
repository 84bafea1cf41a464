//! TOTP factors and recovery codes. Keyed by user: a person's second factor
//! is theirs, whichever account they act in.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::error::Result;

#[derive(sqlx::FromRow)]
pub struct FactorRow {
    pub secret_sealed: String,
    pub confirmed_at: Option<Epoch>,
    pub last_step: i64,
}

crate::debug_fields!(FactorRow {
    confirmed_at,
    last_step
});

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
) -> Result<Option<FactorRow>> {
    Ok(sqlx::query_as(
        "select secret_sealed, confirmed_at, last_step from totp_factors where user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// A new unconfirmed secret, replacing an earlier unconfirmed one; a
/// confirmed factor is left alone (false).
pub async fn put_unconfirmed<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
    secret_sealed: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "insert into totp_factors (user_id, secret_sealed, created_at) values ($1, $2, $3)
         on conflict (user_id) do update set secret_sealed = excluded.secret_sealed,
             created_at = excluded.created_at, last_step = 0
         where totp_factors.confirmed_at is null",
    )
    .bind(user_id)
    .bind(secret_sealed)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Records `step` as used if no later step was (a code works once);
/// confirms the factor on its first use.
pub async fn use_step<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
    step: i64,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update totp_factors set last_step = $1, confirmed_at = coalesce(confirmed_at, $2)
         where user_id = $3 and last_step < $1",
    )
    .bind(step)
    .bind(now)
    .bind(user_id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

pub async fn delete<'e>(db: impl Executor<'e, Database = Any>, user_id: &str) -> Result<bool> {
    Ok(sqlx::query("delete from totp_factors where user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected()
        == 1)
}

pub async fn delete_recovery_codes<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
) -> Result<()> {
    sqlx::query("delete from recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn insert_recovery_code<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
    code_hash: &str,
) -> Result<()> {
    sqlx::query("insert into recovery_codes (user_id, code_hash) values ($1, $2)")
        .bind(user_id)
        .bind(code_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Spends an unused recovery code; false if there is none such.
pub async fn spend_recovery_code<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
    code_hash: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update recovery_codes set used_at = $1
         where user_id = $2 and code_hash = $3 and used_at is null",
    )
    .bind(now)
    .bind(user_id)
    .bind(code_hash)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

pub async fn unused_recovery_codes<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from recovery_codes where user_id = $1 and used_at is null",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?;
    Ok(n)
}

/// Sets or clears the account-wide requirement.
pub async fn set_required<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    since: Option<Epoch>,
) -> Result<()> {
    sqlx::query("update accounts set second_factor_required_at = $1 where id = $2")
        .bind(since)
        .bind(account_id)
        .execute(db)
        .await?;
    Ok(())
}
