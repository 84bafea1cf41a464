//! What the lifecycle housekeeping reads and writes (see
//! [`crate::lifecycle`]): live clients near their end, live clients
//! nobody has used for a while, the warnings already sent, and the
//! dormancy settings.

use sqlx::{Any, Executor, Row};

use crate::clock::Epoch;
use crate::error::Result;

/// Days before an end a warning goes out; each client gets the smallest
/// that is due, then the smaller ones in turn.
pub const EXPIRY_WARNING_DAYS: [i64; 3] = [1, 7, 30];
/// Days between a dormancy warning and the retirement it announces.
pub const DORMANT_NOTICE_DAYS: i64 = 7;
/// The dormancy settings an owner may choose.
pub const DORMANT_CHOICES: [i64; 3] = [30, 60, 90];

const DAY: i64 = 86_400;

/// A live client that expires or is retired within the horizon.
#[derive(Debug, Clone)]
pub struct Ending {
    pub id: String,
    pub account_id: String,
    pub project_id: String,
    pub name: String,
    pub expires_at: Option<Epoch>,
    pub retire_at: Option<Epoch>,
}

impl Ending {
    /// The end that comes first, and whether it is a retirement.
    pub fn end(&self) -> Option<(Epoch, bool)> {
        first_end(self.expires_at, self.retire_at)
    }
}

/// Of a client's expiry and scheduled retirement, the one that comes
/// first, and whether it is the retirement.
pub fn first_end(expires_at: Option<Epoch>, retire_at: Option<Epoch>) -> Option<(Epoch, bool)> {
    match (expires_at, retire_at) {
        (Some(e), Some(r)) if r < e => Some((r, true)),
        (Some(e), _) => Some((e, false)),
        (None, Some(r)) => Some((r, true)),
        (None, None) => None,
    }
}

/// Live clients of live projects (of `account_id`, or of every account)
/// whose expiry or scheduled retirement falls after `now` and no later
/// than `until`.
pub async fn ending<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: Option<&str>,
    now: Epoch,
    until: Epoch,
) -> Result<Vec<Ending>> {
    let rows = sqlx::query(
        "select c.id, c.account_id, c.project_id, c.name, c.expires_at, c.retire_at
         from clients c join projects p on p.id = c.project_id
         where c.disabled_at is null and p.archived_at is null
           and ($3 = '' or c.account_id = $3)
           and ((c.expires_at > $1 and c.expires_at <= $2)
             or (c.retire_at > $1 and c.retire_at <= $2))
         order by c.account_id, c.id",
    )
    .bind(now)
    .bind(until)
    .bind(account_id.unwrap_or(""))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Ending {
                id: r.try_get(0)?,
                account_id: r.try_get(1)?,
                project_id: r.try_get(2)?,
                name: r.try_get(3)?,
                expires_at: r.try_get(4)?,
                retire_at: r.try_get(5)?,
            })
        })
        .collect()
}

/// The dormancy that applies to a project's clients: the project's own
/// setting, or the account's when the project follows it; 0 is never.
const EFFECTIVE: &str = "(case when p.dormant_after_days is null then a.dormant_after_days \
     when p.dormant_after_days = 0 then null else p.dormant_after_days end)";

/// A live client unused for long enough to be warned or retired.
#[derive(Debug, Clone)]
pub struct Unused {
    pub id: String,
    pub account_id: String,
    pub project_id: String,
    pub name: String,
    /// Its last use, or its creation if never used.
    pub since: Epoch,
    /// The setting that applies.
    pub after_days: i64,
}

/// Live clients whose dormancy setting applies and who have not been used
/// for that many days less the notice.
pub async fn unused<'e>(db: impl Executor<'e, Database = Any>, now: Epoch) -> Result<Vec<Unused>> {
    let sql = format!(
        "select c.id, c.account_id, c.project_id, c.name,
                coalesce(c.last_used_at, c.created_at), cast({EFFECTIVE} as bigint)
         from clients c
         join projects p on p.id = c.project_id
         join accounts a on a.id = c.account_id
         where c.disabled_at is null and p.archived_at is null
           and (c.expires_at is null or c.expires_at > $1)
           and {EFFECTIVE} is not null
           and coalesce(c.last_used_at, c.created_at) <= $1 - ({EFFECTIVE} - $2) * $3
         order by c.account_id, c.id"
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(DORMANT_NOTICE_DAYS)
        .bind(DAY)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Unused {
                id: r.try_get(0)?,
                account_id: r.try_get(1)?,
                project_id: r.try_get(2)?,
                name: r.try_get(3)?,
                since: r.try_get(4)?,
                after_days: r.try_get(5)?,
            })
        })
        .collect()
}

