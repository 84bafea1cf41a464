//! Where each gate in another process says it is in the feed: it posts the
//! position it has applied every few seconds (`POST /gate/v1/position`),
//! and this node compares it with its own. That makes the promise "a
//! revocation reaches every gate within a second" something an operator
//! can watch (`portcullis_remote_gate_lag_seconds{gate}`).
//!
//! Held in memory by the node that took the reports (telemetry, not
//! domain state): behind a load balancer each node sees the reports it was
//! sent, and `max by (gate)` over the nodes is the gate's lag. A gate that
//! stops reporting counts as behind by its silence; one silent for a day is
//! forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use portcullis_core::clock::{Epoch, Secs};

/// Past this silence, a gate's lag is its silence (it reports every 2 s).
const SILENT_AFTER_SECS: Secs = 10;
/// Gates silent this long are forgotten.
const FORGET_AFTER_SECS: Secs = 24 * 3600;
/// At most this many gates are remembered (credentials are few; a flood of
/// made-up ids cannot get here: reports are authenticated).
const MAX_GATES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatePosition {
    /// The gate credential's id.
    pub gate: String,
    pub api_id: String,
    pub peer: IpAddr,
    pub version: String,
    pub position: i64,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
    /// Changes this node had applied that the gate had not, at its report.
    pub changes_behind: i64,
    /// Since when it has been behind this node (none: caught up at its
    /// last report).
    behind_since: Option<Epoch>,
}

impl GatePosition {
    /// Seconds it trails: its silence once that is long, else how long it
    /// has been behind.
    pub fn lag_secs(&self, now: Epoch) -> Secs {
        let silent = now - self.last_seen;
        if silent > SILENT_AFTER_SECS {
            return silent;
        }
        self.behind_since.map_or(0, |since| (now - since).max(0))
    }
}

/// One report.
pub struct Report<'a> {
    pub gate: &'a str,
    pub api_id: &'a str,
    pub peer: IpAddr,
    pub version: &'a str,
    pub position: i64,
}

#[derive(Default)]
pub struct GatePositions {
    gates: Mutex<HashMap<String, GatePosition>>,
}

impl GatePositions {
    /// Records `report`, made when this node had applied `node_position`.
    pub fn report(&self, report: Report<'_>, node_position: i64, now: Epoch) {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates.retain(|_, g| now - g.last_seen < FORGET_AFTER_SECS);
        if gates.len() >= MAX_GATES && !gates.contains_key(report.gate) {
            return;
        }
        let behind = (node_position - report.position).max(0);
        let entry = gates
            .entry(report.gate.to_owned())
            .or_insert_with(|| GatePosition {
                gate: report.gate.to_owned(),
                api_id: report.api_id.to_owned(),
                peer: report.peer,
                version: String::new(),
                position: report.position,
                first_seen: now,
                last_seen: now,
                changes_behind: 0,
                behind_since: None,
            });
        entry.peer = report.peer;
        entry.version = report.version.chars().take(64).collect();
        entry.position = report.position;
        entry.last_seen = now;
        entry.changes_behind = behind;
        entry.behind_since = if behind == 0 {
            None
        } else {
            entry.behind_since.or(Some(now))
        };
    }

    /// Every gate heard from in the last day, by credential id.
    pub fn all(&self) -> Vec<GatePosition> {
        let gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<GatePosition> = gates.values().cloned().collect();
        all.sort_by(|a, b| a.gate.cmp(&b.gate));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(position: i64) -> Report<'static> {
        Report {
            gate: "gate_1",
            api_id: "partner",
            peer: IpAddr::from([127, 0, 0, 1]),
            version: "0.1.0",
            position,
        }
    }

    #[test]
    fn a_gate_behind_counts_from_when_it_fell_behind_and_a_silent_one_by_its_silence() {
        let p = GatePositions::default();
        p.report(report(10), 10, 100);
        assert_eq!(p.all()[0].lag_secs(101), 0);
        // Behind at 102 and still at 104: behind since 102.
        p.report(report(10), 12, 102);
        p.report(report(11), 12, 104);
        let g = &p.all()[0];
        assert_eq!((g.changes_behind, g.lag_secs(105)), (1, 3));
        // Caught up.
        p.report(report(12), 12, 106);
        assert_eq!(p.all()[0].lag_secs(106), 0);
        // Then silent: its silence is its lag; after a day it is gone.
        assert_eq!(p.all()[0].lag_secs(106 + 30), 30);
        p.report(
            Report {
                gate: "gate_2",
                ..report(1)
            },
            1,
            106 + FORGET_AFTER_SECS,
        );
        let all = p.all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].gate, "gate_2");
    }
}
