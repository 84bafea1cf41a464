//! One-time password-reset links an owner issues for a member of their
//! account. Only a hash of each token is kept.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::error::Result;

pub struct NewReset<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub created_by: &'a str,
    pub now: Epoch,
    pub expires_at: Epoch,
}

/// Ends the user's earlier unused links, so only the newest one works.
pub async fn void_unused<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
    now: Epoch,
) -> Result<()> {
    sqlx::query(
        "update password_resets set expires_at = $1
         where user_id = $2 and used_at is null and expires_at > $1",
    )
    .bind(now)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn insert<'e>(db: impl Executor<'e, Database = Any>, r: NewReset<'_>) -> Result<()> {
    sqlx::query(
        "insert into password_resets (id, account_id, user_id, token_hash, created_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.id)
    .bind(r.account_id)
    .bind(r.user_id)
    .bind(r.token_hash)
    .bind(r.created_by)
    .bind(r.now)
    .bind(r.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A usable link whose user is still a member of the account that issued
/// it: (reset id, user id, email, account id, account name, expires_at).
pub async fn live<'e>(
    db: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: Epoch,
) -> Result<Option<(String, String, String, String, String, Epoch)>> {
    Ok(sqlx::query_as(
        "select r.id, u.id, u.email, a.id, a.name, r.expires_at
         from password_resets r
         join users u on u.id = r.user_id
         join accounts a on a.id = r.account_id
         join memberships m on m.account_id = r.account_id and m.user_id = r.user_id
         where r.token_hash = $1 and r.used_at is null and r.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await?)
}

/// Marks the link used; false if it was spent (or ended) meanwhile.
pub async fn spend<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update password_resets set used_at = $1 where id = $2 and used_at is null and expires_at > $1",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}
