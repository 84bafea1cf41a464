//! Users: the people who sign in. Not tenant-owned themselves; which
//! accounts they may act in is in `memberships`.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::error::Result;

#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub password_hash: String,
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    email: &str,
    password_hash: &str,
    now: Epoch,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into users (id, email, password_hash, created_at) values ($1, $2, $3, $4)")
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn find_by_email<'e>(
    db: impl Executor<'e, Database = Any>,
    email: &str,
) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as("select id, password_hash from users where email = $1")
            .bind(email)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn email_exists<'e>(db: impl Executor<'e, Database = Any>, email: &str) -> Result<bool> {
    let found: Option<(i64,)> = sqlx::query_as("select 1 from users where email = $1")
        .bind(email)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// Replaces the password hash and moves the session epoch on, which ends
/// every session started before; the new epoch.
pub async fn set_password<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    password_hash: &str,
) -> Result<i64> {
    let (epoch,): (i64,) = sqlx::query_as(
        "update users set password_hash = $1, session_epoch = session_epoch + 1
         where id = $2 returning session_epoch",
    )
    .bind(password_hash)
    .bind(id)
    .fetch_one(db)
    .await?;
    Ok(epoch)
}

/// A user's id, email and password hash, by id.
pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<(String, String)>> {
    Ok(
        sqlx::query_as("select email, password_hash from users where id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// The accounts that `email`'s user belongs to (for telling them about a
/// repeated sign-up), with the user's id.
pub async fn memberships_by_email<'e>(
    db: impl Executor<'e, Database = Any>,
    email: &str,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "select u.id, m.account_id from users u join memberships m on m.user_id = u.id
         where u.email = $1",
    )
    .bind(email)
    .fetch_all(db)
    .await?)
}
