//! Daily token quotas: a project may have at most N tokens a UTC day, on
//! all nodes together. The token endpoint asks [`Quotas::take`] for each
//! token; a node holds a small lease of the day's tokens in memory and
//! asks the shared database for more only when its lease is spent (a few
//! at a time, fewer as the day's quota runs low, one by one at the end),
//! so a token costs no database round trip until the quota is nearly used.
//! At 80 % of the day's quota the owners get `project.quota_warning`; the
//! first token refused gets them `project.quota_exhausted` (each once a
//! day, on whichever node got there first).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::clock::{Clock, Epoch};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::store;
use crate::webhooks::EventType;

const DAY: i64 = 86_400;
/// Most tokens one lease takes.
const LEASE_MAX: i64 = 50;
/// Attempts at taking a lease while other nodes take theirs.
const ATTEMPTS: usize = 20;
/// A node that found the day's quota used up refuses from memory for this
/// long before asking the database again.
const EXHAUSTED_RECHECK_SECS: i64 = 5;

/// The day's quota is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    pub quota: i64,
    /// Seconds to the next UTC day.
    pub retry_after: i64,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    day: i64,
    left: i64,
    /// When the database last said the day's quota was used up.
    exhausted_at: Option<Epoch>,
}

enum Leased {
    Token,
    Exhausted,
    Empty,
}

pub struct Quotas {
    db: Db,
    clock: Arc<dyn Clock>,
    leases: Mutex<HashMap<String, Lease>>,
    /// One lease fetch at a time per project.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Quotas {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            leases: Mutex::default(),
            fetching: Mutex::default(),
        }
    }

    /// One token of `project_id`'s day, whose quota is `quota`; `Ok(Some)`
    /// when the day's quota is used up.
    pub async fn take(
        &self,
        account_id: &str,
        project_id: &str,
        quota: i64,
    ) -> Result<Option<Exhausted>> {
        let now = self.clock.now();
        let day = now.div_euclid(DAY);
        let exhausted = || {
            Some(Exhausted {
                quota,
                retry_after: (day + 1) * DAY - now,
            })
        };
        match self.take_leased(project_id, day, now) {
            Leased::Token => return Ok(None),
            Leased::Exhausted => return Ok(exhausted()),
            Leased::Empty => {}
        }
        // One request per project asks the database; the others wait for
        // it and then take from the lease it brought.
        let gate = self.fetching(project_id);
        let _turn = gate.lock().await;
        match self.take_leased(project_id, day, now) {
            Leased::Token => return Ok(None),
            Leased::Exhausted => return Ok(exhausted()),
            Leased::Empty => {}
        }
        for _ in 0..ATTEMPTS {
            let granted = store::quotas::granted(&self.db, project_id, day).await?;
            let remaining = quota - granted;
            if remaining <= 0 {
                self.mark_exhausted(project_id, day, now);
                self.tell(
                    account_id,
                    project_id,
                    day,
                    "exhausted",
                    granted,
                    quota,
                    now,
                )
                .await;
                return Ok(exhausted());
            }
            // A few at a time while plenty is left; one by one at the end,
            // so tokens leased to a node that goes quiet cannot strand much.
            let n = (remaining / 8).clamp(1, LEASE_MAX);
            if store::quotas::grant(&self.db, project_id, day, n, quota).await? {
                let warn_at = (quota * 8 + 9) / 10;
                if granted < warn_at && granted + n >= warn_at {
                    self.tell(
                        account_id,
                        project_id,
                        day,
                        "warning",
                        granted + n,
                        quota,
                        now,
                    )
                    .await;
                }
                self.add_lease(project_id, day, n - 1);
                return Ok(None);
            }
            // Another node took some meanwhile: read again.
        }
        Err(Error::Internal(
            "the daily token quota is contended; retry".into(),
        ))
    }

    /// The lock that lets one request per project fetch a lease.
    fn fetching(&self, project_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        if gates.len() > 10_000 {
            // Forget the locks nobody holds.
            gates.retain(|_, g| Arc::strong_count(g) > 1);
        }
        gates.entry(project_id.to_owned()).or_default().clone()
    }

    fn mark_exhausted(&self, project_id: &str, day: i64, now: Epoch) {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let spent = Lease {
            day,
            left: 0,
            exhausted_at: Some(now),
        };
        leases.insert(project_id.to_owned(), spent);
    }

    fn take_leased(&self, project_id: &str, day: i64, now: Epoch) -> Leased {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        match leases.get_mut(project_id) {
            Some(l) if l.day == day && l.left > 0 => {
                l.left -= 1;
                Leased::Token
            }
            // Used up lately: refused from memory, so a client retrying in
            // a loop costs no database work (asked again now and then, in
            // case the quota was raised).
            Some(l)
                if l.day == day
                    && l.exhausted_at
                        .is_some_and(|at| now - at < EXHAUSTED_RECHECK_SECS) =>
            {
                Leased::Exhausted
            }
            _ => Leased::Empty,
        }
    }

    fn add_lease(&self, project_id: &str, day: i64, n: i64) {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        // Yesterday's leases are of no use.
        leases.retain(|_, l| l.day >= day);
        let l = leases.entry(project_id.to_owned()).or_insert(Lease {
            day,
            left: 0,
            exhausted_at: None,
        });
        if l.day != day {
            *l = Lease {
                day,
                left: 0,
                exhausted_at: None,
            };
        }
        l.exhausted_at = None;
        l.left += n;
    }

    /// Tells the project's owners, once a day per kind; a failure is
    /// logged (the token answer does not wait on it twice).
    #[allow(clippy::too_many_arguments)]
    async fn tell(
        &self,
        account_id: &str,
        project_id: &str,
        day: i64,
        kind: &str,
        granted: i64,
        quota: i64,
        now: Epoch,
    ) {
        let event = match kind {
            "warning" => EventType::ProjectQuotaWarning,
            _ => EventType::ProjectQuotaExhausted,
        };
        let data = json!({
            "account_id": account_id,
            "project_id": project_id,
            "daily_token_quota": quota,
            "tokens_today": granted.min(quota),
            "day": crate::calendar::date(day * DAY),
            "resets_at": crate::calendar::rfc3339((day + 1) * DAY),
        });
        let told = async {
            let mut tx = self.db.begin().await?;
            if !store::quotas::note(&mut *tx, project_id, day, kind, now).await? {
                return Ok::<_, Error>(false);
            }
            crate::webhooks::outbox::tell_account(&mut tx, account_id, event, data, now).await?;
            tx.commit().await?;
            Ok(true)
        };
        match told.await {
            Ok(true) => tracing::info!(project_id, kind, "daily token quota notice"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, project_id, "could not record a quota notice"),
        }
    }
}
