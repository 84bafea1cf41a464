//! The webhook outbox: messages written in the same transaction as the
//! change they report, then leased, sent and settled by the deliverer.
//! Every query made for a caller takes the account id; the deliverer's
//! (`due`, `lease`, `settle`, `prune`) and the metrics scrape's
//! (`count_by_status`, `oldest_pending`) read across accounts.

use crate::clock::{Epoch, Secs};
use crate::error::Result;
use sqlx::{Any, AnyConnection, Executor};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub endpoint_id: String,
    pub account_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: Epoch,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Epoch,
    pub give_up_at: Epoch,
    pub leased_until: Epoch,
    pub last_attempt_at: Option<Epoch>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
}

const MESSAGE_COLUMNS: &str = "id, endpoint_id, account_id, event_type, payload, created_at, \
                               status, attempts, next_attempt_at, give_up_at, leased_until, \
                               last_attempt_at, last_status_code, last_error";

/// A message due for an attempt, with where and how to send it.
#[derive(Clone, sqlx::FromRow)]
pub struct DueRow {
    pub id: String,
    pub endpoint_id: String,
    pub account_id: String,
    pub payload: String,
    pub attempts: i64,
    pub give_up_at: Epoch,
    pub url: String,
    pub secret_sealed: String,
}

crate::debug_fields!(DueRow {
    id,
    endpoint_id,
    account_id,
    attempts,
    give_up_at
});

/// Outbox messages by status, across accounts (the metrics scrape).
pub async fn count_by_status<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("select status, count(*) from webhook_messages group by status")
            .fetch_all(db)
            .await?,
    )
}

/// When the oldest message still pending was made, if any (the metrics
/// scrape: how far behind delivery is).
pub async fn oldest_pending<'e>(db: impl Executor<'e, Database = Any>) -> Result<Option<Epoch>> {
    let (at,): (Option<Epoch>,) =
        sqlx::query_as("select min(created_at) from webhook_messages where status = 'pending'")
            .fetch_one(db)
            .await?;
    Ok(at)
}

