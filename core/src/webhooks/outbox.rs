//! The durable outbox: a message per subscribed endpoint, written in the
//! transaction of the change it tells (so a change is never told without
//! happening, nor happens untold), and delivered by any node, at least once.
//!
//! A node leases a due message before sending it; a node that dies holding
//! one leaves it to another once the lease runs out. Failed attempts are
//! retried with growing gaps for 24 hours.

use std::sync::Arc;

use serde_json::{json, Value};
use sqlx::AnyConnection;

use crate::audit;
use crate::clock::{Clock, Epoch, Secs};
use crate::db::Db;
use crate::error::Result;
use crate::ids::new_id;
use crate::master_key::MasterKey;
use crate::store;
use crate::store::webhooks::{Attempt, MessageRow};

use super::signing::SigningSecret;
use super::EventType;

/// Retries end this long after a message is written (or sent again).
pub const RETRY_FOR_SECS: Secs = 86_400;
/// A node holds a message this long while sending it (well over the
/// request timeout).
pub const LEASE_SECS: Secs = 60;
/// Gaps before each retry; the last repeats until the 24 hours are up.
const BACKOFF_SECS: &[Secs] = &[5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800];
/// Due messages one look at the outbox reads: at most `per_account` of each
/// account's, so this many accounts' at least.
const CANDIDATES: i64 = 512;
/// `project.rate_limited` at most this often per project.
pub const RATE_LIMITED_EVERY_SECS: Secs = 60;
/// How long delivered and failed messages stay in the log.
pub const LOG_RETENTION_SECS: Secs = 30 * 86_400;

pub(crate) fn secret_context(endpoint_id: &str) -> String {
    format!("webhook endpoint {endpoint_id}")
}

/// When to try again after `attempts` failed attempts, or `None` when the
/// retries are used up. The last try falls on the 24-hour mark itself.
pub fn next_attempt(attempts: i64, now: Epoch, give_up_at: Epoch) -> Option<Epoch> {
    if now >= give_up_at {
        return None;
    }
    let i = usize::try_from(attempts.max(1) - 1).unwrap_or(usize::MAX);
    let gap = BACKOFF_SECS[i.min(BACKOFF_SECS.len() - 1)];
    Some((now + gap).min(give_up_at))
}

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

