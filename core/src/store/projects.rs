//! Projects. Every query takes the caller's account id.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: String,
    pub api_id: String,
    pub token_ttl_secs: i64,
    pub created_at: Epoch,
    pub archived_at: Option<Epoch>,
    pub rate_per_sec: i64,
    pub rate_burst: i64,
    /// 1: no secrets, DPoP-bound tokens (see migration 0022).
    pub keys_only: i64,
    /// Retire clients unused this many days; null: as the account; 0: never.
    pub dormant_after_days: Option<i64>,
    /// Tokens a UTC day on all nodes together; null: no quota.
    pub daily_token_quota: Option<i64>,
}

const COLUMNS: &str = "id, account_id, name, description, api_id, token_ttl_secs, created_at, \
                       archived_at, rate_per_sec, rate_burst, keys_only, dormant_after_days, daily_token_quota";

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    p: &ProjectRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into projects (id, account_id, name, name_key, description, api_id, token_ttl_secs,
                               created_at, rate_per_sec, rate_burst)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&p.id)
    .bind(&p.account_id)
    .bind(&p.name)
    .bind(p.name.to_lowercase())
    .bind(&p.description)
    .bind(&p.api_id)
    .bind(p.token_ttl_secs)
    .bind(p.created_at)
    .bind(p.rate_per_sec)
    .bind(p.rate_burst)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<ProjectRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from projects where account_id = $1 and id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// One project of any account, for the change feed.
pub async fn by_id<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<ProjectRow>> {
    Ok(
        sqlx::query_as(&format!("select {COLUMNS} from projects where id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Live projects first, then archived ones; newest first within each.
pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
) -> Result<Vec<ProjectRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from projects where account_id = $1
         order by case when archived_at is null then 0 else 1 end, created_at desc, id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await?)
}

/// How many projects the account has, archived ones included.
pub async fn count<'e>(db: impl Executor<'e, Database = Any>, account_id: &str) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from projects where account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await?;
    Ok(n)
}

/// Every project of every account, for the in-memory registry at start-up.
pub async fn all<'e>(db: impl Executor<'e, Database = Any>) -> Result<Vec<ProjectRow>> {
    Ok(sqlx::query_as(&format!("select {COLUMNS} from projects"))
        .fetch_all(db)
        .await?)
}

pub async fn update_settings<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    name: &str,
    description: &str,
    token_ttl_secs: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update projects set name = $1, name_key = $2, description = $3, token_ttl_secs = $4
         where account_id = $5 and id = $6 and archived_at is null",
    )
    .bind(name)
    .bind(name.to_lowercase())
    .bind(description)
    .bind(token_ttl_secs)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Turns "keys only" on or off for a live project; on only while no live
/// client of it holds a secret (checked in the same statement).
pub async fn set_keys_only<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    on: bool,
) -> Result<bool> {
    Ok(sqlx::query(
        "update projects set keys_only = $1
         where account_id = $2 and id = $3 and archived_at is null
           and ($1 = 0 or not exists (
               select 1 from clients c where c.project_id = projects.id
                 and c.auth_method = $4 and c.disabled_at is null))",
    )
    .bind(i64::from(on))
    .bind(account_id)
    .bind(id)
    .bind(crate::store::clients::AUTH_SECRET)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Locks a live project's row for the rest of the transaction (on SQLite,
/// the database's write lock), so that checks about its clients and the
/// write that follows them cannot interleave with another transaction's.
/// False if the project is unknown or archived.
pub async fn lock_live<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "update projects set archived_at = archived_at
         where account_id = $1 and id = $2 and archived_at is null",
    )
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

pub async fn archive<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update projects set archived_at = $1
         where account_id = $2 and id = $3 and archived_at is null",
    )
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

pub async fn set_rate_limit<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    per_sec: i64,
    burst: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "update projects set rate_per_sec = $1, rate_burst = $2
         where account_id = $3 and id = $4 and archived_at is null",
    )
    .bind(per_sec)
    .bind(burst)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// A live project's setting that may be unset (null), by column.
#[derive(Debug, Clone, Copy)]
pub enum Setting {
    /// Days unused before a client is retired; null: as the account; 0: never.
    DormantAfterDays,
    /// Tokens a UTC day; null: no quota.
    DailyTokenQuota,
}

/// Sets one of a live project's [`Setting`]s; false if the project is
/// unknown to the account or archived.
pub async fn set<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    setting: Setting,
    value: Option<i64>,
) -> Result<bool> {
    let column = match setting {
        Setting::DormantAfterDays => "dormant_after_days",
        Setting::DailyTokenQuota => "daily_token_quota",
    };
    Ok(sqlx::query(&format!(
        "update projects set {column} = $1
         where account_id = $2 and id = $3 and archived_at is null"
    ))
    .bind(value)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}
