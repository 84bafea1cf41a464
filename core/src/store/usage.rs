//! Use summed over the cluster (see [`crate::usage`]): rows per project,
//! client and minute (kept 48 hours) and per hour (kept 30 days), each
//! batch added to both in one transaction.

use sqlx::{Any, Row};

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;
use portcullis_gate::usage::Counts;

/// One batch row, with the account that owns its project.
pub struct Added<'a> {
    pub account_id: &'a str,
    pub project_id: &'a str,
    /// `""`: the project as a whole.
    pub client_id: &'a str,
    pub minute: i64,
    pub counts: Counts,
}

const ADD_MINUTE: &str = "insert into usage_minutes
     (account_id, project_id, client_id, minute, minted, gated, refused, limited)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (project_id, client_id, minute) do update set
       minted = usage_minutes.minted + excluded.minted,
       gated = usage_minutes.gated + excluded.gated,
       refused = usage_minutes.refused + excluded.refused,
       limited = usage_minutes.limited + excluded.limited";

const ADD_HOUR: &str = "insert into usage_hours
     (account_id, project_id, client_id, hour, minted, gated, refused, limited)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (project_id, client_id, hour) do update set
       minted = usage_hours.minted + excluded.minted,
       gated = usage_hours.gated + excluded.gated,
       refused = usage_hours.refused + excluded.refused,
       limited = usage_hours.limited + excluded.limited";

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Adds `rows` to the minute and hour totals: every minute row, then
/// every hour row, each summed per key and in key order, so that two
/// writers (nodes, gate reports) lock rows in the same order and never
/// wait on each other in a cycle (PostgreSQL would abort one).
pub async fn add(tx: &mut sqlx::Transaction<'_, Any>, rows: &[Added<'_>]) -> Result<()> {
    use std::collections::BTreeMap;
    let mut minutes: BTreeMap<(&str, &str, i64), (&str, Counts)> = BTreeMap::new();
    let mut hours: BTreeMap<(&str, &str, i64), (&str, Counts)> = BTreeMap::new();
    for r in rows {
        for (table, bucket) in [
            (&mut minutes, r.minute),
            (&mut hours, r.minute.div_euclid(60)),
        ] {
            table
                .entry((r.project_id, r.client_id, bucket))
                .or_insert((r.account_id, Counts::default()))
                .1
                .add(&r.counts);
        }
    }
    for (sql, table) in [(ADD_MINUTE, &minutes), (ADD_HOUR, &hours)] {
        for ((project_id, client_id, bucket), (account_id, c)) in table {
            sqlx::query(sql)
                .bind(*account_id)
                .bind(*project_id)
                .bind(*client_id)
                .bind(*bucket)
                .bind(n(c.minted))
                .bind(n(c.gated))
                .bind(n(c.refused))
                .bind(n(c.limited))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Records that the gate report `id` was counted; false if it already was
/// (by any node).
pub async fn first_report(
    tx: &mut sqlx::Transaction<'_, Any>,
    id: &str,
    now: Epoch,
) -> Result<bool> {
    let done = sqlx::query(
        "insert into usage_reports (id, received_at) values ($1, $2)
         on conflict (id) do nothing",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Minute or hour buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Minute,
    Hour,
}

impl Span {
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Span::Minute => ("usage_minutes", "minute"),
            Span::Hour => ("usage_hours", "hour"),
        }
    }
}

fn counts(row: &sqlx::any::AnyRow, from: usize) -> Result<Counts> {
    let get = |i: usize| -> Result<u64> {
        let v: i64 = row.try_get(from + i)?;
        Ok(u64::try_from(v).unwrap_or(0))
    };
    Ok(Counts {
        minted: get(0)?,
        gated: get(1)?,
        refused: get(2)?,
        limited: get(3)?,
    })
}

/// The project's totals per bucket from bucket `from` on (every client and
/// the project's own row summed), oldest first; buckets with nothing are
/// left out.
pub async fn series(
    db: &Db,
    account_id: &str,
    project_id: &str,
    span: Span,
    from: i64,
) -> Result<Vec<(i64, Counts)>> {
    let (table, col) = span.table();
    let sql = format!(
        "select {col},
                cast(sum(minted) as bigint), cast(sum(gated) as bigint),
                cast(sum(refused) as bigint), cast(sum(limited) as bigint)
         from {table}
         where account_id = $1 and project_id = $2 and {col} >= $3
         group by {col} order by {col}"
    );
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(project_id)
        .bind(from)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<i64, _>(0)?, counts(r, 1)?)))
        .collect()
}

/// Tokens minted per client of the project from bucket `from` on.
pub async fn minted_by_client(
    db: &Db,
    account_id: &str,
    project_id: &str,
    span: Span,
    from: i64,
) -> Result<Vec<(String, i64, u64)>> {
    let (table, col) = span.table();
    let sql = format!(
        "select client_id, {col}, minted from {table}
         where account_id = $1 and project_id = $2 and {col} >= $3 and client_id <> ''
         order by client_id, {col}"
    );
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(project_id)
        .bind(from)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| {
            let minted: i64 = r.try_get(2)?;
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                u64::try_from(minted).unwrap_or(0),
            ))
        })
        .collect()
}

/// Forgets minutes before `minute`, hours before `hour` and gate report
/// ids received before `reports_before`.
pub async fn prune(db: &Db, minute: i64, hour: i64, reports_before: Epoch) -> Result<u64> {
    let mut gone = 0;
    for (sql, before) in [
        ("delete from usage_minutes where minute < $1", minute),
        ("delete from usage_hours where hour < $1", hour),
        (
            "delete from usage_reports where received_at < $1",
            reports_before,
        ),
    ] {
        gone += sqlx::query(sql)
            .bind(before)
            .execute(db)
            .await?
            .rows_affected();
    }
    Ok(gone)
}
