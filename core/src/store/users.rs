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
