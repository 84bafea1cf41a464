//! The durable outbox: a message per subscribed endpoint, written in the
//! transaction of the change it tells (so a change is never told without
//! happening, nor happens untold), and delivered by any node, at least once.
//!
//! A node leases a due message before sending it; a node that dies holding
//! one leaves it to another once the lease runs out. Failed attempts are
//! retried with growing gaps for 24 hours.

use std::sync::Arc;

use crate::clock::{Clock, Epoch, Secs};
use crate::db::Db;
use crate::error::Result;
use crate::master_key::MasterKey;
use crate::store;
use crate::store::webhooks::Attempt;

use super::signing::SigningSecret;

mod tell;

pub use tell::{rate_limited, rate_limited_at_gate, GATE_REPORT_MAX};
pub(crate) use tell::{record_and_tell, tell_account};

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
