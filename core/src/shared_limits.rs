//! Limits that hold across nodes, kept in Redis (or Valkey): the projects'
//! buckets (the gate's [`SharedBuckets`], on the same connection) and the
//! failure counters of the log-in throttle and of the token
//! endpoint's per-address guard. Each update is one Lua script, so it is
//! atomic whatever the number of nodes, and uses the Redis server's clock,
//! so the nodes' clocks do not have to agree.

use std::sync::Arc;

use portcullis_gate::limits::shared::bounded;
use portcullis_gate::limits::SharedBuckets;
use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

use crate::error::{Error, Result};

/// How failures lock a key out: the first `free_failures` cost nothing,
/// then the lock doubles up to `max_lock_secs`; `reset_secs` after the last
/// failure the count starts again. The in-memory throttle and these shared
/// counters apply the same policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub free_failures: u32,
    pub max_lock_secs: i64,
    pub reset_secs: i64,
}

/// One failed attempt for a throttle key, with the same back-off as the
/// in-memory throttle. Returns the seconds the key is now locked (0: not).
/// Times keep Redis's microseconds: a lock of 1 s lasts a whole second,
/// not only to the end of the current one.
const FAIL: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
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

/// The longest remaining lock of the given keys, in whole seconds
/// (rounded up: a caller told 0 may go ahead).
const LOCKED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for _, key in ipairs(KEYS) do
  local u = tonumber(redis.call('HGET', key, 'until') or 0)
  if u - now > wait then wait = u - now end
end
return math.ceil(wait)
";

pub struct SharedLimits {
    conn: ConnectionManager,
    /// Key prefix: the issuer, so one Redis can serve several deployments.
    prefix: String,
    buckets: Arc<SharedBuckets>,
    fail: Script,
    locked: Script,
}

impl SharedLimits {
    /// Connects (and reconnects on its own after a failure). The URL is
    /// never echoed: it may carry a password.
    pub async fn connect(url: &str, issuer: &str) -> Result<Self> {
        let unusable = |e: redis::RedisError| {
            Error::Setup(format!(
                "PORTCULLIS_REDIS_URL: cannot use Redis at {}: {e}",
                crate::db::redacted(url)
            ))
        };
        let client = redis::Client::open(url).map_err(unusable)?;
        let conn = ConnectionManager::new(client).await.map_err(unusable)?;
        let buckets = SharedBuckets::new(conn.clone());
        buckets.set_issuer(issuer);
        Ok(Self {
            conn,
            prefix: format!("portcullis:{issuer}"),
            buckets: Arc::new(buckets),
            fail: Script::new(FAIL),
            locked: Script::new(LOCKED),
        })
    }

    /// The projects' buckets, for the rate limiter.
    pub fn buckets(&self) -> Arc<SharedBuckets> {
        self.buckets.clone()
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

    /// True the first time `key` is set within `ttl_secs` (`SET NX EX`):
    /// a value used once on every node that shares this Redis.
    pub async fn first_use(&self, key: &str, ttl_secs: i64) -> RedisResult<bool> {
        self.buckets.first_use(key, ttl_secs).await
    }

    /// Forgets `key`'s failures (a correct password for an email).
    pub async fn clear(&self, key: &str) -> RedisResult<()> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(format!("{}:throttle:{key}", self.prefix));
        bounded(cmd.query_async(&mut conn)).await
    }
}
