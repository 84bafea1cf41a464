//! How far each gate in another process has reached in the change feed,
//! and when each of them applied each client cut-off. This makes "a
//! revocation reaches every gate within a second" something staff and the
//! account can see, not only a promise.
//!
//! A gate reports, every few seconds to whichever node it follows, the
//! position it has applied and the positions it applied since its last
//! report, each with how many milliseconds ago (so no two machines' clocks
//! are compared). The node writes the report to the database, so every
//! node shows every gate. A change that cuts a client off (a revocation, a
//! retirement, a narrowing) is written with its feed position in its own
//! transaction ([`record_cut_off`]); a report that moves a gate past that
//! position records when the gate applied it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::access::Support;
use crate::clock::{Clock, Epoch, Secs};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::model::Principal;
use crate::store::gate_reach::{self as store, CutOffRow, GateConnectionRow, NamedConnectionRow};

/// Past this silence a gate counts as gone (it reports every 2 s).
pub const SILENT_AFTER_SECS: Secs = 10;
/// Gates gone this long, and cut-offs this old, are forgotten.
pub const FORGET_AFTER_SECS: Secs = 86_400;
/// Applied positions taken from one report (a gate sends its newest).
pub const APPLIED_MAX: usize = 1024;
const VERSION_MAX: usize = 64;
const INSTANCE_MAX: usize = 64;

/// Audited client changes that cut a client off at the gates. A scheduled
/// retirement or an expiry is not among them: gates know those times in
/// advance.
pub const CUT_OFF_ACTIONS: &[&str] = &[
    "client.retire",
    "client.revoke",
    "client.narrow",
    "client.secret_reported",
];

/// Milliseconds since the epoch, from the system clock (cut-offs are timed
/// in them; the seconds of [`Clock`] are too coarse for a one-second
/// promise).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One report from a gate process.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// The gate credential's id.
    pub gate_id: &'a str,
    pub api_id: &'a str,
    /// Random per gate process; empty from a gate that sends none.
    pub instance: &'a str,
    pub peer: IpAddr,
    pub version: &'a str,
    pub position: i64,
    /// Positions applied since the last report: (position, milliseconds
    /// before the report).
    pub applied: &'a [(i64, u64)],
}

/// A gate process as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateConnection {
    pub gate_id: String,
    pub gate_name: String,
    pub instance: String,
    pub api_id: String,
    pub peer: String,
    pub version: String,
    pub position: i64,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
    /// Changes it trailed the node it reported to, at its last report.
    pub changes_behind: i64,
    /// Seconds it trails: how long it has been behind, or its silence.
    pub lag_secs: Secs,
    /// Heard from within [`SILENT_AFTER_SECS`].
    pub connected: bool,
}

impl GateConnection {
    fn of(row: NamedConnectionRow, now: Epoch) -> Self {
        let c = row.connection;
        let silent = now - c.last_seen;
        let lag_secs = if silent > SILENT_AFTER_SECS {
            silent
        } else {
            c.behind_since.map_or(0, |since| (now - since).max(0))
        };
        Self {
            gate_id: c.gate_id,
            gate_name: row.gate_name,
            instance: c.instance,
            api_id: c.api_id,
            peer: c.peer,
            version: c.version,
            position: c.position,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            changes_behind: c.changes_behind,
            lag_secs,
            connected: silent <= SILENT_AFTER_SECS,
        }
    }
}

/// Where one gate process stands with one cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// Applied this many milliseconds after the cut-off committed (`None`:
    /// applied, but before its report's list began).
    Applied(Option<i64>),
    /// Connected, not there yet.
    Pending,
    /// Went silent before it reported the cut-off applied.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateReached {
    pub gate_name: String,
    pub instance: String,
    pub peer: String,
    pub reached: Reached,
}

/// A client's newest cut-off and every gate process of its API that was
/// connected when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutOffReach {
    pub action: String,
    pub api_id: String,
    pub at_ms: i64,
    pub gates: Vec<GateReached>,
}

impl CutOffReach {
    /// Gates that applied it, of those connected when it was made.
    pub fn applied(&self) -> usize {
        self.gates
            .iter()
            .filter(|g| matches!(g.reached, Reached::Applied(_)))
            .count()
    }

    /// The slowest known time to apply it, in milliseconds.
    pub fn slowest_ms(&self) -> Option<i64> {
        self.gates
            .iter()
            .filter_map(|g| match g.reached {
                Reached::Applied(ms) => ms,
                _ => None,
            })
            .max()
    }
}

/// When a gate applied `seq`: at the first position at or past it in its
/// report, else (applied before the list began) at the report.
pub fn applied_at(applied: &[(i64, u64)], seq: i64, report_ms: i64) -> i64 {
    applied
        .iter()
        .filter(|(s, _)| *s >= seq)
        .min_by_key(|(s, _)| *s)
        .map_or(report_ms, |(_, ago)| {
            report_ms - (*ago).min(FORGET_AFTER_SECS as u64 * 1000) as i64
        })
}

