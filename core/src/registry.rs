//! The in-memory view of clients, projects and revoked token ids that the
//! hot paths (token endpoint, introspection) read, and the gate feed is made of.
//! Loaded at start-up, then changed only by the change feed
//! ([`crate::feed`]) from committed rows, so no request on a hot path
//! touches the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::client_keys::ClientKeys;
use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;
use crate::ratelimit::Limit;
use crate::store;
use crate::store::clients::ClientRow;
use crate::store::projects::ProjectRow;
use crate::workload_identity::WorkloadTrust;

/// Minutes of per-client mint counts kept in memory.
const MINT_MINUTES: usize = 60;

/// "Last used", coalesced: set in memory on every token, written to the
/// database in batches by [`Registry::flush_usage`]; and tokens minted per
/// minute over the last hour (memory only), so a rotation shows traffic
/// moving from the old client to the new.
#[derive(Debug)]
pub struct Usage {
    last_used: AtomicI64,
    flushed: AtomicI64,
    /// Per slot: (epoch minute << 32) | count, updated without a lock.
    minted: [AtomicU64; MINT_MINUTES],
    /// The scope sets minted for lately (hash, last minute), to tell a
    /// client with many scope sets from one that does not reuse tokens.
    scope_sets: std::sync::Mutex<Vec<(u64, i64)>>,
    /// Workload identity clients: who signed in.
    workloads: std::sync::Mutex<Workloads>,
}

