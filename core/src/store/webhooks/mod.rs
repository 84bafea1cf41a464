//! Webhook endpoints: every query made for a caller takes the account id;
//! the deliverer's health updates (`note_health`, `disable_failing`) go by
//! endpoint id alone. The outbox of messages is in `outbox` (re-exported
//! here, so callers name both as `store::webhooks::…`).

mod outbox;

pub use outbox::*;

use crate::clock::Epoch;
use crate::error::Result;
use sqlx::{Any, AnyConnection, Executor};

#[derive(Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub account_id: String,
    pub url: String,
    pub events: String,
    pub description: String,
    pub secret_sealed: String,
    pub created_at: Epoch,
    pub disabled_at: Option<Epoch>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<Epoch>,
}

crate::debug_fields!(EndpointRow {
    id,
    account_id,
    url,
    events,
    disabled_at
});

const ENDPOINT_COLUMNS: &str = "id, account_id, url, events, description, secret_sealed, \
                                created_at, disabled_at, disabled_reason, failing_since";

pub async fn insert_endpoint<'e>(
    db: impl Executor<'e, Database = Any>,
    e: &EndpointRow,
) -> Result<()> {
    sqlx::query(
        "insert into webhook_endpoints (id, account_id, url, events, description, secret_sealed, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&e.id)
    .bind(&e.account_id)
    .bind(&e.url)
    .bind(&e.events)
    .bind(&e.description)
    .bind(&e.secret_sealed)
    .bind(e.created_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn endpoints<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
) -> Result<Vec<EndpointRow>> {
    Ok(sqlx::query_as(&format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoints where account_id = $1
         order by created_at, id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await?)
}

pub async fn count_endpoints<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("select count(*) from webhook_endpoints where account_id = $1")
            .bind(account_id)
            .fetch_one(db)
            .await?;
    Ok(n)
}

pub async fn endpoint<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<EndpointRow>> {
    Ok(sqlx::query_as(&format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoints where account_id = $1 and id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

pub async fn update_endpoint<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    url: &str,
    events: &str,
    description: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "update webhook_endpoints set url = $1, events = $2, description = $3
         where account_id = $4 and id = $5",
    )
    .bind(url)
    .bind(events)
    .bind(description)
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Turns an endpoint off (with why) or back on (`None`; its failure streak
/// starts over).
pub async fn set_disabled<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    id: &str,
    disabled: Option<(Epoch, &str)>,
) -> Result<bool> {
    Ok(sqlx::query(
        "update webhook_endpoints set disabled_at = $1, disabled_reason = $2, failing_since = null
         where account_id = $3 and id = $4",
    )
    .bind(disabled.map(|d| d.0))
    .bind(disabled.map(|d| d.1))
    .bind(account_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Deletes an endpoint and its delivery log.
pub async fn delete_endpoint(conn: &mut AnyConnection, account_id: &str, id: &str) -> Result<bool> {
    sqlx::query("delete from webhook_messages where account_id = $1 and endpoint_id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(
        sqlx::query("delete from webhook_endpoints where account_id = $1 and id = $2")
            .bind(account_id)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Enabled endpoints of the account that receive `event_type`.
pub async fn subscribed(
    conn: &mut AnyConnection,
    account_id: &str,
    event_type: &str,
) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select id from webhook_endpoints
         where account_id = $1 and disabled_at is null and (' ' || events || ' ') like $2
         order by id",
    )
    .bind(account_id)
    .bind(format!("% {event_type} %"))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Records an endpoint's success (ends its failure streak) or failure
/// (starts one); returns when the streak began.
pub async fn note_health(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    ok: bool,
    now: Epoch,
) -> Result<Option<Epoch>> {
    if ok {
        sqlx::query("update webhook_endpoints set failing_since = null where id = $1")
            .bind(endpoint_id)
            .execute(&mut *conn)
            .await?;
        return Ok(None);
    }
    sqlx::query(
        "update webhook_endpoints set failing_since = coalesce(failing_since, $1) where id = $2",
    )
    .bind(now)
    .bind(endpoint_id)
    .execute(&mut *conn)
    .await?;
    let row: Option<(Option<Epoch>,)> =
        sqlx::query_as("select failing_since from webhook_endpoints where id = $1")
            .bind(endpoint_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.and_then(|r| r.0))
}

/// Disables a failing endpoint (the deliverer's decision), unless it is
/// off already.
pub async fn disable_failing<'e>(
    db: impl Executor<'e, Database = Any>,
    endpoint_id: &str,
    now: Epoch,
    reason: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "update webhook_endpoints set disabled_at = $1, disabled_reason = $2
         where id = $3 and disabled_at is null",
    )
    .bind(now)
    .bind(reason)
    .bind(endpoint_id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}