pub async fn insert_message(conn: &mut AnyConnection, m: &MessageRow) -> Result<()> {
    sqlx::query(&format!(
        "insert into webhook_messages ({MESSAGE_COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&m.id)
    .bind(&m.endpoint_id)
    .bind(&m.account_id)
    .bind(&m.event_type)
    .bind(&m.payload)
    .bind(m.created_at)
    .bind(&m.status)
    .bind(m.attempts)
    .bind(m.next_attempt_at)
    .bind(m.give_up_at)
    .bind(m.leased_until)
    .bind(m.last_attempt_at)
    .bind(m.last_status_code)
    .bind(&m.last_error)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One endpoint's messages, newest first, strictly before `(at, id)`.
pub async fn messages<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    endpoint_id: &str,
    before: Option<(Epoch, &str)>,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    let (at, id) = before.unwrap_or((Epoch::MAX, ""));
    Ok(sqlx::query_as(&format!(
        "select {MESSAGE_COLUMNS} from webhook_messages
         where account_id = $1 and endpoint_id = $2
           and (created_at < $3 or (created_at = $3 and id < $4) or $5)
         order by created_at desc, id desc limit $6"
    ))
    .bind(account_id)
    .bind(endpoint_id)
    .bind(at)
    .bind(id)
    .bind(before.is_none())
    .bind(limit)
    .fetch_all(db)
    .await?)
}

pub async fn message<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    endpoint_id: &str,
    id: &str,
) -> Result<Option<MessageRow>> {
    Ok(sqlx::query_as(&format!(
        "select {MESSAGE_COLUMNS} from webhook_messages
         where account_id = $1 and endpoint_id = $2 and id = $3"
    ))
    .bind(account_id)
    .bind(endpoint_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Makes a message due now, with a fresh 24 hours of retries.
pub async fn resend<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    endpoint_id: &str,
    id: &str,
    now: Epoch,
    give_up_at: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update webhook_messages
         set status = 'pending', next_attempt_at = $1, give_up_at = $2, leased_until = 0
         where account_id = $3 and endpoint_id = $4 and id = $5 and leased_until <= $1",
    )
    .bind(now)
    .bind(give_up_at)
    .bind(account_id)
    .bind(endpoint_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// The next due message of each enabled endpoint that has none being sent
/// (by any node), at most `per_account` of them for one account, oldest
/// first: one endpoint's slow receiver holds one message at a time and its
/// backlog waits behind it, and one account's many endpoints fill no more
/// than their share of the list, so every account's next message is seen.
pub async fn due<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Epoch,
    limit: i64,
    per_account: i64,
) -> Result<Vec<DueRow>> {
    Ok(sqlx::query_as(
        "select id, endpoint_id, account_id, payload, attempts, give_up_at, url, secret_sealed
         from (
           select m.id, m.endpoint_id, m.account_id, m.payload, m.attempts, m.give_up_at,
                  m.next_attempt_at, e.url, e.secret_sealed,
                  row_number() over (
                    partition by m.account_id order by m.next_attempt_at, m.id
                  ) as account_rank
           from webhook_messages m join webhook_endpoints e on e.id = m.endpoint_id
           where m.status = 'pending' and m.next_attempt_at <= $1 and m.leased_until <= $1
             and e.disabled_at is null
             and not exists (
               select 1 from webhook_messages busy
               where busy.endpoint_id = m.endpoint_id and busy.status = 'pending'
                 and busy.leased_until > $1)
             and not exists (
               select 1 from webhook_messages older
               where older.endpoint_id = m.endpoint_id and older.status = 'pending'
                 and older.next_attempt_at <= $1 and older.leased_until <= $1
                 and (older.next_attempt_at < m.next_attempt_at
                      or (older.next_attempt_at = m.next_attempt_at and older.id < m.id)))
         ) heads
         where account_rank <= $3
         order by next_attempt_at, id limit $2",
    )
    .bind(now)
    .bind(limit)
    .bind(per_account)
    .fetch_all(db)
    .await?)
}

/// Takes a due message for this node until `until`; false if another node
/// took it first.
pub async fn lease<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    now: Epoch,
    until: Epoch,
) -> Result<bool> {
    Ok(sqlx::query(
        "update webhook_messages set leased_until = $1
         where id = $2 and status = 'pending' and leased_until <= $3",
    )
    .bind(until)
    .bind(id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// What one attempt came to.
pub struct Attempt<'a> {
    pub id: &'a str,
    pub at: Epoch,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    /// 'delivered', 'pending' (to retry at `next_attempt_at`) or 'failed'.
    pub status: &'a str,
    pub next_attempt_at: Epoch,
}

pub async fn settle<'e>(db: impl Executor<'e, Database = Any>, a: &Attempt<'_>) -> Result<()> {
    sqlx::query(
        "update webhook_messages
         set status = $1, attempts = attempts + 1, last_attempt_at = $2, last_status_code = $3,
             last_error = $4, next_attempt_at = $5, leased_until = 0
         where id = $6",
    )
    .bind(a.status)
    .bind(a.at)
    .bind(a.status_code)
    .bind(a.error)
    .bind(a.next_attempt_at)
    .bind(a.id)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes the project's "rate limited" notice for this minute; false if
/// one was taken less than `every` seconds ago (by any node).
pub async fn take_rate_limited_notice(
    conn: &mut AnyConnection,
    project_id: &str,
    now: Epoch,
    every: Secs,
) -> Result<bool> {
    Ok(sqlx::query(
        "insert into webhook_rate_limited (project_id, notified_at) values ($1, $2)
         on conflict (project_id) do update set notified_at = excluded.notified_at
         where webhook_rate_limited.notified_at <= $3",
    )
    .bind(project_id)
    .bind(now)
    .bind(now - every)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Forgets delivered and failed messages created before `before`.
pub async fn prune<'e>(db: impl Executor<'e, Database = Any>, before: Epoch) -> Result<u64> {
    Ok(
        sqlx::query("delete from webhook_messages where status <> 'pending' and created_at < $1")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
