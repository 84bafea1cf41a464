//! Log-in throttling, per email and per client IP, kept in memory and,
//! when Redis is configured, in Redis too, so several nodes give an
//! attacker no more guesses than one. Memory then mirrors the locks Redis
//! reports, so the token endpoint's guard checks without a round trip: a
//! node learns of a lock at the next failure it sees from that address.
//!
//! After `free_failures` failures in a row a key is locked for 1 s, then 2 s,
//! 4 s … up to `max_lock_secs`. A key forgets its failures after `reset_secs`
//! without one. Emails are keyed whether or not they exist, so the throttle
//! says nothing about which accounts exist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::clock::Epoch;
pub use crate::shared_limits::Policy;
use crate::shared_limits::SharedLimits;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub per_email: Policy,
    /// Looser: many people can share one office NAT.
    pub per_ip: Policy,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            // Failures are forgotten only after an hour without one, longer
            // than the longest lock: waiting out a lock buys one guess and
            // another lock, not a fresh allowance.
            per_email: Policy {
                free_failures: 5,
                max_lock_secs: 15 * 60,
                reset_secs: 60 * 60,
            },
            per_ip: Policy {
                free_failures: 20,
                max_lock_secs: 15 * 60,
                reset_secs: 60 * 60,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Email(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Epoch,
    locked_until: Epoch,
}

impl Entry {
    /// A key seen for the first time at `now`.
    fn fresh(now: Epoch) -> Self {
        Self {
            failures: 0,
            last_failure: now,
            locked_until: 0,
        }
    }
}

/// The keys live in this many maps, each behind its own lock, so a flood
/// of failures from many addresses does not serialise every check.
const SHARDS: usize = 64;
/// Keys held at most, all shards together (about 100 bytes each). A full
/// shard first forgets stale keys, then unlocked ones; locks are kept.
pub const MAX_KEYS: usize = 262_144;
const PER_SHARD: usize = MAX_KEYS / SHARDS;

type Shard = Mutex<HashMap<Key, Entry>>;

pub struct LoginThrottle {
    policy: ThrottlePolicy,
    shards: Box<[Shard]>,
    hasher: std::collections::hash_map::RandomState,
    shared: Option<Arc<SharedLimits>>,
    /// Put before its keys' names in Redis, so throttles that count other
    /// things (sign-ups, log-ins) never share a count.
    namespace: &'static str,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            policy: ThrottlePolicy::default(),
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            hasher: Default::default(),
            shared: None,
            namespace: "",
        }
    }
}

