//! Per-project rate limiting (GCRA, the generic cell rate algorithm): a
//! bucket of `burst` requests refilled at `per_sec`. One bucket per project,
//! charged by its token requests and by every gated API call made with its
//! tokens. Kept in memory, with a per-minute tally of allowed and limited
//! requests for the console's chart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::clock::Epoch;

pub const DEFAULT_PER_SEC: i64 = 25;
pub const DEFAULT_BURST: i64 = 50;
pub const LIMIT_RANGE: std::ops::RangeInclusive<i64> = 1..=100_000;
/// Minutes of traffic history kept per project.
pub const HISTORY_MINUTES: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_sec: i64,
    pub burst: i64,
}

impl Limit {
    fn interval(self) -> Duration {
        Duration::from_nanos(1_000_000_000 / self.per_sec.max(1) as u64)
    }

    /// The draft RateLimit-Policy window: how long a full bucket takes to refill.
    pub fn window_secs(self) -> i64 {
        (self.burst + self.per_sec - 1) / self.per_sec.max(1)
    }
}

/// The outcome of charging one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: Limit,
    /// Requests that could still be made at once.
    pub remaining: i64,
    /// Seconds until the bucket is full again (rounded up).
    pub reset_secs: i64,
    /// When refused: seconds until one request would pass (rounded up).
    pub retry_after_secs: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteTally {
    /// Epoch minute (epoch seconds / 60).
    pub minute: i64,
    pub allowed: u64,
    pub limited: u64,
}

struct Bucket {
    /// Theoretical arrival time: when the bucket would be full again.
    tat: Instant,
    history: [MinuteTally; HISTORY_MINUTES],
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: RwLock<HashMap<String, Arc<Mutex<Bucket>>>>,
}

fn ceil_secs(d: Duration) -> i64 {
    let s = d.as_secs() as i64;
    if d.subsec_nanos() > 0 {
        s + 1
    } else {
        s
    }
}

impl RateLimiter {
    fn bucket(&self, project_id: &str, now: Instant) -> Arc<Mutex<Bucket>> {
        if let Some(b) = self
            .buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(project_id)
        {
            return b.clone();
        }
        self.buckets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(project_id.to_owned())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Bucket {
                    tat: now,
                    history: [MinuteTally::default(); HISTORY_MINUTES],
                }))
            })
            .clone()
    }

    /// Charges one request to the project's bucket.
    pub fn charge(&self, project_id: &str, limit: Limit, now: Instant, epoch: Epoch) -> Decision {
        let bucket = self.bucket(project_id, now);
        let mut b = bucket.lock().unwrap_or_else(|p| p.into_inner());
        let t = limit.interval();
        let capacity = t * u32::try_from(limit.burst.max(1)).unwrap_or(u32::MAX);
        // A bucket refills to at most full; a lowered burst applies at once.
        let tat = b.tat.max(now);
        let new_tat = tat + t;
        let allow_at = new_tat.checked_sub(capacity).unwrap_or(now);
        let allowed = allow_at <= now;
        if allowed {
            b.tat = new_tat;
        }
        let tally = &mut b.history[((epoch / 60) as usize) % HISTORY_MINUTES];
        if tally.minute != epoch / 60 {
            *tally = MinuteTally {
                minute: epoch / 60,
                ..MinuteTally::default()
            };
        }
        if allowed {
            tally.allowed += 1;
        } else {
            tally.limited += 1;
        }
        let used = b.tat.saturating_duration_since(now);
        let remaining = if t.is_zero() {
            limit.burst
        } else {
            ((capacity.saturating_sub(used)).as_nanos() / t.as_nanos()) as i64
        };
        Decision {
            allowed,
            limit,
            remaining: remaining.clamp(0, limit.burst),
            reset_secs: ceil_secs(used),
            retry_after_secs: if allowed {
                0
            } else {
                ceil_secs(allow_at - now).max(1)
            },
        }
    }

    /// Allowed and limited requests per minute, oldest first, for the last
    /// [`HISTORY_MINUTES`] minutes up to `epoch`'s minute (missing minutes are zero).
    pub fn history(&self, project_id: &str, epoch: Epoch) -> Vec<MinuteTally> {
        let now_minute = epoch / 60;
        let stored = self
            .buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(project_id)
            .map(|b| b.lock().unwrap_or_else(|p| p.into_inner()).history);
        (0..HISTORY_MINUTES as i64)
            .rev()
            .map(|ago| {
                let minute = now_minute - ago;
                stored
                    .and_then(|h| {
                        let slot = h[(minute as usize) % HISTORY_MINUTES];
                        (slot.minute == minute).then_some(slot)
                    })
                    .unwrap_or(MinuteTally {
                        minute,
                        ..MinuteTally::default()
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN: Limit = Limit {
        per_sec: 10,
        burst: 10,
    };

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let r = RateLimiter::default();
        let t0 = Instant::now();
        let passed = (0..50)
            .filter(|_| r.charge("p", TEN, t0, 0).allowed)
            .count();
        assert_eq!(passed, 10);
        let refused = r.charge("p", TEN, t0, 0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.remaining, 0);
        // One interval later exactly one more passes.
        let later = t0 + Duration::from_millis(100);
        assert!(r.charge("p", TEN, later, 0).allowed);
        assert!(!r.charge("p", TEN, later, 0).allowed);
        // After a full second the whole burst is back.
        let full = later + Duration::from_secs(1);
        let d = r.charge("p", TEN, full, 1);
        assert!(d.allowed);
        assert_eq!(d.remaining, 9);
        // Other projects are untouched.
        assert_eq!(r.charge("q", TEN, t0, 0).remaining, 9);
    }

    #[test]
    fn history_counts_per_minute() {
        let r = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..12 {
            r.charge("p", TEN, t0, 120);
        }
        let h = r.history("p", 180);
        assert_eq!(h.len(), HISTORY_MINUTES);
        let last_two = &h[HISTORY_MINUTES - 2..];
        assert_eq!(
            (last_two[0].minute, last_two[0].allowed, last_two[0].limited),
            (2, 10, 2)
        );
        assert_eq!((last_two[1].allowed, last_two[1].limited), (0, 0));
        assert!(r.history("nobody", 180).iter().all(|m| m.allowed == 0));
    }
}
