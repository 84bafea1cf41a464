//! Project buckets kept in Redis (or Valkey), shared by every Portcullis
//! node and every gate of one deployment. Each update is one Lua script, so
//! it is atomic whatever the number of nodes, and runs on the Redis clock,
//! so the nodes' clocks do not have to agree. A node leases a few requests
//! at a time and spends them from memory: one round trip per lease.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

use super::{ceil_secs, entry, Decision, Limit, RateLimiter};

/// GCRA for `want` cells at once: grants as many as the bucket holds now
/// (at most `want`), so a node can lease several and spend them locally.
/// Returns {granted, remaining, retry_after_us, reset_us}.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = interval * tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local granted = math.floor((now + capacity - tat) / interval)
if granted > want then granted = want end
if granted < 0 then granted = 0 end
if granted > 0 then
  tat = tat + granted * interval
  redis.call('SET', KEYS[1], tat, 'PX', math.floor((tat - now) / 1000) + 1000)
end
local remaining = math.floor((now + capacity - tat) / interval)
local retry = 0
if granted == 0 then retry = tat + interval - capacity - now end
return {granted, remaining, retry, tat - now}
";

/// A Redis call that takes longer is treated as Redis being down: a
/// request waits no longer than this for a lease.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// `call`, failed if Redis does not answer within [`CALL_TIMEOUT`].
pub async fn bounded<T>(call: impl std::future::Future<Output = RedisResult<T>>) -> RedisResult<T> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::IoError,
                "Redis did not answer in time",
            )))
        })
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

/// What the shared bucket granted.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub granted: i64,
    pub remaining: i64,
    pub retry_after: Duration,
    pub reset: Duration,
}

/// The buckets in Redis. Keys are `portcullis:<issuer>:bucket:<project>`,
/// so one Redis can serve several deployments.
pub struct SharedBuckets {
    conn: ConnectionManager,
    /// Set once the issuer is known (a gate learns it from the feed).
    prefix: OnceLock<String>,
    take: Script,
}

impl SharedBuckets {
    pub fn new(conn: ConnectionManager) -> Self {
        Self {
            conn,
            prefix: OnceLock::new(),
            take: Script::new(TAKE),
        }
    }

    /// Connects to the Redis at `url` (and reconnects on its own after a
    /// failure). The URL is never echoed: it may carry a password.
    pub async fn connect(url: &str) -> RedisResult<Self> {
        let client = redis::Client::open(url)?;
        Ok(Self::new(ConnectionManager::new(client).await?))
    }

    /// The issuer whose buckets these are (the first call wins).
    pub fn set_issuer(&self, issuer: &str) {
        let _ = self.prefix.set(format!("portcullis:{issuer}"));
    }

    /// Takes up to `want` requests from `project_id`'s bucket.
    pub async fn take(&self, project_id: &str, limit: Limit, want: i64) -> RedisResult<Grant> {
        let Some(prefix) = self.prefix.get() else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::ClientError,
                "the issuer of the shared buckets is not known yet",
            )));
        };
        let interval_us = (1_000_000 / limit.per_sec.max(1)).max(1);
        let mut conn = self.conn.clone();
        let mut call = self.take.key(format!("{prefix}:bucket:{project_id}"));
        call.arg(interval_us)
            .arg(limit.burst.max(1))
            .arg(want.max(1));
        let (granted, remaining, retry, reset): (i64, i64, i64, i64) =
            bounded(call.invoke_async(&mut conn)).await?;
        Ok(Grant {
            granted,
            remaining: remaining.max(0),
            retry_after: micros(retry),
            reset: micros(reset),
        })
    }
}

impl SharedBuckets {
    /// True the first time `key` is set within `ttl_secs` (`SET NX EX`):
    /// a value used once on every node and gate that shares this Redis.
    /// Kept a minute longer, so a node whose clock runs behind still
    /// finds it (as the database's rows are pruned a minute late).
    pub async fn first_use(&self, key: &str, ttl_secs: i64) -> RedisResult<bool> {
        let Some(prefix) = self.prefix.get() else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::ClientError,
                "the issuer of the shared values is not known yet",
            )));
        };
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{prefix}:once:{key}"))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl_secs.max(1) + 60);
        let set: Option<String> = bounded(cmd.query_async(&mut conn)).await?;
        Ok(set.is_some())
    }
}