/// Up to `limit` of `candidates` (oldest first), round-robin across their
/// accounts, no account past `per_account` counting what it has `busy`.
fn fair_pick(
    candidates: Vec<store::webhooks::DueRow>,
    limit: usize,
    busy: &std::collections::HashMap<String, usize>,
    per_account: usize,
) -> Vec<store::webhooks::DueRow> {
    use std::collections::{HashMap, VecDeque};
    let mut order: Vec<String> = Vec::new();
    let mut queues: HashMap<String, VecDeque<store::webhooks::DueRow>> = HashMap::new();
    for c in candidates {
        if !queues.contains_key(&c.account_id) {
            order.push(c.account_id.clone());
        }
        queues.entry(c.account_id.clone()).or_default().push_back(c);
    }
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for account in &order {
            if out.len() == limit {
                return out;
            }
            let in_flight =
                busy.get(account).copied().unwrap_or(0) + taken.get(account).copied().unwrap_or(0);
            if in_flight >= per_account {
                continue;
            }
            if let Some(c) = queues.get_mut(account).and_then(VecDeque::pop_front) {
                *taken.entry(account.clone()).or_default() += 1;
                out.push(c);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// One attempt, ready to send.
pub struct Send {
    pub message_id: String,
    pub endpoint_id: String,
    pub account_id: String,
    pub url: String,
    pub body: String,
    pub timestamp: Epoch,
    pub signature: String,
    attempts: i64,
    give_up_at: Epoch,
}

impl std::fmt::Debug for Send {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Send")
            .field("message_id", &self.message_id)
            .field("endpoint_id", &self.endpoint_id)
            .finish_non_exhaustive()
    }
}

/// What the receiver did with an attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It answered with this HTTP status (2xx is success).
    Status(u16),
    /// No answer: refused, timed out, not allowed, ...
    Unreachable(String),
}

/// The deliverer's side of the outbox.
pub struct Outbox {
    db: Db,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
}

impl Outbox {
    pub fn new(db: Db, master: Arc<MasterKey>, clock: Arc<dyn Clock>) -> Self {
        Self { db, master, clock }
    }

    /// Leases up to `limit` due messages for this node, fairly, and signs
    /// them: at most one per endpoint in the cluster (the query's rule),
    /// and at most `per_account` in flight per account on this node
    /// (`busy` counts those already sending), taken round-robin across
    /// accounts oldest first, so one tenant's slow receivers cannot hold
    /// every sender while others' security alerts wait.
    pub async fn claim(
        &self,
        limit: usize,
        busy: &std::collections::HashMap<String, usize>,
        per_account: usize,
    ) -> Result<Vec<Send>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        // Each account's next few, for as many accounts as a look can hold.
        let candidates =
            store::webhooks::due(&self.db, now, CANDIDATES, per_account as i64).await?;
        for due in fair_pick(candidates, limit, busy, per_account) {
            if !store::webhooks::lease(&self.db, &due.id, now, now + LEASE_SECS).await? {
                continue;
            }
            let secret = match self
                .master
                .open(&secret_context(&due.endpoint_id), &due.secret_sealed)
            {
                Ok(bytes) => SigningSecret::from_bytes(bytes),
                Err(e) => {
                    tracing::error!(endpoint_id = %due.endpoint_id, error = %e, "cannot read a webhook signing secret");
                    continue;
                }
            };
            out.push(Send {
                signature: secret.sign(&due.id, now, &due.payload),
                message_id: due.id,
                endpoint_id: due.endpoint_id,
                account_id: due.account_id,
                url: due.url,
                body: due.payload,
                timestamp: now,
                attempts: due.attempts,
                give_up_at: due.give_up_at,
            });
        }
        Ok(out)
    }

    /// Records an attempt: delivered, to retry, or given up; a failing
    /// endpoint is disabled once nothing has reached it for 24 hours, or at
    /// once if it answers 410 Gone.
    pub async fn settle(&self, send: &Send, outcome: &Outcome) -> Result<()> {
        let now = self.clock.now();
        let ok = matches!(outcome, Outcome::Status(s) if (200..300).contains(s));
        let (code, error) = match outcome {
            Outcome::Status(s) => (Some(i64::from(*s)), None),
            Outcome::Unreachable(e) => (None, Some(e.as_str())),
        };
        let attempts = send.attempts + 1;
        let next = if ok {
            None
        } else {
            next_attempt(attempts, now, send.give_up_at)
        };
        let status = match (ok, next) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        let mut tx = self.db.begin().await?;
        store::webhooks::settle(
            &mut *tx,
            &Attempt {
                id: &send.message_id,
                at: now,
                status_code: code,
                error,
                status,
                next_attempt_at: next.unwrap_or(now),
            },
        )
        .await?;
        let failing_since =
            store::webhooks::note_health(&mut tx, &send.endpoint_id, ok, now).await?;
        let what = match outcome {
            Outcome::Status(s) => format!("HTTP {s}"),
            Outcome::Unreachable(e) => e.clone(),
        };
        let reason = if matches!(outcome, Outcome::Status(410)) {
            Some("The endpoint answered 410 Gone: it asked not to receive more events.".to_owned())
        } else {
            failing_since
                .filter(|since| now - since >= RETRY_FOR_SECS)
                .map(|_| format!("No delivery succeeded for 24 hours (last attempt: {what})."))
        };
        if let Some(reason) = reason {
            if store::webhooks::disable_failing(&mut *tx, &send.endpoint_id, now, &reason).await? {
                tracing::warn!(endpoint_id = %send.endpoint_id, %reason, "webhook endpoint disabled");
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets old delivered and failed messages.
    pub async fn prune(&self) -> Result<u64> {
        store::webhooks::prune(&self.db, self.clock.now() - LOG_RETENTION_SECS).await
    }
}

#[cfg(test)]
mod tests;