/// Records, in the transaction of the change at `seq`, that it cut
/// `client_id` of `project_id` off, when `action` is such a change. The
/// project's API is read in that transaction, not from this node's view
/// (which may not have the project yet).
pub(crate) async fn record_cut_off(
    conn: &mut sqlx::AnyConnection,
    seq: i64,
    action: &str,
    account_id: &str,
    project_id: &str,
    client_id: &str,
) -> Result<()> {
    if !CUT_OFF_ACTIONS.contains(&action) {
        return Ok(());
    }
    let Some(project) = crate::store::projects::by_id(&mut *conn, project_id).await? else {
        return Ok(());
    };
    store::insert_cut_off(
        conn,
        &CutOffRow {
            seq,
            api_id: project.api_id,
            account_id: account_id.to_owned(),
            client_id: client_id.to_owned(),
            action: action.to_owned(),
            at_ms: now_ms(),
        },
    )
    .await
}

pub struct GateReach {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl GateReach {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// Records `report`, made when the node that took it had applied
    /// `node_position`, and when the gate applied each cut-off it passed.
    pub async fn report(&self, report: Report<'_>, node_position: i64) -> Result<()> {
        let instance = report.instance;
        if instance.len() > INSTANCE_MAX
            || !instance
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid(
                "instance",
                "At most 64 letters, digits, '-' or '_'.",
            ));
        }
        let (now, now_ms) = (self.clock.now(), now_ms());
        let behind = (node_position - report.position).max(0);
        let mut tx = self.db.begin().await?;
        let before = store::position(&mut tx, report.gate_id, instance).await?;
        let behind_since = match before {
            _ if behind == 0 => None,
            Some((_, Some(since))) => Some(since),
            _ => Some(now),
        };
        store::put(
            &mut tx,
            &GateConnectionRow {
                gate_id: report.gate_id.to_owned(),
                instance: instance.to_owned(),
                api_id: report.api_id.to_owned(),
                peer: report.peer.to_string(),
                version: report.version.chars().take(VERSION_MAX).collect(),
                position: report.position,
                changes_behind: behind,
                behind_since,
                first_seen: now,
                last_seen: now,
            },
        )
        .await?;
        // A first report says nothing of what came before it: the gate
        // started from a snapshot that already held every earlier cut-off.
        if let Some((previous, _)) = before.filter(|(p, _)| *p < report.position) {
            let applied = &report.applied[..report.applied.len().min(APPLIED_MAX)];
            for seq in
                store::cut_offs_between(&mut tx, report.api_id, previous, report.position).await?
            {
                let at = applied_at(applied, seq, now_ms);
                store::applied(&mut tx, seq, report.gate_id, instance, at).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every gate process heard from in the last day: connected ones and
    /// those gone. For staff.
    pub async fn connections(&self, _by: Support<'_>) -> Result<Vec<GateConnection>> {
        let now = self.clock.now();
        Ok(store::connections_since(&self.db, now - FORGET_AFTER_SECS)
            .await?
            .into_iter()
            .map(|row| GateConnection::of(row, now))
            .collect())
    }

    /// The caller's account's client `client_id`: its newest cut-off in the
    /// last day, and where each gate process of its API stands with it.
    pub async fn reach(&self, by: &Principal, client_id: &str) -> Result<Option<CutOffReach>> {
        self.reach_in(by.account_id(), client_id).await
    }

    /// [`GateReach::reach`] for staff, in any account.
    pub async fn reach_for_support(
        &self,
        _by: Support<'_>,
        account_id: &str,
        client_id: &str,
    ) -> Result<Option<CutOffReach>> {
        self.reach_in(account_id, client_id).await
    }

    async fn reach_in(&self, account_id: &str, client_id: &str) -> Result<Option<CutOffReach>> {
        let Some(cut) = store::newest_cut_off(&self.db, account_id, client_id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let at = cut.at_ms.div_euclid(1000);
        let connected =
            store::connections_of_api_between(&self.db, &cut.api_id, at - SILENT_AFTER_SECS, at)
                .await?;
        let applied = store::applied_of(&self.db, cut.seq).await?;
        let gates = connected
            .into_iter()
            .map(|row| {
                let c = &row.connection;
                let done = applied
                    .iter()
                    .find(|(g, i, _)| *g == c.gate_id && *i == c.instance)
                    .map(|(.., ms)| (ms - cut.at_ms).max(0));
                let reached = match done {
                    Some(ms) => Reached::Applied(Some(ms)),
                    None if c.position >= cut.seq => Reached::Applied(None),
                    None if now - c.last_seen > SILENT_AFTER_SECS => Reached::Gone,
                    None => Reached::Pending,
                };
                GateReached {
                    gate_name: row.gate_name.clone(),
                    instance: c.instance.clone(),
                    peer: c.peer.clone(),
                    reached,
                }
            })
            .collect();
        Ok(Some(CutOffReach {
            action: cut.action,
            api_id: cut.api_id,
            at_ms: cut.at_ms,
            gates,
        }))
    }

    /// Forgets gates gone a day and cut-offs a day old.
    pub async fn prune(&self) -> Result<()> {
        let before = self.clock.now() - FORGET_AFTER_SECS;
        store::prune(&self.db, before, now_ms() - FORGET_AFTER_SECS * 1000).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_counts_as_applied_with_the_first_position_at_or_past_it() {
        let applied = [(7, 900), (9, 400), (12, 100)];
        // 8 came with 9 (a gate is told only its API's changes).
        assert_eq!(applied_at(&applied, 8, 10_000), 9_600);
        assert_eq!(applied_at(&applied, 12, 10_000), 9_900);
        // Before the list began: the report's own time.
        assert_eq!(applied_at(&applied, 13, 10_000), 10_000);
        assert_eq!(applied_at(&[], 1, 10_000), 10_000);
    }
}
