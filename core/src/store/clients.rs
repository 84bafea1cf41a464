//! OAuth clients. Every query on behalf of a caller takes the account id.

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;
use sqlx::{Any, AnyConnection, Executor};

#[derive(Clone, sqlx::FromRow)]
pub struct ClientRow {
    pub id: String,
    pub account_id: String,
    pub project_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: String,
    pub created_at: Epoch,
    pub last_used_at: Option<Epoch>,
    pub disabled_at: Option<Epoch>,
    pub disabled_reason: Option<String>,
    pub expires_at: Option<Epoch>,
    pub retire_at: Option<Epoch>,
    /// Tokens issued at or before this second are revoked (past the cap on
    /// revoked ids per client).
    pub revoked_before: Option<Epoch>,
    /// `client_secret` or `private_key_jwt`.
    pub auth_method: String,
    /// private_key_jwt: the client's public keys, a JWK Set as JSON.
    pub public_keys: Option<String>,
    /// private_key_jwt with keys the partner hosts at this URL.
    pub jwks_uri: Option<String>,
    /// workload_identity: what it trusts (see `crate::workload_identity`).
    pub workload_trust: Option<String>,
    /// The workload that signed in last, described.
    pub last_workload: Option<String>,
}

/// The values of `clients.auth_method`.
pub const AUTH_SECRET: &str = "client_secret";
pub const AUTH_PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const AUTH_WORKLOAD: &str = "workload_identity";

crate::debug_fields!(ClientRow {
    id,
    account_id,
    project_id,
    name,
    scopes,
    disabled_at,
    expires_at,
    retire_at,
    auth_method
});

const COLUMNS: &str = "id, account_id, project_id, name, secret_hash, scopes, created_at, \
                       last_used_at, disabled_at, disabled_reason, expires_at, retire_at, \
                       revoked_before, auth_method, public_keys, jwks_uri, workload_trust, \
                       last_workload";

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    c: &ClientRow,
    created_by: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "insert into clients (id, account_id, project_id, name, secret_hash, scopes, created_at, created_by, expires_at,
                              auth_method, public_keys, jwks_uri, workload_trust)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&c.id)
    .bind(&c.account_id)
    .bind(&c.project_id)
    .bind(&c.name)
    .bind(&c.secret_hash)
    .bind(&c.scopes)
    .bind(c.created_at)
    .bind(created_by)
    .bind(c.expires_at)
    .bind(&c.auth_method)
    .bind(&c.public_keys)
    .bind(&c.jwks_uri)
    .bind(&c.workload_trust)
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces a live key or workload client's credentials: pasted keys, a
/// `jwks_uri`, or a workload trust, for a client of `auth_method`.
pub async fn set_credentials<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    auth_method: &str,
    c: &Credentials<'_>,
) -> Result<bool> {
    Ok(sqlx::query(
        "update clients set public_keys = $1, jwks_uri = $5, workload_trust = $6
         where account_id = $2 and id = $3 and auth_method = $4 and disabled_at is null",
    )
    .bind(c.public_keys)
    .bind(account_id)
    .bind(id)
    .bind(auth_method)
    .bind(c.jwks_uri)
    .bind(c.workload_trust)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// What proves a key or workload client: one of the three is set.
pub struct Credentials<'a> {
    pub public_keys: Option<&'a str>,
    pub jwks_uri: Option<&'a str>,
    pub workload_trust: Option<&'a str>,
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<ClientRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from clients where account_id = $1 and id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

pub async fn list_for_project<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    project_id: &str,
) -> Result<Vec<ClientRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from clients where account_id = $1 and project_id = $2
         order by created_at, id"
    ))
    .bind(account_id)
    .bind(project_id)
    .fetch_all(db)
    .await?)
}

/// Live client counts per project of one account.
pub async fn count_by_project<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "select project_id, count(*) from clients
         where account_id = $1 and disabled_at is null group by project_id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?)
}

/// Per project, the live clients (not retired or revoked) that hold a
/// secret: what an owner moves to keys before a project goes keys only.
pub async fn secrets_by_project<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "select project_id, count(*) from clients
         where account_id = $1 and disabled_at is null and auth_method = $2
         group by project_id",
    )
    .bind(account_id)
    .bind(AUTH_SECRET)
    .fetch_all(db)
    .await?)
}

