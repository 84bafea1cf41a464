//! Per-project rate limiting (GCRA, the generic cell rate algorithm): a
//! bucket of `burst` requests refilled at `per_sec`. One bucket per project,
//! charged by its token requests and by every gated API call made with its
//! tokens, with a per-minute tally of allowed and limited requests for the
//! console's chart.
//!
//! Where the bucket lives: with Redis configured, in Redis, shared by every
//! node; each node leases a few requests at a time and spends them from
//! memory, so the hot path pays one round trip per lease, not per request.
//! Without Redis, in memory: one node has the whole rate, and `n` live
//! nodes each take `1/n` of it (exact when the load balancer spreads
//! requests evenly). If Redis cannot be reached, a node falls back to its
//! in-memory share until it can.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::clock::Epoch;

#[cfg(feature = "redis")]
pub mod shared;
#[cfg(feature = "redis")]
pub use shared::{Grant, SharedBuckets};

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
    pub(crate) fn interval(self) -> Duration {
        Duration::from_nanos(1_000_000_000 / self.per_sec.max(1) as u64)
    }

    /// This node's share when `nodes` share the limit without Redis.
    pub fn share(self, nodes: u32) -> Self {
        let n = i64::from(nodes.max(1));
        Self {
            per_sec: (self.per_sec + n - 1) / n,
            burst: (self.burst + n - 1) / n,
        }
    }

    /// How many requests a node leases from Redis at once: about 1/20 s of
    /// the rate, so leftovers that lapse cost little precision.
    #[cfg(feature = "redis")]
    pub(crate) fn lease_size(self) -> i64 {
        (self.per_sec / 20).clamp(1, 64)
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
    /// The epoch minute of the last refusal reported by [`RateLimiter::take_limited`].
    limited_minute: i64,
}

pub struct RateLimiter {
    buckets: RwLock<HashMap<String, Arc<Mutex<Bucket>>>>,
    #[cfg(feature = "redis")]
    shared: Option<shared::Shared>,
    /// Live nodes sharing the limits when there is no Redis (at least 1).
    nodes: AtomicU32,
    /// When Redis last failed (epoch seconds), to warn once a minute.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    warned_at: AtomicI64,
    /// The same, for the shared memory of DPoP proofs.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    proofs_warned_at: AtomicI64,
    /// Projects refused since the last [`RateLimiter::take_limited`], each
    /// at most once a minute (so a flood costs one push a minute).
    limited: Mutex<Vec<(String, Epoch)>>,
}

impl Bucket {
    fn count(&mut self, epoch: Epoch, allowed: bool) {
        let tally = &mut self.history[((epoch / 60) as usize) % HISTORY_MINUTES];
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
    }
}

/// `key`'s entry, made by `make` on first use; the hot path takes only the
/// read lock.
pub(crate) fn entry<T>(
    map: &RwLock<HashMap<String, Arc<T>>>,
    key: &str,
    make: impl FnOnce() -> T,
) -> Arc<T> {
    if let Some(found) = map.read().unwrap_or_else(|p| p.into_inner()).get(key) {
        return found.clone();
    }
    map.write()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key.to_owned())
        .or_insert_with(|| Arc::new(make()))
        .clone()
}

/// The name of a value used once (a client assertion's or a DPoP proof's
/// `jti`, with what it belongs to): SHA-256 of the parts, each prefixed
/// with its length, so the name has a fixed length whatever the client
/// sent and no separator can be forged between parts.
pub fn once_digest(parts: &[&str]) -> [u8; 32] {
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let mut out = [0; 32];
    out.copy_from_slice(h.finish().as_ref());
    out
}

pub(crate) fn ceil_secs(d: Duration) -> i64 {
    let s = d.as_secs() as i64;
    if d.subsec_nanos() > 0 {
        s + 1
    } else {
        s
    }
}