/// The address a key counts for: an IPv4-mapped IPv6 address as the IPv4
/// it is, and any other IPv6 address as its /64 (one host or site usually
/// has a whole /64, so single addresses would be free to rotate).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("policy", &self.policy)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl Key {
    /// The key's name in Redis.
    fn shared_name(&self) -> String {
        match self {
            Key::Email(e) => format!("email:{e}"),
            Key::Ip(ip) => format!("ip:{ip}"),
        }
    }
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// Counts failures in Redis too, across every node.
    pub fn shared(policy: ThrottlePolicy, shared: Option<Arc<SharedLimits>>) -> Self {
        Self {
            policy,
            shared,
            ..Self::default()
        }
    }

    /// This throttle's keys in Redis under `namespace` (e.g. `signup:`).
    pub fn in_namespace(mut self, namespace: &'static str) -> Self {
        self.namespace = namespace;
        self
    }

    /// A key's name in Redis.
    fn shared_name(&self, key: &Key) -> String {
        format!("{}{}", self.namespace, key.shared_name())
    }

    /// The Redis this throttle shares its counts through, if any (for
    /// another throttle beside it).
    pub fn shared_limits(&self) -> Option<Arc<SharedLimits>> {
        self.shared.clone()
    }

    /// [`check`](Self::check), and with Redis, every node's failures: for
    /// the log-in, which argon2 makes slow anyway. A Redis error is logged
    /// and this node's own record decides.
    pub async fn check_everywhere(
        &self,
        email: &str,
        ip: Option<IpAddr>,
        now: Epoch,
    ) -> Result<(), u64> {
        self.check(email, ip, now)?;
        self.check_shared(email, ip).await
    }

    /// Every node's locks on the keys, from Redis (none without it).
    async fn check_shared(&self, email: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let keys: Vec<String> = Self::keys(email, ip)
            .map(|k| self.shared_name(&k))
            .collect();
        match shared.locked_for(&keys).await {
            Ok(wait) if wait > 0 => Err(wait as u64),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "Redis unreachable: the log-in throttle counts this node only");
                Ok(())
            }
        }
    }

    /// Checks and counts an attempt in one step, before any hashing: a key
    /// that is locked refuses; otherwise the attempt counts as a failure
    /// at once, so many guesses sent together cannot all pass the check
    /// before the first failure is written. A correct password then takes
    /// it back ([`record_success_everywhere`](Self::record_success_everywhere)
    /// clears the email; [`refund_ip`](Self::refund_ip) the address). With
    /// Redis, every node's locks are checked too.
    pub async fn reserve_everywhere(
        &self,
        email: &str,
        ip: Option<IpAddr>,
        now: Epoch,
    ) -> Result<(), u64> {
        for key in Self::keys(email, ip) {
            let mut entries = self.shard(&key);
            if let Some(e) = entries.get(&key) {
                if e.locked_until > now {
                    return Err((e.locked_until - now) as u64);
                }
            }
            // Checked and counted under the same lock.
            self.count_failure(&mut entries, key, now);
        }
        self.check_shared(email, ip).await
    }

    /// Takes back one reserved attempt from an address (its password was
    /// right).
    pub fn refund_ip(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            let key = Key::Ip(address_key(ip));
            if let Some(e) = self.shard(&key).get_mut(&key) {
                e.failures = e.failures.saturating_sub(1);
            }
        }
    }

    /// A reserved attempt that failed, counted in Redis (this node counted
    /// it when it was reserved).
    pub async fn record_reserved_failure_everywhere(
        &self,
        email: &str,
        ip: Option<IpAddr>,
        now: Epoch,
    ) {
        for key in Self::keys(email, ip) {
            self.fail_shared(key, now).await;
        }
    }

    /// [`record_failure`](Self::record_failure), counted in Redis too.
    pub async fn record_failure_everywhere(&self, email: &str, ip: Option<IpAddr>, now: Epoch) {
        self.record_failure(email, ip, now);
        for key in Self::keys(email, ip) {
            self.fail_shared(key, now).await;
        }
    }

    /// The token endpoint's guard: a failed authentication, counted here
    /// and in Redis before the refusal is sent. Only failures pay the
    /// round trip (checks read memory); in return the node whose failure
    /// set the shared lock holds it before the caller hears the answer,
    /// and every other node learns of it at its next failure: for a caller
    /// that waits for each answer, N nodes allow at most N - 1 guesses
    /// past the limit, however busy. (Guesses sent together all pass the
    /// memory check first, as on one node.) The count runs as a task of
    /// its own, so a caller that hangs up cannot cancel it half-way.
    pub async fn record_ip_failure_everywhere(self: &Arc<Self>, ip: IpAddr, now: Epoch) {
        self.record_ip_failure(ip, now);
        if self.shared.is_some() {
            let this = self.clone();
            let counted =
                tokio::spawn(async move { this.fail_shared(Key::Ip(address_key(ip)), now).await });
            let _ = counted.await;
        }
    }

    async fn fail_shared(&self, key: Key, now: Epoch) {
        let Some(shared) = &self.shared else { return };
        match shared
            .fail(&self.shared_name(&key), self.policy_for(&key))
            .await
        {
            Ok(lock) if lock > 0 => {
                // Mirror the shared lock so checks here need no round trip.
                // Seconds here are whole and `now` was read before the
                // round trip: one more second, so the mirror never ends
                // before Redis's lock does. An entry evicted meanwhile is
                // made again while the shard has room.
                let until = now + lock + 1;
                let mut entries = self.shard(&key);
                if entries.len() < PER_SHARD || entries.contains_key(&key) {
                    let entry = entries.entry(key).or_insert(Entry::fresh(now));
                    entry.locked_until = entry.locked_until.max(until);
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "Redis unreachable: a failure is counted on this node only")
            }
        }
    }

    /// [`record_success`](Self::record_success), in Redis too.
    pub async fn record_success_everywhere(&self, email: &str) {
        self.record_success(email);
        if let Some(shared) = &self.shared {
            if let Err(e) = shared
                .clear(&self.shared_name(&Key::Email(email.to_owned())))
                .await
            {
                tracing::warn!(error = %e, "Redis unreachable: could not clear a log-in record");
            }
        }
    }

    fn policy_for(&self, key: &Key) -> Policy {
        match key {
            Key::Email(_) => self.policy.per_email,
            Key::Ip(_) => self.policy.per_ip,
        }
    }

    /// The keys an attempt counts for; an empty `email` names none (an
    /// address alone: the code step, whose user has a limit of its own).
    fn keys(email: &str, ip: Option<IpAddr>) -> impl Iterator<Item = Key> {
        let email = (!email.is_empty()).then(|| Key::Email(email.to_owned()));
        email
            .into_iter()
            .chain(ip.map(|ip| Key::Ip(address_key(ip))))
    }

    /// The locked shard that holds `key`.
    fn shard(&self, key: &Key) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        use std::hash::BuildHasher;
        let i = (self.hasher.hash_one(key) as usize) % self.shards.len();
        // A panic while holding this lock cannot leave an entry half-written.
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(seconds)` while either key is locked.
    pub fn check(&self, email: &str, ip: Option<IpAddr>, now: Epoch) -> Result<(), u64> {
        self.check_keys(Self::keys(email, ip), now)
    }

    /// The client-address key alone (the token endpoint's brute-force guard:
    /// keying on client ids would let anyone lock a partner out).
    pub fn check_ip(&self, ip: IpAddr, now: Epoch) -> Result<(), u64> {
        self.check_keys(std::iter::once(Key::Ip(address_key(ip))), now)
    }

    pub fn record_ip_failure(&self, ip: IpAddr, now: Epoch) {
        self.fail_keys(std::iter::once(Key::Ip(address_key(ip))), now);
    }

    fn check_keys(&self, keys: impl Iterator<Item = Key>, now: Epoch) -> Result<(), u64> {
        let wait = keys
            .filter_map(|k| self.shard(&k).get(&k).map(|e| e.locked_until - now))
            .max()
            .unwrap_or(0);
        if wait > 0 {
            Err(wait as u64)
        } else {
            Ok(())
        }
    }

    /// Forgets keys with no lock and no recent failure; the server runs it
    /// every minute, and a full shard runs it on itself.
    pub fn sweep(&self, now: Epoch) {
        for shard in self.shards.iter() {
            let mut entries = shard.lock().unwrap_or_else(|p| p.into_inner());
            self.forget_stale(&mut entries, now);
        }
    }

    /// Keys held now (all shards).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn forget_stale(&self, entries: &mut HashMap<Key, Entry>, now: Epoch) {
        let stale = self
            .policy
            .per_email
            .reset_secs
            .max(self.policy.per_ip.reset_secs);
        entries.retain(|_, e| e.locked_until > now || now - e.last_failure < stale);
    }

    pub fn record_failure(&self, email: &str, ip: Option<IpAddr>, now: Epoch) {
        self.fail_keys(Self::keys(email, ip), now);
    }

    fn fail_keys(&self, keys: impl Iterator<Item = Key>, now: Epoch) {
        for key in keys {
            let mut entries = self.shard(&key);
            self.count_failure(&mut entries, key, now);
        }
    }

    /// One failure for `key`, in its (locked) shard.
    fn count_failure(&self, entries: &mut HashMap<Key, Entry>, key: Key, now: Epoch) {
        let policy = self.policy_for(&key);
        if entries.len() >= PER_SHARD && !entries.contains_key(&key) {
            self.forget_stale(entries, now);
            if entries.len() >= PER_SHARD {
                // A flood of fresh keys: keep the locks, drop the rest.
                entries.retain(|_, e| e.locked_until > now);
            }
            if entries.len() >= PER_SHARD {
                tracing::warn!("throttle full of locked keys: a failure goes uncounted");
                return;
            }
        }
        let entry = entries.entry(key).or_insert(Entry::fresh(now));
        if now - entry.last_failure >= policy.reset_secs {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures >= policy.free_failures {
            let doublings = (entry.failures - policy.free_failures).min(30);
            let lock = (1i64 << doublings).min(policy.max_lock_secs);
            entry.locked_until = now + lock;
        }
    }

    /// A correct password clears the email's record, not the IP's: one
    /// attacker-owned account must not reset the counter for the others.
    pub fn record_success(&self, email: &str) {
        let key = Key::Email(email.to_owned());
        self.shard(&key).remove(&key);
    }
}

#[cfg(test)]
mod tests;
