//! Writing messages: one per subscribed endpoint, in the transaction of
//! the change they tell (audited changes, an account's own events, and
//! buckets that refused requests, on a node or at a gate).

use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::{RATE_LIMITED_EVERY_SECS, RETRY_FOR_SECS};
use crate::audit;
use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;
use crate::ids::new_id;
use crate::store;
use crate::store::webhooks::MessageRow;
use crate::webhooks::EventType;

/// The Standard Webhooks body: `type`, `timestamp` and `data`.
fn body(kind: EventType, now: Epoch, data: Value) -> String {
    json!({
        "type": kind.as_str(),
        "timestamp": crate::calendar::rfc3339(now),
        "data": data,
    })
    .to_string()
}

/// Writes one message per endpoint in `endpoints` (the account's enabled
/// endpoints that take `kind`, as [`store::webhooks::subscribed`] found them).
async fn enqueue(
    conn: &mut AnyConnection,
    endpoints: &[String],
    account_id: &str,
    kind: EventType,
    data: Value,
    now: Epoch,
) -> Result<()> {
    let payload = body(kind, now, data);
    for endpoint_id in endpoints {
        let row = MessageRow {
            id: new_id("msg"),
            endpoint_id: endpoint_id.clone(),
            account_id: account_id.to_owned(),
            event_type: kind.as_str().to_owned(),
            payload: payload.clone(),
            created_at: now,
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            give_up_at: now + RETRY_FOR_SECS,
            leased_until: 0,
            last_attempt_at: None,
            last_status_code: None,
            last_error: None,
        };
        store::webhooks::insert_message(conn, &row).await?;
    }
    Ok(())
}

/// Appends `e` to the audit log and writes the webhook messages it tells,
/// both in the caller's transaction: what every audited change calls.
pub(crate) async fn record_and_tell(
    conn: &mut AnyConnection,
    e: audit::Event<'_>,
    changed: &str,
    now: Epoch,
) -> Result<()> {
    audit::record(&mut *conn, e.clone(), now).await?;
    enqueue_for(conn, &e, changed, now).await
}

/// Writes the webhook messages an audited change tells, in its transaction.
/// `changed` is the row the change feed re-reads: for a rotation, the
/// successor (the audit event names the client it takes over from).
async fn enqueue_for(
    conn: &mut AnyConnection,
    e: &audit::Event<'_>,
    changed: &str,
    now: Epoch,
) -> Result<()> {
    let Some(kind) = EventType::for_action(e.action) else {
        return Ok(());
    };
    let endpoints = store::webhooks::subscribed(conn, e.account_id, kind.as_str()).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let Some(client) = store::clients::get(&mut *conn, e.account_id, e.target_id).await? else {
        return Ok(());
    };
    let (actor_kind, actor) = match &e.actor {
        audit::Actor::User { email, .. } => ("user", email.as_str()),
        audit::Actor::Staff { email, .. } => ("staff", email.as_str()),
        audit::Actor::Client { label, .. } => ("client", label.as_str()),
        audit::Actor::System => ("system", "Portcullis"),
    };
    let mut data = json!({
        "account_id": e.account_id,
        "project_id": client.project_id,
        "client_id": client.id,
        "client_name": client.name,
        "scopes": client.scopes.split_whitespace().collect::<Vec<_>>(),
        "expires_at": client.expires_at.map(crate::calendar::rfc3339),
        "actor": { "kind": actor_kind, "label": actor },
        "detail": e.detail,
    });
    match kind {
        EventType::ClientRotated => data["successor_client_id"] = json!(changed),
        EventType::ClientExpiring => {
            if let Some((end, retires)) =
                store::lifecycle::first_end(client.expires_at, client.retire_at)
            {
                data["ends"] = json!(if retires { "retires" } else { "expires" });
                data["ends_at"] = json!(crate::calendar::rfc3339(end));
                data["days_left"] = json!(crate::lifecycle::days_until(end, now));
            }
        }
        EventType::ClientDormant => {
            let since = client.last_used_at.unwrap_or(client.created_at);
            data["unused_since"] = json!(crate::calendar::rfc3339(since));
            data["never_used"] = json!(client.last_used_at.is_none());
            data["retires_at"] = json!(crate::calendar::rfc3339(
                now + store::lifecycle::DORMANT_NOTICE_DAYS * 86_400
            ));
        }
        EventType::ClientKeysChanged => {
            let keys = client
                .public_keys
                .as_deref()
                .and_then(|k| crate::client_keys::ClientKeys::from_stored(k).ok())
                .map(|k| k.summaries())
                .unwrap_or_default();
            data["public_keys"] = json!(keys);
            data["jwks_uri"] = json!(client.jwks_uri);
            // A workload client's new trust: issuer, audience, conditions.
            if let Some(trust) = client
                .workload_trust
                .as_deref()
                .and_then(|t| crate::workload_identity::WorkloadTrust::from_stored(t).ok())
            {
                data["workload"] = json!({
                    "preset": trust.preset.as_str(),
                    "issuer": trust.issuer,
                    "audience": trust.audience,
                    "conditions": trust.conditions,
                });
            }
        }
        EventType::ClientRetired | EventType::ClientRevoked | EventType::ClientSecretReported => {
            data["reason"] = json!(client.disabled_reason);
        }
        _ => {}
    }
    enqueue(conn, &endpoints, e.account_id, kind, data, now).await
}

