//! Memberships as a team, and invitations.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::error::Result;
use crate::model::{Invite, Member};

pub async fn members<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
) -> Result<Vec<Member>> {
    Ok(sqlx::query_as(
        "select u.id as user_id, u.email, m.role, m.created_at as joined_at
         from memberships m join users u on u.id = m.user_id
         where m.account_id = $1 order by m.created_at, u.email",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?)
}

pub async fn remove_member<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    user_id: &str,
) -> Result<bool> {
    Ok(
        sqlx::query("delete from memberships where account_id = $1 and user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .execute(db)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn insert_invite<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    i: &Invite,
    token_hash: &str,
    created_by: &str,
) -> Result<()> {
    sqlx::query(
        "insert into invites (id, account_id, role, token_hash, created_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&i.id)
    .bind(account_id)
    .bind(&i.role)
    .bind(token_hash)
    .bind(created_by)
    .bind(i.created_at)
    .bind(i.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn pending<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    now: Epoch,
) -> Result<Vec<Invite>> {
    Ok(sqlx::query_as(
        "select id, role, created_at, expires_at from invites
         where account_id = $1 and used_at is null and revoked_at is null and expires_at > $2
         order by created_at desc",
    )
    .bind(account_id)
    .bind(now)
    .fetch_all(db)
    .await?)
}

pub async fn revoke_invite<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update invites set revoked_at = $1
         where account_id = $2 and id = $3 and used_at is null and revoked_at is null",
    )
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// (invite id, account name, role, expires_at) of a usable invitation.
pub async fn live_invite<'e>(
    db: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: Epoch,
) -> Result<Option<(String, String, String, Epoch)>> {
    Ok(sqlx::query_as(
        "select i.id, a.name, i.role, i.expires_at from invites i join accounts a on a.id = i.account_id
         where i.token_hash = $1 and i.used_at is null and i.revoked_at is null and i.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await?)
}

/// Marks the invitation used; (account id, role) if it was still usable.
pub async fn spend_invite<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    user_id: &str,
    now: Epoch,
) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "update invites set used_at = $1, used_by = $2
         where id = $3 and used_at is null and revoked_at is null and expires_at > $1
         returning account_id, role",
    )
    .bind(now)
    .bind(user_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}
