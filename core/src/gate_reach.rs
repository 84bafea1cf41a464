//! How far each gate in another process has reached in the change feed,
//! and when each of them applied each client cut-off. This makes "a
//! revocation reaches every gate within a second" something staff and the
//! account can see, not only a promise.
//!
//! A gate reports, every few seconds to whichever node it follows, the
//! position it has applied and the positions it applied since its last
//! report, each with how many milliseconds ago (so the gate's clock is
//! never compared with a node's). The node writes the report to the
//! database, so every node shows every gate. A change that cuts a client
//! off (a revocation, a retirement, a narrowing) is written with its feed
//! position in its own transaction ([`record_cut_off`]); a report that
//! moves a gate past that position records when the gate applied it. The
//! figure compares the clocks of the node that committed the cut-off and
//! the node that took the report: nodes sharing a database are expected to
//! keep their clocks in step (NTP), as their sessions and tokens already
//! require.

use std::net::IpAddr;
use std::sync::Arc;

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
/// Gate processes one credential may run at once (replicas). Past this a
/// new one is refused: a runaway or leaked credential cannot fill the
/// table with made-up instances.
pub const INSTANCES_PER_GATE_MAX: i64 = 16;
/// Gate processes listed at most.
pub const LISTED_MAX: i64 = 1000;

/// Audited client changes that cut a client off at the gates. Expiry is
/// not among them (nothing changes then: gates knew the time); a scheduled
/// retirement is, as the change that made the client's state final.
pub const CUT_OFF_ACTIONS: &[&str] = &[
    "client.retire",
    "client.revoke",
    "client.narrow",
    "client.secret_reported",
];

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
    /// Went silent first, and came back as a new process (its snapshot
    /// held the cut-off).
    Restarted,
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
            .filter(|g| matches!(g.reached, Reached::Applied(_) | Reached::Restarted))
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

/// One audited change to a client, as [`record_cut_off`] reads it.
pub(crate) struct ClientChange<'a> {
    pub seq: i64,
    pub action: &'a str,
    pub account_id: &'a str,
    pub project_id: &'a str,
    pub client_id: &'a str,
    pub at_ms: i64,
}

/// Records, in the transaction of the change, that it cut the client off,
/// when its action is such a change. The project's API is read in that
/// transaction, not from this node's view (which may not have the project
/// yet).
pub(crate) async fn record_cut_off(
    conn: &mut sqlx::AnyConnection,
    change: ClientChange<'_>,
) -> Result<()> {
    let ClientChange {
        seq,
        action,
        account_id,
        project_id,
        client_id,
        at_ms,
    } = change;
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
            at_ms,
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
        if report.position < 0 {
            return Err(Error::invalid("position", "A feed position is 0 or more."));
        }
        let (now, now_ms) = (self.clock.now(), self.clock.now_ms());
        let behind = (node_position - report.position).max(0);
        let mut tx = self.db.begin().await?;
        let before = store::position(&mut tx, report.gate_id, instance).await?;
        if before.is_none()
            && store::live_instances(&mut tx, report.gate_id, now - SILENT_AFTER_SECS).await?
                >= INSTANCES_PER_GATE_MAX
        {
            return Err(Error::invalid(
                "instance",
                "This gate credential already has as many processes as it may run at once.",
            ));
        }
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
            let newest = report.applied.len().saturating_sub(APPLIED_MAX);
            let applied = &report.applied[newest..];
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
        Ok(
            store::connections_since(&self.db, now - FORGET_AFTER_SECS, LISTED_MAX)
                .await?
                .into_iter()
                .map(|row| GateConnection::of(row, now))
                .collect(),
        )
    }

    /// Each gate credential's lag as its newest-heard process reports it
    /// (a restarted process replaces the old one, as a replica that took
    /// over would): for the operators' metrics, which carry credential ids
    /// and nothing of any account.
    pub async fn lag_by_gate(&self) -> Result<Vec<GateConnection>> {
        let now = self.clock.now();
        let mut newest: std::collections::HashMap<String, GateConnection> = Default::default();
        for row in store::connections_since(&self.db, now - FORGET_AFTER_SECS, LISTED_MAX).await? {
            let c = GateConnection::of(row, now);
            match newest.get(&c.gate_id) {
                Some(seen) if seen.last_seen >= c.last_seen => {}
                _ => {
                    newest.insert(c.gate_id.clone(), c);
                }
            }
        }
        Ok(newest.into_values().collect())
    }

    /// The caller's account's clients with a cut-off in the last day.
    pub async fn cut_off_clients(
        &self,
        by: &Principal,
    ) -> Result<std::collections::HashSet<String>> {
        let since = self.clock.now_ms() - FORGET_AFTER_SECS * 1000;
        Ok(store::cut_off_clients(&self.db, by.account_id(), since)
            .await?
            .into_iter()
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
        let window = (at - SILENT_AFTER_SECS, at);
        let connected =
            store::connections_of_api_between(&self.db, &cut.api_id, window, LISTED_MAX).await?;
        let applied = store::applied_of(&self.db, cut.seq).await?;
        // A gate process that went silent, then a new one with its
        // credential that started from a snapshot past the cut-off.
        let restarted = store::restarted_past(&self.db, &cut.api_id, at, cut.seq).await?;
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
                    None if now - c.last_seen > SILENT_AFTER_SECS => {
                        if restarted.contains(&c.gate_id) {
                            Reached::Restarted
                        } else {
                            Reached::Gone
                        }
                    }
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
        let before_ms = self.clock.now_ms() - FORGET_AFTER_SECS * 1000;
        let mut tx = self.db.begin().await?;
        store::prune(&mut tx, before, before_ms).await?;
        tx.commit().await?;
        Ok(())
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