/// Writes an event about the account (not about one client) to each of
/// its endpoints that takes it, in the caller's transaction.
pub(crate) async fn tell_account(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: EventType,
    data: Value,
    now: Epoch,
) -> Result<()> {
    let endpoints = store::webhooks::subscribed(&mut *conn, account_id, kind.as_str()).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    enqueue(conn, &endpoints, account_id, kind, data, now).await
}

/// Tells each project's owners that its bucket refused requests, at most
/// once a minute per project across all nodes. Returns how many told.
pub async fn rate_limited(db: &Db, seen: &[(String, Epoch)], now: Epoch) -> Result<usize> {
    let mut told = 0;
    for (project_id, at) in seen {
        let Some(project) = store::projects::by_id(db, project_id).await? else {
            continue;
        };
        let mut tx = db.begin().await?;
        let kind = EventType::ProjectRateLimited;
        let endpoints =
            store::webhooks::subscribed(&mut tx, &project.account_id, kind.as_str()).await?;
        if endpoints.is_empty()
            || !store::webhooks::take_rate_limited_notice(
                &mut tx,
                project_id,
                now,
                RATE_LIMITED_EVERY_SECS,
            )
            .await?
        {
            continue;
        }
        let data = json!({
            "account_id": project.account_id,
            "project_id": project.id,
            "project_name": project.name,
            "limited_at": crate::calendar::rfc3339(*at),
            "rate_limit": { "per_sec": project.rate_per_sec, "burst": project.rate_burst },
        });
        enqueue(&mut tx, &endpoints, &project.account_id, kind, data, now).await?;
        tx.commit().await?;
        told += 1;
    }
    Ok(told)
}

/// Most projects one gate report may name.
pub const GATE_REPORT_MAX: usize = 500;

/// What a gate in another process reports its buckets refused: only
/// projects of the API its credential is for count (a gate cannot raise
/// events for other tenants' APIs), and times are kept to the last hour.
/// Returns how many were told.
pub async fn rate_limited_at_gate(
    db: &Db,
    registry: &crate::registry::Registry,
    api_id: &str,
    reports: &[(String, Epoch)],
    now: Epoch,
) -> Result<usize> {
    let seen: Vec<(String, Epoch)> = reports
        .iter()
        .take(GATE_REPORT_MAX)
        .filter(|(project_id, _)| {
            registry
                .project(project_id)
                .is_some_and(|p| p.api_id == api_id)
        })
        .map(|(p, at)| (p.clone(), (*at).clamp(now - 3600, now)))
        .collect();
    rate_limited(db, &seen, now).await
}