/// Requests leased from the shared bucket, spent from memory: the fast path
/// is one atomic decrement; only a refill takes the lock and calls Redis.
#[derive(Default)]
struct Lease {
    left: AtomicI64,
    /// Nanoseconds since the limiter's `base` when the lease lapses.
    until: AtomicU64,
    /// Redis refused: no round trip again before this (same clock).
    refused_until: AtomicU64,
    last: Mutex<Option<Grant>>,
    refill: tokio::sync::Mutex<()>,
}

impl Lease {
    fn last(&self) -> Option<Grant> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spends one leased request if the lease holds one.
    fn spend(&self, now: u64) -> bool {
        now < self.until.load(Ordering::Acquire) && self.left.fetch_sub(1, Ordering::AcqRel) > 0
    }
}

/// A decision from the shared bucket's last answer (remaining is as Redis
/// last said, less nothing for what this node still holds: an estimate).
fn shared_decision(limit: Limit, grant: Option<Grant>, allowed: bool) -> Decision {
    let (remaining, reset, retry) = grant
        .map_or((limit.burst, Duration::ZERO, Duration::ZERO), |g| {
            (g.remaining, g.reset, g.retry_after)
        });
    Decision {
        allowed,
        limit,
        remaining: remaining.clamp(0, limit.burst),
        reset_secs: ceil_secs(reset),
        retry_after_secs: if allowed { 0 } else { ceil_secs(retry).max(1) },
    }
}

/// A limiter's shared side: the buckets and this process's leases.
pub(super) struct Shared {
    pub(super) buckets: Arc<SharedBuckets>,
    leases: RwLock<HashMap<String, Arc<Lease>>>,
    /// The zero of the leases' clocks.
    base: Instant,
}

impl Shared {
    pub(super) async fn charge(
        &self,
        project_id: &str,
        limit: Limit,
        now: Instant,
    ) -> RedisResult<Decision> {
        let lease = entry(&self.leases, project_id, Lease::default);
        let at = now.saturating_duration_since(self.base).as_nanos() as u64;
        if lease.spend(at) {
            return Ok(shared_decision(limit, lease.last(), true));
        }
        if at < lease.refused_until.load(Ordering::Acquire) {
            return Ok(shared_decision(limit, lease.last(), false));
        }
        let _refilling = lease.refill.lock().await;
        // Another request may have refilled while this one waited.
        if lease.spend(at) {
            return Ok(shared_decision(limit, lease.last(), true));
        }
        let grant = self
            .buckets
            .take(project_id, limit, limit.lease_size())
            .await?;
        *lease.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(grant);
        if grant.granted == 0 {
            let wait = grant.retry_after.min(limit.interval());
            lease
                .refused_until
                .store(at + wait.as_nanos() as u64, Ordering::Release);
            return Ok(shared_decision(limit, Some(grant), false));
        }
        // Unspent leased requests lapse after the time they stand for.
        let lapse = (limit.interval() * u32::try_from(grant.granted).unwrap_or(1))
            .clamp(Duration::from_millis(20), Duration::from_secs(1));
        lease.left.store(grant.granted - 1, Ordering::Release);
        lease
            .until
            .store(at + lapse.as_nanos() as u64, Ordering::Release);
        Ok(shared_decision(limit, Some(grant), true))
    }
}

impl RateLimiter {
    /// A limiter whose buckets live in Redis (falling back to this
    /// process's share while Redis cannot be reached).
    pub fn shared(buckets: Arc<SharedBuckets>) -> Self {
        let mut limiter = Self::local();
        limiter.shared = Some(Shared {
            buckets,
            leases: RwLock::default(),
            base: Instant::now(),
        });
        limiter
    }

    /// Whether buckets live in Redis.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    pub fn shared_buckets(&self) -> Option<&Arc<SharedBuckets>> {
        self.shared.as_ref().map(|s| &s.buckets)
    }
}