impl RateLimiter {
    /// A limiter that keeps every bucket in memory.
    pub fn local() -> Self {
        Self {
            buckets: RwLock::default(),
            #[cfg(feature = "redis")]
            shared: None,
            nodes: AtomicU32::new(1),
            warned_at: AtomicI64::new(0),
            proofs_warned_at: AtomicI64::new(0),
            limited: Mutex::default(),
        }
    }

    /// How many nodes share the limits (from the nodes' heartbeats).
    pub fn set_nodes(&self, n: u32) {
        self.nodes.store(n.max(1), Ordering::Relaxed);
    }

    fn nodes(&self) -> u32 {
        self.nodes.load(Ordering::Relaxed).max(1)
    }

    /// Charges one request to the project's bucket: the shared one if
    /// Redis is configured and answers, else this node's share.
    pub async fn charge(
        &self,
        project_id: &str,
        limit: Limit,
        now: Instant,
        epoch: Epoch,
    ) -> Decision {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            match shared.charge(project_id, limit, now).await {
                Ok(d) => {
                    self.tally(project_id, now, epoch, d.allowed);
                    return d;
                }
                Err(e) => {
                    if self.warned_at.swap(epoch, Ordering::Relaxed) + 60 <= epoch {
                        tracing::error!(error = %e, "Redis is unreachable: rate limits fall back to this node's share");
                    }
                }
            }
        }
        let share = limit.share(self.nodes());
        let mut d = self.charge_local(project_id, share, now, epoch);
        d.limit = limit;
        d
    }

    /// With Redis: true the first time `key` is seen by any node or gate
    /// sharing it within `ttl_secs` (a DPoP proof's `jti`, RFC 9449 §11.1,
    /// across gate replicas). Without Redis, or while it cannot be reached,
    /// true: the caller's own memory, already checked, decides, as the
    /// buckets fall back to this process's share. `key` is made only when
    /// Redis is there to ask.
    pub async fn first_use_shared(
        &self,
        key: impl FnOnce() -> String,
        ttl_secs: i64,
        epoch: Epoch,
    ) -> bool {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            match shared.buckets.first_use(&key(), ttl_secs).await {
                Ok(first) => return first,
                Err(e) => {
                    let last = self.proofs_warned_at.load(Ordering::Relaxed);
                    if last + 60 <= epoch
                        && self
                            .proofs_warned_at
                            .compare_exchange(last, epoch, Ordering::Relaxed, Ordering::Relaxed)
                            .is_ok()
                    {
                        tracing::error!(error = %e, "Redis is unreachable: DPoP proofs are remembered by this process only");
                    }
                }
            }
        }
        #[cfg(not(feature = "redis"))]
        let _ = (key, ttl_secs, epoch);
        true
    }

    #[cfg(feature = "redis")]
    fn tally(&self, project_id: &str, now: Instant, epoch: Epoch, allowed: bool) {
        let bucket = self.bucket(project_id, now);
        let mut b = bucket.lock().unwrap_or_else(|p| p.into_inner());
        self.count(project_id, &mut b, epoch, allowed);
    }

    fn count(&self, project_id: &str, b: &mut Bucket, epoch: Epoch, allowed: bool) {
        b.count(epoch, allowed);
        if !allowed && b.limited_minute != epoch / 60 {
            b.limited_minute = epoch / 60;
            self.limited
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((project_id.to_owned(), epoch));
        }
    }

    /// Projects whose bucket refused a request since the last call, with
    /// when (at most one entry per project and minute).
    pub fn take_limited(&self) -> Vec<(String, Epoch)> {
        std::mem::take(&mut *self.limited.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn bucket(&self, project_id: &str, now: Instant) -> Arc<Mutex<Bucket>> {
        entry(&self.buckets, project_id, || {
            Mutex::new(Bucket {
                tat: now,
                history: [MinuteTally::default(); HISTORY_MINUTES],
                limited_minute: -1,
            })
        })
    }

    /// Charges one request to the project's bucket in memory.
    pub fn charge_local(
        &self,
        project_id: &str,
        limit: Limit,
        now: Instant,
        epoch: Epoch,
    ) -> Decision {
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
        self.count(project_id, &mut b, epoch, allowed);
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
mod tests;
