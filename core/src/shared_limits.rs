//! Limits that hold across nodes, kept in Redis (or Valkey): the projects'
//! buckets and the failure counters of the log-in throttle and of the token
//! endpoint's per-address guard. Each update is one Lua script, so it is
//! atomic whatever the number of nodes, and uses the Redis server's clock,
//! so the nodes' clocks do not have to agree.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

use crate::error::{Error, Result};
use crate::ratelimit::Limit;
use crate::throttle::Policy;

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

/// One failed attempt for a throttle key, with the same back-off as the
/// in-memory throttle. Returns the seconds the key is now locked (0: not).
const FAIL: &str = r"
local now = tonumber(redis.call('TIME')[1])
local free = tonumber(ARGV[1])
local max_lock = tonumber(ARGV[2])
local reset = tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or 0)
if now - last >= reset then redis.call('HSET', KEYS[1], 'failures', 0) end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'last', now)
local lock = 0
if failures >= free then
  local doublings = failures - free
  if doublings > 30 then doublings = 30 end
  lock = math.min(2 ^ doublings, max_lock)
  redis.call('HSET', KEYS[1], 'until', now + lock)
end
redis.call('EXPIRE', KEYS[1], reset + max_lock)
return lock
";

/// The longest remaining lock of the given keys, in seconds.
const LOCKED: &str = r"
local now = tonumber(redis.call('TIME')[1])
local wait = 0
for _, key in ipairs(KEYS) do
  local u = tonumber(redis.call('HGET', key, 'until') or 0)
  if u - now > wait then wait = u - now end
end
return wait
";

/// What the shared bucket granted.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub granted: i64,
    pub remaining: i64,
    pub retry_after: Duration,
    pub reset: Duration,
}

pub struct SharedLimits {
    conn: ConnectionManager,
    /// Key prefix: the issuer, so one Redis can serve several deployments.
    prefix: String,
    take: Script,
    fail: Script,
    locked: Script,
}

/// A Redis call that takes longer is treated as Redis being down: a
/// request waits no longer than this for a lease.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);

async fn bounded<T>(call: impl std::future::Future<Output = RedisResult<T>>) -> RedisResult<T> {
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

impl SharedLimits {
    /// Connects (and reconnects on its own after a failure). The URL is
    /// never echoed: it may carry a password.
    pub async fn connect(url: &str, issuer: &str) -> Result<Self> {
        let unusable = |e: redis::RedisError| {
            Error::Internal(format!(
                "PORTCULLIS_REDIS_URL: cannot use Redis at {}: {e}",
                crate::db::redacted(url)
            ))
        };
        let client = redis::Client::open(url).map_err(unusable)?;
        let conn = ConnectionManager::new(client).await.map_err(unusable)?;
        Ok(Self {
            conn,
            prefix: format!("portcullis:{issuer}"),
            take: Script::new(TAKE),
            fail: Script::new(FAIL),
            locked: Script::new(LOCKED),
        })
    }

    /// Takes up to `want` requests from `project_id`'s bucket.
    pub async fn take(&self, project_id: &str, limit: Limit, want: i64) -> RedisResult<Grant> {
        let interval_us = (1_000_000 / limit.per_sec.max(1)).max(1);
        let mut conn = self.conn.clone();
        let mut call = self
            .take
            .key(format!("{}:bucket:{project_id}", self.prefix));
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

    /// Records a failure for `key`; the seconds it is now locked.
    pub async fn fail(&self, key: &str, policy: Policy) -> RedisResult<i64> {
        let mut conn = self.conn.clone();
        let mut call = self.fail.key(format!("{}:throttle:{key}", self.prefix));
        call.arg(policy.free_failures)
            .arg(policy.max_lock_secs)
            .arg(policy.reset_secs);
        bounded(call.invoke_async(&mut conn)).await
    }

    /// The seconds until all of `keys` are unlocked (0: none is locked).
    pub async fn locked_for(&self, keys: &[String]) -> RedisResult<i64> {
        let mut call = self.locked.prepare_invoke();
        for key in keys {
            call.key(format!("{}:throttle:{key}", self.prefix));
        }
        let mut conn = self.conn.clone();
        bounded(call.invoke_async(&mut conn)).await
    }

    /// Forgets `key`'s failures (a correct password for an email).
    pub async fn clear(&self, key: &str) -> RedisResult<()> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(format!("{}:throttle:{key}", self.prefix));
        bounded(cmd.query_async(&mut conn)).await
    }
}