/// The workloads that signed in as a client, as [`Registry::flush_usage`]
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
    fn new(stored: Option<Epoch>) -> Self {
        let at = stored.unwrap_or(0);
        Self {
            last_used: AtomicI64::new(at),
            flushed: AtomicI64::new(at),
            minted: std::array::from_fn(|_| AtomicU64::new(0)),
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
        let mut w = self.workloads.lock().unwrap_or_else(|p| p.into_inner());
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
        let w = self.workloads.lock().unwrap_or_else(|p| p.into_inner());
        w.last.as_ref().map(|(d, _)| d.clone())
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
        let minute = (now / 60) as u64 & 0xFFFF_FFFF;
        let slot = &self.minted[(minute as usize) % MINT_MINUTES];
        let mut cur = slot.load(Ordering::Relaxed);
        loop {
            let next = if cur >> 32 == minute {
                cur + 1
            } else {
                (minute << 32) | 1
            };
            match slot.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Tokens minted in the last `minutes` minutes (this one included).
    pub fn minted_in_last(&self, minutes: i64, now: Epoch) -> u64 {
        let this = now / 60;
        self.minted
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|v| {
                let m = (v >> 32) as i64;
                m > this - minutes && m <= this
            })
            .map(|v| v & 0xFFFF_FFFF)
            .sum()
    }

    pub fn last_used(&self) -> Option<Epoch> {
        Some(self.last_used.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }
}

pub struct ClientEntry {
    pub id: String,
    pub account_id: String,
    pub project_id: String,
    pub secret_hash: [u8; 32],
    /// Sorted, unique.
    pub scopes: Vec<String>,
    pub disabled_at: Option<Epoch>,
    pub expires_at: Option<Epoch>,
    /// A scheduled retirement: unusable from this second, whether or not
    /// the housekeeping has marked it yet.
    pub retire_at: Option<Epoch>,
    /// Tokens issued at or before this second are revoked.
    pub revoked_before: Option<Epoch>,
    /// A `private_key_jwt` client's public keys; such a client has no
    /// secret (its `secret_hash` matches nothing).
    pub keys: Option<Arc<ClientKeys>>,
    /// A `private_key_jwt` client whose keys are at this URL (its `keys`
    /// are then empty: see [`crate::remote_keys`]).
    pub jwks_uri: Option<String>,
    /// A workload identity client's trust; its `keys` are the trust's
    /// static keys, or empty when they are found by discovery.
    pub workload: Option<Arc<WorkloadTrust>>,
    /// Shared by every version of this entry (narrowing replaces the entry).
    pub usage: Arc<Usage>,
}

crate::debug_fields!(ClientEntry {
    id,
    account_id,
    project_id,
    scopes,
    disabled_at,
    expires_at,
    retire_at,
    revoked_before
});

#[derive(Debug)]
pub struct ProjectEntry {
    pub id: String,
    pub account_id: String,
    pub api_id: String,
    pub token_ttl_secs: i64,
    pub archived: bool,
    pub rate_limit: Limit,
    /// No secrets; every token DPoP-bound.
    pub keys_only: bool,
}

/// Why a client cannot get tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Disabled,
    Expired,
    ProjectArchived,
    UnknownProject,
}

/// What the registry holds at one moment.
pub struct Everything {
    pub clients: Vec<Arc<ClientEntry>>,
    pub projects: Vec<Arc<ProjectEntry>>,
    /// Revoked jti and the token's exp.
    pub revoked: Vec<(String, Epoch)>,
}

#[derive(Default)]
pub struct Registry {
    clients: RwLock<HashMap<String, Arc<ClientEntry>>>,
    projects: RwLock<HashMap<String, Arc<ProjectEntry>>>,
    /// Revoked jti → the token's exp.
    revoked: RwLock<HashMap<String, Epoch>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    pub async fn load(db: &Db, now: Epoch) -> Result<Self> {
        let registry = Self::default();
        registry.refill(db, now).await?;
        Ok(registry)
    }

    /// Replaces everything with what the database holds now (start-up, or
    /// a node that fell behind the change feed's retention). Usage counters
    /// of clients that are still there are kept.
    pub async fn refill(&self, db: &Db, now: Epoch) -> Result<()> {
        let projects = store::projects::all(db).await?;
        let clients = store::clients::all(db).await?;
        let revoked = store::revoked_tokens::live(db, now).await?;
        write(&self.projects).clear();
        for p in &projects {
            self.put_project(p);
        }
        let ids: std::collections::HashSet<&str> = clients.iter().map(|c| c.id.as_str()).collect();
        write(&self.clients).retain(|id, _| ids.contains(id.as_str()));
        for c in &clients {
            self.put_client(c);
        }
        *write(&self.revoked) = revoked.into_iter().collect();
        Ok(())
    }

    pub fn put_project(&self, p: &ProjectRow) {
        let entry = ProjectEntry {
            id: p.id.clone(),
            account_id: p.account_id.clone(),
            api_id: p.api_id.clone(),
            token_ttl_secs: p.token_ttl_secs,
            archived: p.archived_at.is_some(),
            rate_limit: Limit {
                per_sec: p.rate_per_sec,
                burst: p.rate_burst,
            },
            keys_only: p.keys_only != 0,
        };
        write(&self.projects).insert(p.id.clone(), Arc::new(entry));
    }

    /// Adds or replaces a client, keeping its usage counters.
    pub fn put_client(&self, c: &ClientRow) {
        // A zero hash matches no secret (see `MasterKey::verify_secret`).
        let mut hash = [0u8; 32];
        let workload = match c.auth_method.as_str() {
            store::clients::AUTH_WORKLOAD => c
                .workload_trust
                .as_deref()
                .and_then(|json| WorkloadTrust::from_stored(json).ok())
                .map(Arc::new),
            _ => None,
        };
        let keys = match c.auth_method.as_str() {
            store::clients::AUTH_PRIVATE_KEY_JWT if c.jwks_uri.is_some() => {
                Some(Arc::new(ClientKeys::none()))
            }
            store::clients::AUTH_WORKLOAD => match workload.as_ref().map(|t| t.static_keys()) {
                Some(Some(Ok(keys))) => Some(Arc::new(keys)),
                Some(None) => Some(Arc::new(ClientKeys::none())),
                _ => {
                    tracing::error!(client_id = %c.id, "stored workload trust cannot be read");
                    Some(Arc::new(ClientKeys::none()))
                }
            },
            store::clients::AUTH_PRIVATE_KEY_JWT => {
                match c.public_keys.as_deref().map(ClientKeys::from_stored) {
                    Some(Ok(keys)) => Some(Arc::new(keys)),
                    _ => {
                        // No usable key: the client cannot authenticate.
                        tracing::error!(client_id = %c.id, "stored public keys cannot be read");
                        Some(Arc::new(ClientKeys::none()))
                    }
                }
            }
            _ => {
                if hex::decode_to_slice(&c.secret_hash, &mut hash).is_err() {
                    tracing::error!(client_id = %c.id, "stored secret hash is not 32 hex bytes");
                }
                None
            }
        };
        let mut clients = write(&self.clients);
        let usage = clients
            .get(&c.id)
            .map(|old| old.usage.clone())
            .unwrap_or_else(|| Arc::new(Usage::new(c.last_used_at)));
        let entry = ClientEntry {
            id: c.id.clone(),
            account_id: c.account_id.clone(),
            project_id: c.project_id.clone(),
            secret_hash: hash,
            scopes: split_scopes(&c.scopes),
            disabled_at: c.disabled_at,
            expires_at: c.expires_at,
            retire_at: c.retire_at,
            revoked_before: c.revoked_before,
            keys,
            jwks_uri: c.jwks_uri.clone(),
            workload,
            usage,
        };
        clients.insert(c.id.clone(), Arc::new(entry));
    }

    /// Clients held (the metrics scrape).
    pub fn client_count(&self) -> usize {
        read(&self.clients).len()
    }

    pub fn client(&self, id: &str) -> Option<Arc<ClientEntry>> {
        read(&self.clients).get(id).cloned()
    }

    pub fn remove_client(&self, id: &str) {
        write(&self.clients).remove(id);
    }

    pub fn remove_project(&self, id: &str) {
        write(&self.projects).remove(id);
    }

    pub fn project(&self, id: &str) -> Option<Arc<ProjectEntry>> {
        read(&self.projects).get(id).cloned()
    }

    /// The client's project, if the client may get tokens now.
    pub fn usable(&self, client: &ClientEntry, now: Epoch) -> Result<Arc<ProjectEntry>, Unusable> {
        if client.disabled_at.is_some() || client.retire_at.is_some_and(|at| at <= now) {
            return Err(Unusable::Disabled);
        }
        if client.expires_at.is_some_and(|at| at <= now) {
            return Err(Unusable::Expired);
        }
        let project = self
            .project(&client.project_id)
            .ok_or(Unusable::UnknownProject)?;
        if project.archived {
            return Err(Unusable::ProjectArchived);
        }
        Ok(project)
    }

    pub fn revoke(&self, jti: &str, exp: Epoch) {
        write(&self.revoked).insert(jti.to_owned(), exp);
    }

    pub fn is_revoked(&self, jti: &str) -> bool {
        read(&self.revoked).contains_key(jti)
    }

    /// The expiry of a revoked token, if it is revoked (and not yet pruned).
    pub fn revoked_until(&self, jti: &str) -> Option<Epoch> {
        read(&self.revoked).get(jti).copied()
    }

    /// Every client, project and revoked token id held (for a snapshot).
    pub fn everything(&self) -> Everything {
        Everything {
            clients: read(&self.clients).values().cloned().collect(),
            projects: read(&self.projects).values().cloned().collect(),
            revoked: read(&self.revoked)
                .iter()
                .map(|(j, e)| (j.clone(), *e))
                .collect(),
        }
    }

    /// Drops revocations of tokens that have expired anyway.
    pub fn prune_revoked(&self, now: Epoch) {
        write(&self.revoked).retain(|_, exp| *exp > now);
    }

    /// Writes "last used" times and the last workloads that moved since
    /// the last flush, and one audit row per workload new to this node.
    pub async fn flush_usage(&self, db: &Db) -> Result<usize> {
        let mut used: Vec<(String, Epoch, Arc<Usage>)> = Vec::new();
        let mut workloads: Vec<(String, String, Arc<Usage>)> = Vec::new();
        let mut audits: Vec<(Arc<ClientEntry>, String, Epoch)> = Vec::new();
        for c in read(&self.clients).values() {
            let at = c.usage.last_used.load(Ordering::Relaxed);
            if at > c.usage.flushed.load(Ordering::Relaxed) {
                used.push((c.id.clone(), at, c.usage.clone()));
            }
            let mut w = c.usage.workloads.lock().unwrap_or_else(|p| p.into_inner());
            audits.extend(w.to_audit.drain(..).map(|(d, at)| (c.clone(), d, at)));
            if let (Some((last, _)), false) = (&w.last, w.last_flushed) {
                workloads.push((c.id.clone(), last.clone(), c.usage.clone()));
            }
        }
        for (client, workload, at) in &audits {
            let event = crate::audit::Event {
                account_id: &client.account_id,
                actor: crate::audit::Actor::Client {
                    id: client.id.clone(),
                    label: format!("workload of client {}", client.id),
                },
                action: "client.workload_sign_in",
                target_kind: "client",
                target_id: &client.id,
                project_id: Some(&client.project_id),
                client_ip: None,
                detail: format!("signed in as {workload}"),
            };
            crate::audit::record_or_log(db, event, *at).await;
        }
        if !used.is_empty() {
            let rows: Vec<(String, Epoch)> =
                used.iter().map(|(id, at, _)| (id.clone(), *at)).collect();
            store::clients::record_last_used(db, &rows).await?;
            for (_, at, usage) in &used {
                usage.flushed.fetch_max(*at, Ordering::Relaxed);
            }
        }
        if !workloads.is_empty() {
            let rows: Vec<(String, String)> = workloads
                .iter()
                .map(|(id, d, _)| (id.clone(), d.clone()))
                .collect();
            store::clients::record_last_workload(db, &rows).await?;
            // Flushed, unless another workload signed in meanwhile.
            for (_, written, usage) in &workloads {
                let mut w = usage.workloads.lock().unwrap_or_else(|p| p.into_inner());
                if w.last.as_ref().is_some_and(|(d, _)| d == written) {
                    w.last_flushed = true;
                }
            }
        }
        Ok(used.len() + workloads.len())
    }
}

pub fn split_scopes(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(archived: bool) -> ProjectRow {
        ProjectRow {
            id: "prj_1".into(),
            account_id: "acc_1".into(),
            name: "P".into(),
            description: String::new(),
            api_id: "partner".into(),
            token_ttl_secs: 3600,
            created_at: 0,
            archived_at: archived.then_some(5),
            rate_per_sec: 25,
            rate_burst: 50,
            keys_only: 0,
        }
    }

    fn client(disabled_at: Option<Epoch>, expires_at: Option<Epoch>) -> ClientRow {
        ClientRow {
            id: "pcl_1".into(),
            account_id: "acc_1".into(),
            project_id: "prj_1".into(),
            name: "C".into(),
            secret_hash: "00".repeat(32),
            scopes: "b a a".into(),
            created_at: 0,
            last_used_at: Some(7),
            disabled_at,
            disabled_reason: None,
            expires_at,
            retire_at: None,
            revoked_before: None,
            auth_method: "client_secret".into(),
            public_keys: None,
            jwks_uri: None,
            workload_trust: None,
            last_workload: None,
        }
    }

    #[test]
    fn disabled_expired_and_archived_clients_are_unusable() {
        let r = Registry::default();
        r.put_project(&project(false));
        r.put_client(&client(None, Some(100)));
        let c = r.client("pcl_1").unwrap();
        assert_eq!(c.scopes, vec!["a", "b"]);
        assert!(r.usable(&c, 99).is_ok());
        assert_eq!(r.usable(&c, 100).unwrap_err(), Unusable::Expired);

        r.put_client(&client(Some(50), None));
        let c = r.client("pcl_1").unwrap();
        assert_eq!(r.usable(&c, 60).unwrap_err(), Unusable::Disabled);
        // Replacing an entry keeps its usage.
        assert_eq!(c.usage.last_used(), Some(7));

        r.put_client(&client(None, None));
        r.put_project(&project(true));
        let c = r.client("pcl_1").unwrap();
        assert_eq!(r.usable(&c, 60).unwrap_err(), Unusable::ProjectArchived);
    }

    #[test]
    fn revocations_are_forgotten_after_the_token_expires() {
        let r = Registry::default();
        r.put_project(&project(false));
        r.put_client(&client(None, None));
        let usage = r.client("pcl_1").unwrap().usage.clone();
        for t in [0, 3000, 3350, 3400, 3590] {
            usage.touch(t);
        }
        assert_eq!(usage.minted_in_last(5, 3600), 2, "minutes 56..=60");
        assert_eq!(
            usage.minted_in_last(60, 3600),
            4,
            "minute 10 is over an hour ago"
        );
        r.revoke("j1", 100);
        r.revoke("j2", 200);
        assert!(r.is_revoked("j1"));
        r.prune_revoked(150);
        assert!(!r.is_revoked("j1"));
        assert!(r.is_revoked("j2"));
    }
}
