//! A credential lifecycle that runs itself, from the housekeeping of every
//! node (each warning and retirement happens once, on whichever node gets
//! there first):
//!
//! - **Ending soon**: 30, 7 and 1 days before a temporary client expires or
//!   a scheduled retirement happens, `client.expiring` (audit and webhook).
//! - **Dormant**: where an owner turned it on (per project, or for the
//!   whole account: 30, 60 or 90 days), a client unused that long less
//!   seven days gets `client.dormant`; seven days later, still unused, it
//!   is retired with the reason "unused for N days" (`client.retired`).
//!   A use in between cancels it: the warning counted from the old last
//!   use no longer applies; so does a change of the rule (its warnings are
//!   forgotten, and the new rule warns afresh before it retires). "Last used" is the cluster's: every node
//!   writes its own every few seconds.

use std::sync::Arc;

use crate::access::{Manager, Owner};
use crate::audit;
use crate::clock::{Clock, Epoch};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::feed::record::ChangeKind;
use crate::feed::Feed;
use crate::store;
use crate::store::lifecycle::{DORMANT_CHOICES, DORMANT_NOTICE_DAYS, EXPIRY_WARNING_DAYS};

const DAY: i64 = 86_400;
/// Warnings are forgotten after this long (their ends are past).
const NOTICES_KEPT_SECS: i64 = 120 * DAY;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expiring: usize,
    pub dormant: usize,
    pub retired: usize,
}

pub struct Lifecycle {
    db: Db,
    feed: Arc<Feed>,
    clock: Arc<dyn Clock>,
}

/// "in 3 days", "within a day" (from [`days_until`], rounded up).
pub fn days_phrase(days: i64) -> String {
    match days {
        i64::MIN..=1 => "within a day".into(),
        n => format!("in {n} days"),
    }
}

/// "Expires in 3 days" / "Retires within a day": what a badge says of an
/// end (`retires`: a scheduled retirement, not an expiry).
pub fn ends_phrase(end: Epoch, retires: bool, now: Epoch) -> String {
    let when = days_phrase(days_until(end, now));
    if retires {
        format!("Retires {when}")
    } else {
        format!("Expires {when}")
    }
}

/// Whole days from `now` until `end`, rounded up.
pub fn days_until(end: Epoch, now: Epoch) -> i64 {
    (end - now + DAY - 1).div_euclid(DAY)
}

/// A dormancy setting as an owner sends it: `None` follows the account
/// (for a project) or is never (for the account), 0 is never, else 30, 60
/// or 90 days.
pub fn check_dormancy(days: Option<i64>, for_project: bool) -> Result<Option<i64>> {
    match days {
        None => Ok(None),
        Some(0) if for_project => Ok(Some(0)),
        Some(0) => Ok(None),
        Some(d) if DORMANT_CHOICES.contains(&d) => Ok(Some(d)),
        Some(_) => Err(Error::invalid(
            "dormant_after_days",
            "30, 60 or 90 days, or 0 for never",
        )),
    }
}

impl Lifecycle {
    pub fn new(db: Db, feed: Arc<Feed>, clock: Arc<dyn Clock>) -> Self {
        Self { db, feed, clock }
    }

