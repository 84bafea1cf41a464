//! Accounts (tenants) and their memberships.

use sqlx::{Any, Executor};

use crate::clock::Epoch;
use crate::error::Result;
use crate::model::{Principal, Role};

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    name: &str,
    now: Epoch,
) -> Result<()> {
    sqlx::query("insert into accounts (id, name, created_at) values ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// Locks the account's row for the rest of the transaction (on SQLite, the
/// database's write lock): membership checks and the change that follows
/// them cannot interleave with another transaction's.
pub async fn lock<'e>(db: impl Executor<'e, Database = Any>, id: &str) -> Result<bool> {
    Ok(sqlx::query("update accounts set name = name where id = $1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected()
        == 1)
}

pub async fn add_member<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    user_id: &str,
    role: Role,
    now: Epoch,
) -> Result<()> {
    sqlx::query(
        "insert into memberships (account_id, user_id, role, created_at) values ($1, $2, $3, $4)",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    user_id: String,
    email: String,
    account_id: String,
    account_name: String,
    role: String,
    session_epoch: i64,
    second_factor: i64,
    second_factor_required_at: Option<Epoch>,
}

impl PrincipalRow {
    fn into_principal(self) -> Option<Principal> {
        Some(Principal {
            role: Role::parse(&self.role)?,
            user_id: self.user_id,
            email: self.email,
            account_id: self.account_id,
            account_name: self.account_name,
            client_ip: None,
            session_epoch: self.session_epoch,
            second_factor: self.second_factor > 0,
            second_factor_required: self.second_factor_required_at.is_some(),
            acting_client: None,
        })
    }
}

const PRINCIPAL_SELECT: &str = "select u.id as user_id, u.email, a.id as account_id, \
     a.name as account_name, m.role, u.session_epoch, a.second_factor_required_at, \
     (select count(*) from totp_factors t \
      where t.user_id = u.id and t.confirmed_at is not null) as second_factor \
     from users u \
     join memberships m on m.user_id = u.id \
     join accounts a on a.id = m.account_id";

/// The user as a member of `account_id`, or `None` if either is gone or the
/// user is no longer a member.
pub async fn principal<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
    account_id: &str,
) -> Result<Option<Principal>> {
    let row: Option<PrincipalRow> =
        sqlx::query_as(&format!("{PRINCIPAL_SELECT} where u.id = $1 and a.id = $2"))
            .bind(user_id)
            .bind(account_id)
            .fetch_optional(db)
            .await?;
    Ok(row.and_then(PrincipalRow::into_principal))
}

/// The account a user lands in after log-in: their oldest membership.
pub async fn first_membership<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &str,
) -> Result<Option<Principal>> {
    let row: Option<PrincipalRow> = sqlx::query_as(&format!(
        "{PRINCIPAL_SELECT} where u.id = $1 order by m.created_at, a.id limit 1"
    ))
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(PrincipalRow::into_principal))
}
