//! The audit log: who did what to which credential, when and from where.
//! Append-only; read newest first with keyset paging, so any page costs
//! the same however long the log grows.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ids::random_bytes;
use crate::model::Principal;
use crate::store::audit as store;

pub use crate::model::{Cursor, Entry, Filter};

/// Every action the log records, as stored.
pub const ACTIONS: &[&str] = &[
    "account.sign_up",
    "user.sign_in",
    "project.create",
    "project.update",
    "project.archive",
    "project.rate_limit",
    "project.keys_only",
    "project.dormancy",
    "project.quota",
    "client.create",
    "client.narrow",
    "client.rotate",
    "client.keys_changed",
    "client.workload_sign_in",
    "client.retire",
    "client.retire_scheduled",
    "client.retire_cancelled",
    "client.revoke",
    "client.secret_reported",
    "client.expire",
    "client.expiring",
    "client.dormant",
    "client.delete",
    "client.test_token",
    "member.invite",
    "member.invite_withdrawn",
    "member.join",
    "member.remove",
    "member.password_reset_issued",
    "account.sign_up_repeated",
    "account.second_factor_required",
    "account.second_factor_optional",
    "account.dormancy",
    "user.password_change",
    "user.password_reset",
    "user.second_factor_on",
    "user.second_factor_off",
    "user.recovery_codes_new",
    "user.recovery_code_used",
    "user.second_factor_failed",
    "webhook.create",
    "webhook.update",
    "webhook.enable",
    "webhook.disable",
    "webhook.delete",
    "webhook.resend",
];

pub const PAGE_MAX: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: String,
        email: String,
    },
    Staff {
        id: String,
        email: String,
    },
    /// A management client, through the management API.
    Client {
        id: String,
        label: String,
    },
    System,
}

impl Actor {
    pub fn of(p: &Principal) -> Self {
        match &p.acting_client {
            Some(client) => Actor::Client {
                id: client.clone(),
                label: p.email.clone(),
            },
            None => Actor::User {
                id: p.user_id.clone(),
                email: p.email.clone(),
            },
        }
    }
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub account_id: &'a str,
    pub actor: Actor,
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: &'a str,
    pub project_id: Option<&'a str>,
    pub client_ip: Option<IpAddr>,
    pub detail: String,
}

impl Filter {
    /// From the filters given: `None` means "any". Dates are exactly
    /// `YYYY-MM-DD`, UTC, inclusive; an empty actor or project means any;
    /// the action is checked against [`ACTIONS`] by [`search`].
    pub fn new(
        actor: Option<&str>,
        action: Option<&str>,
        project_id: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Self> {
        let day = |field: &'static str, s: Option<&str>, end: bool| -> Result<Option<Epoch>> {
            let Some(s) = s else { return Ok(None) };
            let date = crate::calendar::parse_date(s)
                .ok_or_else(|| Error::invalid(field, "Enter a date as YYYY-MM-DD."))?;
            let start = crate::calendar::day_start(date);
            Ok(Some(if end { start + 86_399 } else { start }))
        };
        let line = |field: &'static str, s: Option<&str>| -> Result<Option<String>> {
            let Some(s) = s else { return Ok(None) };
            let kept = crate::validate::check_line(s, FILTER_MAX).map_err(|_| {
                Error::invalid(
                    field,
                    format!("Use one line of at most {FILTER_MAX} characters."),
                )
            })?;
            Ok(Some(kept.to_owned()))
        };
        let any_if_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        Ok(Filter {
            actor: any_if_empty(line("actor", actor)?),
            action: line("action", action)?,
            project_id: any_if_empty(line("project_id", project_id)?),
            from: day("from", from, false)?,
            to: day("to", to, true)?,
        })
    }

    /// As people type them in the console's form: blanks mean "any".
    pub fn from_text(
        actor: &str,
        action: &str,
        project_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Self> {
        fn typed(s: &str) -> Option<&str> {
            Some(s.trim()).filter(|s| !s.is_empty())
        }
        Self::new(
            typed(actor),
            typed(action),
            typed(project_id),
            typed(from),
            typed(to),
        )
    }
}

