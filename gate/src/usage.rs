//! Use per project and minute, counted where it happens and handed on in
//! batches: tokens minted per client at the token endpoint, calls a gate
//! let through, refused and rate limited per project. A node writes its
//! tally to the shared database every few seconds; a gate in another
//! process reports its own to the issuer (`POST /gate/v1/usage`). Either
//! way the totals are the cluster's, and no request waits for a write.
//!
//! Counting is one lock and two or three hash lookups; a key is copied
//! only the first time a project or client is seen in a batch.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::clock::Epoch;

/// Most rows one gate report to the issuer carries (the issuer refuses
/// more).
pub const REPORT_MAX_ROWS: usize = 500;

/// What one row counts. Per-client rows count only `minted`; the
/// project-wide row (client `""`) counts the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Tokens minted.
    #[serde(default)]
    pub minted: u64,
    /// Calls a gate let through.
    #[serde(default)]
    pub gated: u64,
    /// Calls a gate refused with a token of the project (401 or 403).
    #[serde(default)]
    pub refused: u64,
    /// Requests the project's bucket refused (429), tokens and calls.
    #[serde(default)]
    pub limited: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.minted += other.minted;
        self.gated += other.gated;
        self.refused += other.refused;
        self.limited += other.limited;
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// What happened, for [`Tally::count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Minted,
    Gated,
    Refused,
    Limited,
}

/// One row of a batch: a project's (or one of its clients') counts in
/// one epoch minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub project_id: String,
    /// `""`: the project as a whole.
    #[serde(default)]
    pub client_id: String,
    /// Epoch seconds / 60.
    pub minute: i64,
    #[serde(flatten)]
    pub counts: Counts,
}

/// minute → project → client (`""` for the project) → counts.
type Batch = HashMap<i64, HashMap<Box<str>, HashMap<Box<str>, Counts>>>;

