//! Daily token quotas (see [`crate::quotas`]): tokens granted to nodes per
//! project and UTC day, and the day's warnings already sent.

use sqlx::{Any, Executor, Row};

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;

/// Tokens already granted for `project_id` on `day` (epoch days).
pub async fn granted(db: &Db, project_id: &str, day: i64) -> Result<i64> {
    let row =
        sqlx::query("select granted from token_quota_days where project_id = $1 and day = $2")
            .bind(project_id)
            .bind(day)
            .fetch_optional(db)
            .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => 0,
    })
}

/// Grants `n` more tokens if the day's total stays within `quota`, in one
/// statement (whoever else grants meanwhile); false if it would not.
pub async fn grant(db: &Db, project_id: &str, day: i64, n: i64, quota: i64) -> Result<bool> {
    if n > quota {
        return Ok(false);
    }
    let done = sqlx::query(
        "insert into token_quota_days (project_id, day, granted) values ($1, $2, $3)
         on conflict (project_id, day) do update set granted = token_quota_days.granted + excluded.granted
         where token_quota_days.granted + excluded.granted <= $4",
    )
    .bind(project_id)
    .bind(day)
    .bind(n)
    .bind(quota)
    .execute(db)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Records the day's `kind` warning for a project; false if sent before.
pub async fn note<'e>(
    db: impl Executor<'e, Database = Any>,
    project_id: &str,
    day: i64,
    kind: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "insert into token_quota_notices (project_id, day, kind, sent_at) values ($1, $2, $3, $4)
         on conflict (project_id, day, kind) do nothing",
    )
    .bind(project_id)
    .bind(day)
    .bind(kind)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Forgets days before `day`.
pub async fn prune(db: &Db, day: i64) -> Result<u64> {
    let mut gone = 0;
    for sql in [
        "delete from token_quota_days where day < $1",
        "delete from token_quota_notices where day < $1",
    ] {
        gone += sqlx::query(sql)
            .bind(day)
            .execute(db)
            .await?
            .rows_affected();
    }
    Ok(gone)
}
