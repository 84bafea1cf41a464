//! Reads for the evidence files: an account's daily use per client, a
//! day at a time and a chunk of keys at a time, so a long export holds no
//! connection between chunks and no more than one chunk in memory.

use crate::db::Db;
use crate::error::Result;

/// One project's (client `""`) or client's use over one UTC day.
#[derive(Debug, sqlx::FromRow)]
pub struct DayRow {
    pub project_id: String,
    pub project_name: String,
    pub client_id: String,
    pub client_name: String,
    pub minted: i64,
    pub gated: i64,
    pub refused: i64,
    pub limited: i64,
}

/// The day's rows after `(project_id, client_id)` in key order, at most
/// `limit`. `day` counts UTC days since the epoch; hours are summed (the
/// hour rows are kept 30 days). Sums are cast: PostgreSQL's `sum` of a
/// bigint is a numeric.
pub async fn usage_day(
    db: &Db,
    account_id: &str,
    day: i64,
    after: (&str, &str),
    limit: i64,
) -> Result<Vec<DayRow>> {
    Ok(sqlx::query_as(
        "select u.project_id, coalesce(p.name, '') as project_name, u.client_id,
                coalesce(c.name, '') as client_name, u.minted, u.gated, u.refused, u.limited
         from (select project_id, client_id,
                      cast(sum(minted) as bigint) as minted, cast(sum(gated) as bigint) as gated,
                      cast(sum(refused) as bigint) as refused, cast(sum(limited) as bigint) as limited
               from usage_hours
               where account_id = $1 and hour >= $2 and hour < $3 and (project_id, client_id) > ($4, $5)
               group by project_id, client_id
               order by project_id, client_id
               limit $6) u
         left join projects p on p.id = u.project_id
         left join clients c on c.id = u.client_id
         order by u.project_id, u.client_id",
    )
    .bind(account_id)
    .bind(day * 24)
    .bind(day * 24 + 24)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The account's name, for a file's heading.
pub async fn account_name(db: &Db, account_id: &str) -> Result<String> {
    let row: Option<(String,)> = sqlx::query_as("select name from accounts where id = $1")
        .bind(account_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|(n,)| n).unwrap_or_default())
}