/// The counts not yet handed on.
#[derive(Default)]
pub struct Tally {
    pending: Mutex<Batch>,
    /// Taken by [`Tally::take_to_write`] and not yet written: still
    /// counted by [`Tally::pending_for`]. (A reader that reads the stored
    /// totals in the instant a write commits may count that write twice or
    /// not at all, until its next read.)
    in_flight: Mutex<Vec<Row>>,
}

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    /// One event for `project_id` (and `client_id`, for a token) at `now`.
    pub fn count(&self, project_id: &str, client_id: &str, event: Event, now: Epoch) {
        let mut batch = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let projects = batch.entry(now.div_euclid(60)).or_default();
        let clients = match projects.get_mut(project_id) {
            Some(c) => c,
            None => projects.entry(project_id.into()).or_default(),
        };
        let counts = match clients.get_mut(client_id) {
            Some(c) => c,
            None => clients.entry(client_id.into()).or_default(),
        };
        match event {
            Event::Minted => counts.minted += 1,
            Event::Gated => counts.gated += 1,
            Event::Refused => counts.refused += 1,
            Event::Limited => counts.limited += 1,
        }
    }

    /// Everything counted since the last take, as rows; the tally starts
    /// again from nothing.
    pub fn take(&self) -> Vec<Row> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut rows = Vec::new();
        for (minute, projects) in batch {
            for (project_id, clients) in projects {
                for (client_id, counts) in clients {
                    if !counts.is_zero() {
                        rows.push(Row {
                            project_id: project_id.to_string(),
                            client_id: client_id.to_string(),
                            minute,
                            counts,
                        });
                    }
                }
            }
        }
        rows.sort_by(|a, b| {
            (a.minute, &a.project_id, &a.client_id).cmp(&(b.minute, &b.project_id, &b.client_id))
        });
        rows
    }

    /// [`Tally::take`] for a writer that says when the rows are written
    /// ([`Tally::written`]) or not ([`Tally::put_back`]); readers see them
    /// meanwhile.
    pub fn take_to_write(&self) -> Vec<Row> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        // A write that never said how it ended (cancelled, say, at
        // shutdown): its rows go with this one rather than being lost.
        let left = std::mem::take(&mut *in_flight);
        if !left.is_empty() {
            self.merge(left, i64::MIN);
        }
        let rows = self.take();
        in_flight.clone_from(&rows);
        rows
    }

    /// Forgets counts of minutes before `oldest_minute` (whoever they were
    /// for would no longer take them).
    pub fn forget_before(&self, oldest_minute: i64) {
        let mut batch = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        batch.retain(|m, _| *m >= oldest_minute);
    }

    /// The rows of the last [`Tally::take_to_write`] are written.
    pub fn written(&self) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Rows taken but not handed on (the write failed): counted again,
    /// unless older than `oldest_minute` (a long outage forgets the
    /// oldest rather than growing without end).
    pub fn put_back(&self, rows: Vec<Row>, oldest_minute: i64) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.clear();
        self.merge(rows, oldest_minute);
    }

    fn merge(&self, rows: Vec<Row>, oldest_minute: i64) {
        let mut batch = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        batch.retain(|m, _| *m >= oldest_minute);
        for row in rows.into_iter().filter(|r| r.minute >= oldest_minute) {
            batch
                .entry(row.minute)
                .or_default()
                .entry(row.project_id.into())
                .or_default()
                .entry(row.client_id.into())
                .or_default()
                .add(&row.counts);
        }
    }

    /// The counts not yet handed on for one project, by (client, minute):
    /// what a reader adds to the stored totals to see its own node's
    /// latest.
    pub fn pending_for(&self, project_id: &str) -> Vec<Row> {
        let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let batch = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut rows: Vec<Row> = in_flight
            .iter()
            .filter(|r| r.project_id == project_id)
            .cloned()
            .collect();
        for (minute, projects) in batch.iter() {
            if let Some(clients) = projects.get(project_id) {
                for (client_id, counts) in clients {
                    rows.push(Row {
                        project_id: project_id.to_owned(),
                        client_id: client_id.to_string(),
                        minute: *minute,
                        counts: *counts,
                    });
                }
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_project_client_and_minute_and_starts_again_after_a_take() {
        let t = Tally::new();
        t.count("p1", "c1", Event::Minted, 120);
        t.count("p1", "c1", Event::Minted, 179);
        t.count("p1", "c1", Event::Minted, 180);
        t.count("p1", "", Event::Gated, 130);
        t.count("p1", "", Event::Refused, 130);
        t.count("p2", "", Event::Limited, 130);
        let rows = t.take();
        let find = |p: &str, c: &str, m: i64| {
            rows.iter()
                .find(|r| r.project_id == p && r.client_id == c && r.minute == m)
                .map(|r| r.counts)
        };
        assert_eq!(find("p1", "c1", 2).unwrap().minted, 2);
        assert_eq!(find("p1", "c1", 3).unwrap().minted, 1);
        let p1 = find("p1", "", 2).unwrap();
        assert_eq!((p1.gated, p1.refused, p1.limited), (1, 1, 0));
        assert_eq!(find("p2", "", 2).unwrap().limited, 1);
        assert_eq!(rows.len(), 4);
        assert!(t.take().is_empty());
    }

    #[test]
    fn rows_put_back_are_added_to_what_came_meanwhile_and_the_oldest_go() {
        let t = Tally::new();
        t.count("p", "c", Event::Minted, 600);
        let taken = t.take();
        t.count("p", "c", Event::Minted, 610);
        t.count("p", "c", Event::Minted, 0);
        t.put_back(taken, 5);
        let rows = t.take();
        assert_eq!(rows.len(), 1, "minute 0 is older than the oldest kept");
        assert_eq!(rows[0].counts.minted, 2);
        assert_eq!(t.pending_for("p"), Vec::new());
    }

    #[test]
    fn rows_being_written_stay_visible_until_written_or_put_back() {
        let t = Tally::new();
        t.count("p", "c", Event::Minted, 60);
        let rows = t.take_to_write();
        t.count("p", "c", Event::Minted, 60);
        let seen: u64 = t.pending_for("p").iter().map(|r| r.counts.minted).sum();
        assert_eq!(seen, 2, "one being written, one new");
        t.written();
        assert_eq!(t.pending_for("p").len(), 1);
        let again = t.take_to_write();
        t.put_back(again, 0);
        let seen: u64 = t.pending_for("p").iter().map(|r| r.counts.minted).sum();
        assert_eq!(seen, 1, "put back once, not also in flight");
        drop(rows);
    }

    #[test]
    fn a_write_that_never_ended_goes_with_the_next_and_old_minutes_go() {
        let t = Tally::new();
        t.count("p", "c", Event::Minted, 60);
        let _lost = t.take_to_write();
        t.count("p", "c", Event::Minted, 60);
        t.count("p", "c", Event::Minted, 6000);
        let rows = t.take_to_write();
        let minted: u64 = rows
            .iter()
            .filter(|r| r.minute == 1)
            .map(|r| r.counts.minted)
            .sum();
        assert_eq!(minted, 2, "the cancelled write's row is not lost");
        t.written();
        t.count("p", "", Event::Gated, 60);
        t.count("p", "", Event::Gated, 6000);
        t.forget_before(100);
        let left = t.take();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].minute, 100);
    }

    #[test]
    fn a_reader_sees_its_own_pending_counts() {
        let t = Tally::new();
        t.count("p", "c", Event::Minted, 60);
        t.count("q", "c", Event::Minted, 60);
        let mine = t.pending_for("p");
        assert_eq!(mine.len(), 1);
        assert_eq!(
            (mine[0].client_id.as_str(), mine[0].counts.minted),
            ("c", 1)
        );
    }

    #[test]
    fn a_row_reads_and_writes_flat_json() {
        let row: Row =
            serde_json::from_str(r#"{"project_id":"p","minute":7,"gated":3,"refused":1}"#).unwrap();
        assert_eq!(row.client_id, "");
        assert_eq!(
            (row.counts.gated, row.counts.refused, row.counts.minted),
            (3, 1, 0)
        );
        let back = serde_json::to_value(&row).unwrap();
        assert_eq!(back["gated"], 3);
    }
}
