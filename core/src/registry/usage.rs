//! A client's use, kept in memory on the hot path: "last used" (written
//! to the database in batches by [`super::Registry::flush_usage`]), the
//! workloads that signed in as it, and the scope sets it minted for. Its
//! tokens per minute are counted for the whole cluster, not here (see
//! [`crate::usage_totals`]).

use std::sync::atomic::{AtomicI64, Ordering};

use crate::clock::Epoch;

/// "Last used", coalesced: set in memory on every token, written to the
/// database in batches by [`super::Registry::flush_usage`].
#[derive(Debug)]
pub struct Usage {
    last_used: AtomicI64,
    flushed: AtomicI64,
    /// The scope sets minted for lately (hash, last minute), to tell a
    /// client with many scope sets from one that does not reuse tokens.
    scope_sets: std::sync::Mutex<Vec<(u64, i64)>>,
    /// Workload identity clients: who signed in. Made when the first one
    /// does: most clients hold a secret or a key and never need it, and a
    /// node holds every client (issue 23: memory per client).
    workloads: std::sync::Mutex<Option<Box<Workloads>>>,
}

/// The workloads that signed in as a client, as [`super::Registry::flush_usage`]
/// needs them: the last one (for "last used"), and each one new to this
/// node, for one audit row (not one per token).
#[derive(Debug, Default)]
struct Workloads {
    /// The last one to sign in, and when.
    last: Option<(String, Epoch)>,
    /// `last` is in the database.
    last_flushed: bool,
    /// Hashes of the workloads audited by this node, least recently seen
    /// first.
    audited: Vec<u64>,
    /// New ones to audit, with when each signed in.
    to_audit: Vec<(String, Epoch)>,
}

/// Distinct workloads remembered per client; an older one that signs in
/// again after this many others is audited again.
const WORKLOADS_REMEMBERED: usize = 32;

/// Scope sets remembered per client; more are counted as this many.
const SCOPE_SETS_MAX: usize = 32;

impl Default for Usage {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Usage {
    pub(super) fn new(stored: Option<Epoch>) -> Self {
        let at = stored.unwrap_or(0);
        Self {
            last_used: AtomicI64::new(at),
            flushed: AtomicI64::new(at),
            scope_sets: std::sync::Mutex::new(Vec::new()),
            workloads: std::sync::Mutex::default(),
        }
    }

    /// A workload (described by [`crate::workload_identity::Workload::describe`])
    /// signed in as this client.
    pub fn signed_in_as(&self, workload: String, now: Epoch) {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(&workload);
        let mut held = self.workloads.lock().unwrap_or_else(|p| p.into_inner());
        let w = held.get_or_insert_with(Box::default);
        match w.audited.iter().position(|h| *h == hash) {
            // Seen lately: now the most recently seen.
            Some(i) => {
                w.audited.remove(i);
                w.audited.push(hash);
            }
            None => {
                if w.audited.len() == WORKLOADS_REMEMBERED {
                    w.audited.remove(0);
                }
                w.audited.push(hash);
                if w.to_audit.len() < WORKLOADS_REMEMBERED {
                    w.to_audit.push((workload.clone(), now));
                }
            }
        }
        if w.last.as_ref().map(|(d, _)| d.as_str()) != Some(workload.as_str()) {
            w.last_flushed = false;
        }
        w.last = Some((workload, now));
    }

    /// The workload that signed in last on this node, if any did.
    pub fn last_workload(&self) -> Option<String> {
        let held = self.workloads.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref()?.last.as_ref().map(|(d, _)| d.clone())
    }

    /// A token minted now for `scopes` (space-joined, as in the token).
    pub fn minted(&self, now: Epoch, scopes: &str) {
        self.touch(now);
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(scopes);
        let minute = now / 60;
        let mut sets = self.scope_sets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = sets.iter_mut().find(|(h, _)| *h == hash) {
            entry.1 = minute;
        } else if sets.len() < SCOPE_SETS_MAX {
            sets.push((hash, minute));
        } else if let Some(oldest) = sets.iter_mut().min_by_key(|(_, m)| *m) {
            // Full: the longest-unused set makes room.
            *oldest = (hash, minute);
        }
    }

    /// Distinct scope sets minted for in the last hour.
    pub fn scope_sets_in_last_hour(&self, now: Epoch) -> usize {
        let this = now / 60;
        let sets = self.scope_sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.iter().filter(|(_, m)| *m > this - 60).count()
    }

    pub fn touch(&self, now: Epoch) {
        self.last_used.fetch_max(now, Ordering::Relaxed);
    }

    pub fn last_used(&self) -> Option<Epoch> {
        Some(self.last_used.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// For the flush: the last use not yet in the database, if any.
    pub(super) fn unflushed_use(&self) -> Option<Epoch> {
        let at = self.last_used.load(Ordering::Relaxed);
        (at > self.flushed.load(Ordering::Relaxed)).then_some(at)
    }

    /// The flush wrote `at` as the last use.
    pub(super) fn use_flushed(&self, at: Epoch) {
        self.flushed.fetch_max(at, Ordering::Relaxed);
    }

    /// For the flush: the workloads new to this node (to audit, taken),
    /// and the last workload if the database does not have it yet.
    pub(super) fn take_workload_news(&self) -> (Vec<(String, Epoch)>, Option<String>) {
        let mut held = self.workloads.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = held.as_mut() else {
            return (Vec::new(), None);
        };
        let to_audit = std::mem::take(&mut w.to_audit);
        let last = match (&w.last, w.last_flushed) {
            (Some((last, _)), false) => Some(last.clone()),
            _ => None,
        };
        (to_audit, last)
    }

    /// The flush wrote `written` as the last workload: flushed, unless
    /// another workload signed in meanwhile.
    pub(super) fn workload_flushed(&self, written: &str) {
        let mut held = self.workloads.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = held.as_mut() {
            if w.last.as_ref().is_some_and(|(d, _)| d == written) {
                w.last_flushed = true;
            }
        }
    }
}