    /// Sends the warnings due and retires the dormant clients whose notice
    /// ran out.
    pub async fn sweep(&self) -> Result<Swept> {
        let now = self.clock.now();
        let mut swept = Swept::default();
        let horizon = now + EXPIRY_WARNING_DAYS[EXPIRY_WARNING_DAYS.len() - 1] * DAY;
        // One client's trouble is logged and the others go on.
        let logged = |client_id: &str, r: Result<bool>| match r {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, client_id, "lifecycle check failed for a client; will retry");
                false
            }
        };
        for c in store::lifecycle::ending(&self.db, None, now, horizon).await? {
            if logged(&c.id, self.warn_ending(&c, now).await) {
                swept.expiring += 1;
            }
        }
        for u in store::lifecycle::unused(&self.db, now).await? {
            let noted =
                store::lifecycle::noted_at(&self.db, &u.id, "dormant", u.since, u.after_days).await;
            match noted {
                Err(e) => {
                    logged(&u.id, Err(e));
                }
                Ok(None) => {
                    if logged(&u.id, self.warn_dormant(&u, now).await) {
                        swept.dormant += 1;
                    }
                }
                Ok(Some(sent))
                    if sent <= now - DORMANT_NOTICE_DAYS * DAY
                        && u.since <= now - u.after_days * DAY =>
                {
                    if logged(&u.id, self.retire_dormant(&u, now).await) {
                        swept.retired += 1;
                    }
                }
                Ok(Some(_)) => {}
            }
        }
        store::lifecycle::prune(&self.db, now - NOTICES_KEPT_SECS).await?;
        Ok(swept)
    }

    /// The smallest warning due for `c`'s end, once.
    async fn warn_ending(&self, c: &store::lifecycle::Ending, now: Epoch) -> Result<bool> {
        let Some((end, retires)) = c.end() else {
            return Ok(false);
        };
        let Some(days) = EXPIRY_WARNING_DAYS
            .into_iter()
            .find(|d| end - now <= d * DAY)
        else {
            return Ok(false);
        };
        let mut tx = self.db.begin().await?;
        if !store::lifecycle::note(&mut *tx, &c.id, "expiring", end, days, now).await? {
            return Ok(false);
        }
        let what = if retires { "is retired" } else { "expires" };
        let detail = format!(
            "{:?} {what} {} ({})",
            c.name,
            days_phrase(days_until(end, now)),
            crate::calendar::rfc3339(end)
        );
        let event = system_event(
            &c.account_id,
            "client.expiring",
            &c.id,
            &c.project_id,
            detail,
        );
        crate::webhooks::outbox::record_and_tell(&mut tx, event, &c.id, now).await?;
        tx.commit().await?;
        tracing::info!(client_id = %c.id, days, "client ending soon: warned");
        Ok(true)
    }

    async fn warn_dormant(&self, u: &store::lifecycle::Unused, now: Epoch) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        if !store::lifecycle::note(&mut *tx, &u.id, "dormant", u.since, u.after_days, now).await? {
            return Ok(false);
        }
        let detail = format!(
            "{:?} unused since {}: retired {} unless used (clients unused for {} days are retired)",
            u.name,
            crate::calendar::rfc3339(u.since),
            crate::calendar::rfc3339(now + DORMANT_NOTICE_DAYS * DAY),
            u.after_days
        );
        let event = system_event(
            &u.account_id,
            "client.dormant",
            &u.id,
            &u.project_id,
            detail,
        );
        crate::webhooks::outbox::record_and_tell(&mut tx, event, &u.id, now).await?;
        tx.commit().await?;
        tracing::info!(client_id = %u.id, "dormant client: warned");
        Ok(true)
    }

    async fn retire_dormant(&self, u: &store::lifecycle::Unused, now: Epoch) -> Result<bool> {
        let reason = format!("unused for {} days", u.after_days);
        let mut tx = self.db.begin().await?;
        // Used since it was read: left alone.
        if !store::lifecycle::retire_unused(&mut *tx, &u.account_id, &u.id, u.since, now, &reason)
            .await?
        {
            return Ok(false);
        }
        let event = system_event(&u.account_id, "client.retire", &u.id, &u.project_id, reason);
        self.feed
            .commit_audited(tx, event, (ChangeKind::Client, &u.id))
            .await?;
        tracing::info!(client_id = %u.id, "dormant client retired");
        Ok(true)
    }

    /// Sets a project's dormancy: `None` follows the account, `Some(0)` is
    /// never, else 30, 60 or 90 days.
    pub async fn set_project(
        &self,
        by: Manager<'_>,
        project_id: &str,
        days: Option<i64>,
    ) -> Result<()> {
        let days = check_dormancy(days, true)?;
        let (manager, by) = (by, by.principal());
        let project = store::projects::get(&self.db, &by.account_id, project_id)
            .await?
            .ok_or(Error::NotFound)?;
        // Management clients are the owners' to retire.
        manager.owner_of(&project.api_id)?;
        let mut tx = self.db.begin().await?;
        if !store::projects::set(
            &mut *tx,
            &by.account_id,
            project_id,
            store::projects::Setting::DormantAfterDays,
            days,
        )
        .await?
        {
            return Err(Error::NotFound);
        }
        store::lifecycle::forget_dormant_warnings(&mut *tx, &by.account_id, Some(project_id))
            .await?;
        let detail = match days {
            None => "unused clients: as the account".to_owned(),
            Some(0) => "unused clients: never retired".to_owned(),
            Some(d) => format!("clients unused for {d} days are retired"),
        };
        let event = audit::Event::by(
            by,
            "project.dormancy",
            ("project", project_id),
            Some(project_id),
            detail,
        );
        self.feed
            .commit_audited(tx, event, (ChangeKind::Project, project_id))
            .await
    }

    /// Sets the account's dormancy: `None` (or 0) is never.
    pub async fn set_account(&self, by: Owner<'_>, days: Option<i64>) -> Result<()> {
        let days = check_dormancy(days, false)?;
        let by = by.principal();
        let mut tx = self.db.begin().await?;
        store::lifecycle::set_account_dormancy(&mut *tx, &by.account_id, days).await?;
        store::lifecycle::forget_dormant_warnings(&mut *tx, &by.account_id, None).await?;
        let detail = match days {
            None => "unused clients: never retired".to_owned(),
            Some(d) => format!(
                "clients unused for {d} days are retired, unless their project says otherwise"
            ),
        };
        audit::record(
            &mut *tx,
            audit::Event::by(
                by,
                "account.dormancy",
                ("account", &by.account_id),
                None,
                detail,
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller's account's live clients that expire or are retired
    /// within `days` days.
    pub async fn ending_soon(
        &self,
        by: &crate::access::Principal,
        days: i64,
    ) -> Result<Vec<store::lifecycle::Ending>> {
        let now = self.clock.now();
        store::lifecycle::ending(&self.db, Some(&by.account_id), now, now + days * DAY).await
    }

    /// The account's dormancy setting.
    pub async fn account(&self, account_id: &str) -> Result<Option<i64>> {
        store::lifecycle::account_dormancy(&self.db, account_id).await
    }
}

fn system_event<'a>(
    account_id: &'a str,
    action: &'static str,
    client_id: &'a str,
    project_id: &'a str,
    detail: String,
) -> audit::Event<'a> {
    audit::Event {
        account_id,
        actor: audit::Actor::System,
        action,
        target_kind: "client",
        target_id: client_id,
        project_id: Some(project_id),
        client_ip: None,
        detail,
    }
}
