//! What one gate credential may ask of the issuer: a few feed connections
//! at once (each holds a stream and, at first, a snapshot), and a bounded
//! stream of rate-limited reports (each may write a webhook notice per
//! project). A credential is a deployment's, not a tenant's, but a leaked
//! or buggy one must not be a way to load every node or to flood every
//! account of its API with notices.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use portcullis_core::clock::Epoch;

/// Feed connections one credential may hold at once (one per gate
/// process; a deployment's replicas share a credential).
pub const FEEDS_PER_CREDENTIAL_MAX: usize = 16;
/// Reports one credential may send a minute (a gate sends one every 5 s).
pub const REPORTS_PER_MINUTE_MAX: u32 = 30;
/// Projects one credential may name a minute, all reports together.
pub const PROJECTS_PER_MINUTE_MAX: usize = 1_000;
/// Position reports one credential may send a minute: one every 2 s from
/// each of as many processes as may follow the feed, and some to spare.
pub const POSITIONS_PER_MINUTE_MAX: u32 = 40 * FEEDS_PER_CREDENTIAL_MAX as u32;
/// Usage reports one credential may send a minute: one every 5 s from
/// each process, and some to spare.
pub const USAGE_REPORTS_PER_MINUTE_MAX: u32 = 20 * FEEDS_PER_CREDENTIAL_MAX as u32;
/// Usage rows one credential may send a minute, all reports together.
pub const USAGE_ROWS_PER_MINUTE_MAX: usize = 50_000;

#[derive(Default)]
struct Window {
    started: Epoch,
    reports: u32,
    projects: usize,
}

#[derive(Default, Clone)]
pub struct GateBounds {
    feeds: Arc<Mutex<HashMap<String, usize>>>,
    reports: Arc<Mutex<HashMap<String, Window>>>,
    positions: Arc<Mutex<HashMap<String, Window>>>,
    usage: Arc<Mutex<HashMap<String, Window>>>,
}

/// A feed connection's place; given back when the connection ends.
pub struct FeedSlot {
    feeds: Arc<Mutex<HashMap<String, usize>>>,
    credential: String,
}

impl Drop for FeedSlot {
    fn drop(&mut self) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = feeds.get_mut(&self.credential) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                feeds.remove(&self.credential);
            }
        }
    }
}

impl GateBounds {
    /// A place for one more feed connection of `credential`, if it has one.
    pub fn feed_slot(&self, credential: &str) -> Option<FeedSlot> {
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        let n = feeds.entry(credential.to_owned()).or_default();
        if *n >= FEEDS_PER_CREDENTIAL_MAX {
            return None;
        }
        *n += 1;
        Some(FeedSlot {
            feeds: self.feeds.clone(),
            credential: credential.to_owned(),
        })
    }

    /// Counts a position report; `Err(seconds)` to wait when it is one too
    /// many this minute (each is a database write).
    pub fn position(&self, credential: &str, now: Epoch) -> Result<(), u64> {
        let mut positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
        let w = window(&mut positions, credential, now);
        if w.reports >= POSITIONS_PER_MINUTE_MAX {
            return Err((w.started + 60 - now).max(1) as u64);
        }
        w.reports += 1;
        Ok(())
    }

    /// Counts a report naming `projects` projects; `Err(seconds)` to wait
    /// when it is one too many this minute (nothing is counted then).
    pub fn report(&self, credential: &str, projects: usize, now: Epoch) -> Result<(), u64> {
        let mut reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        let w = window(&mut reports, credential, now);
        if w.reports >= REPORTS_PER_MINUTE_MAX || w.projects + projects > PROJECTS_PER_MINUTE_MAX {
            return Err((w.started + 60 - now).max(1) as u64);
        }
        w.reports += 1;
        w.projects += projects;
        Ok(())
    }
}

impl GateBounds {
    /// Counts a usage report of `rows` rows; `Err(seconds)` to wait when it
    /// is one too many this minute (nothing is counted then).
    pub fn usage(&self, credential: &str, rows: usize, now: Epoch) -> Result<(), u64> {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let w = window(&mut usage, credential, now);
        if w.reports >= USAGE_REPORTS_PER_MINUTE_MAX
            || w.projects + rows > USAGE_ROWS_PER_MINUTE_MAX
        {
            return Err((w.started + 60 - now).max(1) as u64);
        }
        w.reports += 1;
        w.projects += rows;
        Ok(())
    }
}

/// `credential`'s window for this minute.
fn window<'a>(
    windows: &'a mut HashMap<String, Window>,
    credential: &str,
    now: Epoch,
) -> &'a mut Window {
    // Forget the finished windows of other credentials now and then.
    if windows.len() > 10_000 {
        windows.retain(|_, w| now - w.started < 60);
    }
    let w = windows.entry(credential.to_owned()).or_default();
    if now - w.started >= 60 {
        *w = Window {
            started: now,
            ..Window::default()
        };
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_slots_are_bounded_and_given_back() {
        let b = GateBounds::default();
        let slots: Vec<_> = (0..FEEDS_PER_CREDENTIAL_MAX)
            .map(|_| b.feed_slot("gte_1").unwrap())
            .collect();
        assert!(b.feed_slot("gte_1").is_none());
        assert!(b.feed_slot("gte_2").is_some(), "per credential");
        drop(slots);
        assert!(b.feed_slot("gte_1").is_some());
    }

    #[test]
    fn reports_are_bounded_per_minute() {
        let b = GateBounds::default();
        for _ in 0..REPORTS_PER_MINUTE_MAX {
            b.report("gte_1", 1, 1_000).unwrap();
        }
        assert_eq!(b.report("gte_1", 1, 1_030), Err(30));
        assert!(b.report("gte_1", 1, 1_060).is_ok(), "a new minute");
        assert!(b.report("gte_2", PROJECTS_PER_MINUTE_MAX, 1_060).is_ok());
        assert!(b.report("gte_2", 1, 1_061).is_err(), "projects count too");
        // Position reports have a window of their own.
        for _ in 0..POSITIONS_PER_MINUTE_MAX {
            b.position("gte_1", 1_061).unwrap();
        }
        assert_eq!(b.position("gte_1", 1_062), Err(59));
        assert!(b.report("gte_1", 1, 1_062).is_ok());
    }
}
