//! Support staff and the cross-account lookups only they may make.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;
use crate::model::Staff;

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
    now: Epoch,
) -> Result<()> {
    sqlx::query("insert into staff (user_id, created_at) values ($1, $2)")
        .bind(user_id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    user_id: String,
    email: String,
    session_epoch: i64,
    second_factor: i64,
}

pub async fn get(db: &Db, user_id: &str) -> Result<Option<Staff>> {
    let row: Option<StaffRow> = sqlx::query_as(
        "select u.id as user_id, u.email, u.session_epoch,
            (select count(*) from totp_factors t
             where t.user_id = u.id and t.confirmed_at is not null) as second_factor
         from staff s join users u on u.id = s.user_id where s.user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Staff {
        user_id: r.user_id,
        email: r.email,
        session_epoch: r.session_epoch,
        second_factor: r.second_factor > 0,
    }))
}

/// Whether the user is a staff member (by email, for the CLI).
pub async fn id_by_email(db: &Db, email: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "select u.id from staff s join users u on u.id = s.user_id where u.email = $1",
    )
    .bind(email)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id,)| id))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundClient {
    pub client_id: String,
    pub client_name: String,
    pub scopes: String,
    pub created_at: Epoch,
    pub last_used_at: Option<Epoch>,
    pub disabled_at: Option<Epoch>,
    pub disabled_reason: Option<String>,
    pub expires_at: Option<Epoch>,
    pub account_id: String,
    pub account_name: String,
    pub project_id: String,
    pub project_name: String,
}

const FOUND: &str =
    "select c.id as client_id, c.name as client_name, c.scopes, c.created_at, c.last_used_at,
        c.disabled_at, c.disabled_reason, c.expires_at, a.id as account_id, a.name as account_name,
        p.id as project_id, p.name as project_name
    from clients c join projects p on p.id = c.project_id join accounts a on a.id = c.account_id";

/// A LIKE pattern matching `needle` anywhere, its wildcards escaped.
fn contains_pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub async fn client(db: &Db, client_id: &str) -> Result<Option<FoundClient>> {
    Ok(sqlx::query_as(&format!("{FOUND} where c.id = $1"))
        .bind(client_id)
        .fetch_optional(db)
        .await?)
}

/// Clients of accounts or projects whose name contains `needle` (lower-cased).
pub async fn clients_by_name(db: &Db, needle: &str, limit: i64) -> Result<Vec<FoundClient>> {
    let pattern = contains_pattern(needle);
    Ok(sqlx::query_as(&format!(
        "{FOUND} where lower(a.name) like $1 escape '\\' or lower(p.name) like $1 escape '\\'
         order by a.name, p.name, c.created_at limit $2"
    ))
    .bind(pattern)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundProject {
    pub account_id: String,
    pub account_name: String,
    pub account_created_at: Epoch,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub archived_at: Option<Epoch>,
    pub clients: i64,
}

/// Accounts (with their projects, if any) whose account or project name
/// contains `needle` (lower-cased): so accounts without clients are found too.
pub async fn projects_by_name(db: &Db, needle: &str, limit: i64) -> Result<Vec<FoundProject>> {
    let pattern = contains_pattern(needle);
    Ok(sqlx::query_as(
        "select a.id as account_id, a.name as account_name, a.created_at as account_created_at,
                p.id as project_id, p.name as project_name, p.archived_at,
                (select count(*) from clients c where c.project_id = p.id) as clients
         from accounts a left join projects p on p.account_id = a.id
         where lower(a.name) like $1 escape '\\' or lower(p.name) like $1 escape '\\'
         order by a.name, p.name limit $2",
    )
    .bind(pattern)
    .bind(limit)
    .fetch_all(db)
    .await?)
}