/// Records a warning; false if it was sent before (by any node).
pub async fn note<'e>(
    db: impl Executor<'e, Database = Any>,
    client_id: &str,
    kind: &str,
    basis: Epoch,
    days: i64,
    now: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "insert into client_notices (client_id, kind, basis, days, sent_at)
         values ($1, $2, $3, $4, $5) on conflict (client_id, kind, basis, days) do nothing",
    )
    .bind(client_id)
    .bind(kind)
    .bind(basis)
    .bind(days)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// When the warning about `basis` (for a rule of `days`) was sent, if it was.
pub async fn noted_at<'e>(
    db: impl Executor<'e, Database = Any>,
    client_id: &str,
    kind: &str,
    basis: Epoch,
    days: i64,
) -> Result<Option<Epoch>> {
    let row = sqlx::query(
        "select min(sent_at) from client_notices
         where client_id = $1 and kind = $2 and basis = $3 and days = $4",
    )
    .bind(client_id)
    .bind(kind)
    .bind(basis)
    .bind(days)
    .fetch_one(db)
    .await?;
    Ok(row.try_get(0)?)
}

/// The dormancy warnings standing for the project's clients: (client,
/// last use counted from, sent at). A client used since has a newer last
/// use than its warning's: the caller compares.
pub async fn dormant_notices<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    project_id: &str,
) -> Result<Vec<(String, Epoch, Epoch)>> {
    let rows = sqlx::query(
        "select n.client_id, n.basis, n.sent_at from client_notices n
         join clients c on c.id = n.client_id
         where c.account_id = $1 and c.project_id = $2 and n.kind = 'dormant'
           and c.disabled_at is null",
    )
    .bind(account_id)
    .bind(project_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// Forgets the dormancy warnings of the account's clients (of one project,
/// or all): the rule they announced changed, so a new warning must come
/// before any retirement under the new one.
pub async fn forget_dormant_warnings<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    project_id: Option<&str>,
) -> Result<u64> {
    Ok(sqlx::query(
        "delete from client_notices where kind = 'dormant' and client_id in
           (select id from clients where account_id = $1 and ($2 = '' or project_id = $2))",
    )
    .bind(account_id)
    .bind(project_id.unwrap_or(""))
    .execute(db)
    .await?
    .rows_affected())
}

/// Forgets warnings sent before `before` (the ends they warned of are
/// long past).
pub async fn prune<'e>(db: impl Executor<'e, Database = Any>, before: Epoch) -> Result<u64> {
    Ok(sqlx::query("delete from client_notices where sent_at < $1")
        .bind(before)
        .execute(db)
        .await?
        .rows_affected())
}

/// Sets the account's dormancy (null: never).
pub async fn set_account_dormancy<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    days: Option<i64>,
) -> Result<()> {
    sqlx::query("update accounts set dormant_after_days = $1 where id = $2")
        .bind(days)
        .bind(account_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The account's dormancy setting.
pub async fn account_dormancy<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
) -> Result<Option<i64>> {
    let row = sqlx::query("select dormant_after_days from accounts where id = $1")
        .bind(account_id)
        .fetch_optional(db)
        .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => None,
    })
}

/// Retires a live client as dormant, only if its last use is still
/// `since` (a use since cancels it).
pub async fn retire_unused<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    since: Epoch,
    now: Epoch,
    reason: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "update clients set disabled_at = $1, disabled_reason = $2, retire_at = null
         where account_id = $3 and id = $4 and disabled_at is null
           and coalesce(last_used_at, created_at) = $5",
    )
    .bind(now)
    .bind(reason)
    .bind(account_id)
    .bind(id)
    .bind(since)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}