/// How many clients the account has, retired and expired ones included
/// (every row is held in memory by each node and gate until deleted).
pub async fn count<'e>(db: impl Executor<'e, Database = Any>, account_id: &str) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from clients where account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await?;
    Ok(n)
}

/// Every client, for the in-memory registry at start-up.
pub async fn all<'e>(db: impl Executor<'e, Database = Any>) -> Result<Vec<ClientRow>> {
    Ok(sqlx::query_as(&format!("select {COLUMNS} from clients"))
        .fetch_all(db)
        .await?)
}

/// One client of any account, for the change feed (which re-reads what
/// changed, after the commit).
pub async fn by_id<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<ClientRow>> {
    Ok(
        sqlx::query_as(&format!("select {COLUMNS} from clients where id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Narrows a live client's scopes, only if they are still `from` (a
/// compare-and-set: two narrowings racing from the same row cannot add up
/// to a scope that one of them removed, and a revoked client stays as it
/// is).
pub async fn set_scopes<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    from: &str,
    scopes: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "update clients set scopes = $1
             where account_id = $2 and id = $3 and scopes = $4 and disabled_at is null",
    )
    .bind(scopes)
    .bind(account_id)
    .bind(id)
    .bind(from)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Records coalesced "last used" times; never moves one backwards.
pub async fn record_last_used(db: &Db, batch: &[(String, Epoch)]) -> Result<()> {
    let mut tx = db.begin().await?;
    for (id, at) in batch {
        sqlx::query(
            "update clients set last_used_at = $1
             where id = $2 and (last_used_at is null or last_used_at < $1)",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The workloads that signed in last as these clients (on this node).
pub async fn record_last_workload(db: &Db, batch: &[(String, String)]) -> Result<()> {
    let mut tx = db.begin().await?;
    for (id, workload) in batch {
        sqlx::query("update clients set last_workload = $1 where id = $2")
            .bind(workload)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Disables a live client now (retired or revoked), with the reason its
/// account sees.
pub async fn disable<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    now: Epoch,
    reason: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "update clients set disabled_at = $1, disabled_reason = $2, retire_at = null
         where account_id = $3 and id = $4 and disabled_at is null",
    )
    .bind(now)
    .bind(reason)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Carries out a scheduled retirement, only if it is still scheduled and
/// due: a cancellation that lands between finding the due clients and this
/// update wins.
pub async fn retire_if_due<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update clients set disabled_at = $1, disabled_reason = 'Retired as scheduled', retire_at = null
         where account_id = $2 and id = $3 and disabled_at is null
           and retire_at is not null and retire_at <= $1",
    )
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Revokes every token the client was issued up to `at`.
pub async fn revoke_issued_before<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    at: Epoch,
) -> Result<()> {
    sqlx::query(
        "update clients set revoked_before = $1
         where account_id = $2 and id = $3 and (revoked_before is null or revoked_before < $1)",
    )
    .bind(at)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn schedule_retirement<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    at: Option<Epoch>,
) -> Result<bool> {
    Ok(sqlx::query(
        "update clients set retire_at = $1 where account_id = $2 and id = $3 and disabled_at is null",
    )
    .bind(at)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Live clients whose scheduled retirement has come, across accounts.
pub async fn due_for_retirement<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Epoch,
) -> Result<Vec<ClientRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from clients where disabled_at is null and retire_at is not null and retire_at <= $1"
    ))
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Deletes a client that can no longer be used, with its revocation rows.
pub async fn delete(tx: &mut AnyConnection, account_id: &str, id: &str) -> Result<bool> {
    sqlx::query("delete from revoked_tokens where account_id = $1 and client_id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query("delete from clients where account_id = $1 and id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Temporary clients that have expired and whose expiry is not yet logged,
/// marked as logged in one statement (so of several nodes, one logs each).
/// (id, account_id, project_id, name)
pub async fn take_newly_expired<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Epoch,
) -> Result<Vec<(String, String, String, String)>> {
    Ok(sqlx::query_as(
        "update clients set expiry_logged_at = $1
         where expires_at is not null and expires_at <= $1 and disabled_at is null
           and expiry_logged_at is null
         returning id, account_id, project_id, name",
    )
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// The client whose secret has this keyed hash, across accounts (secret
/// reports arrive with the secret only).
pub async fn by_secret_hash(db: &Db, secret_hash: &str) -> Result<Option<ClientRow>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from clients where secret_hash = $1"
    ))
    .bind(secret_hash)
    .fetch_optional(db)
    .await?)
}