/// The longest actor, action or project filter (`validate::line_schema`).
pub const FILTER_MAX: usize = 200;

/// A page link as `Cursor::encode` writes it and `decode` takes it.
pub const CURSOR_PATTERN: &str = r"^-?[0-9]{1,18}\.[A-Za-z0-9_]{1,64}$";

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }

    pub fn decode(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "before",
                "That page link is not valid; start from the newest entries.",
            )
        };
        let (at, id) = s.split_once('.').ok_or_else(bad)?;
        // Exactly CURSOR_PATTERN: `parse` alone would take "+1" too.
        let digits = at.strip_prefix('-').unwrap_or(at);
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let at = at.parse().map_err(|_| bad())?;
        if id.is_empty()
            || id.len() > 64
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(bad());
        }
        Ok(Cursor { at, id: id.into() })
    }
}

pub struct Page {
    pub entries: Vec<Entry>,
    /// Set when older entries exist.
    pub next: Option<Cursor>,
}

/// Ids sort in the order events were written (within a process), so
/// events of the same second page in order: time, a sequence, randomness.
fn event_id(now: Epoch) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "evt_{:010x}{seq:08x}{}",
        now.max(0),
        hex::encode(random_bytes::<8>())
    )
}

impl<'a> Event<'a> {
    /// An event in `by`'s account, done by `by`, from their address.
    pub fn by(
        by: &'a Principal,
        action: &'static str,
        target: (&'static str, &'a str),
        project_id: Option<&'a str>,
        detail: String,
    ) -> Self {
        Self {
            account_id: &by.account_id,
            actor: Actor::of(by),
            action,
            target_kind: target.0,
            target_id: target.1,
            project_id,
            client_ip: by.client_ip,
            detail,
        }
    }
}

/// Appends an event, on the pool or in the transaction of the change it
/// records (then if either fails, neither happens). A failure is logged
/// and returned.
pub async fn record<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    e: Event<'_>,
    now: Epoch,
) -> Result<()> {
    let (kind, id, label) = match &e.actor {
        Actor::User { id, email } => ("user", id.as_str(), email.as_str()),
        Actor::Client { id, label } => ("client", id.as_str(), label.as_str()),
        Actor::Staff { id, email } => ("staff", id.as_str(), email.as_str()),
        Actor::System => ("system", "", "Portcullis"),
    };
    let row = store::NewRow {
        id: &event_id(now),
        account_id: e.account_id,
        at: now,
        actor_kind: kind,
        actor_id: id,
        actor_label: label,
        action: e.action,
        target_kind: e.target_kind,
        target_id: e.target_id,
        project_id: e.project_id,
        client_ip: e.client_ip.map(|ip| ip.to_string()),
        detail: &e.detail,
    };
    store::insert(db, &row).await.inspect_err(|err| {
        tracing::error!(error = %err, action = e.action, "could not write an audit event");
    })
}

/// Records, logging (not returning) a failure: for actions that have
/// already taken effect and must not be reported as failed.
pub async fn record_or_log(db: &Db, e: Event<'_>, now: Epoch) {
    let _ = record(db, e, now).await;
}

/// A filter's action is one the log records.
pub fn check_action(filter: &Filter) -> Result<()> {
    match &filter.action {
        Some(a) if !ACTIONS.contains(&a.as_str()) => {
            Err(Error::invalid("action", "Choose an action from the list."))
        }
        _ => Ok(()),
    }
}

/// One page of an account's log, newest first.
pub async fn search(
    db: &Db,
    account_id: &str,
    filter: &Filter,
    before: Option<&Cursor>,
    limit: i64,
) -> Result<Page> {
    check_action(filter)?;
    let limit = limit.clamp(1, PAGE_MAX);
    let mut entries = store::page(db, account_id, filter, before, limit + 1).await?;
    let next = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| Cursor {
            at: e.at,
            id: e.id.clone(),
        })
    } else {
        None
    };
    Ok(Page { entries, next })
}
