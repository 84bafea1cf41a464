//! The in-memory view of clients, projects and revoked token ids that the
//! hot paths (token endpoint, introspection) read, and the gate feed is made of.
//! Loaded at start-up, then changed only by the change feed
//! ([`crate::feed`]) from committed rows, so no request on a hot path
//! touches the database.

mod usage;

pub use usage::Usage;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::client_keys::ClientKeys;
use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;
use crate::limits::Limit;
use crate::store;
use crate::store::client_tombstones::Tombstone;
use crate::store::clients::ClientRow;
use crate::store::projects::ProjectRow;
use crate::workload_identity::WorkloadTrust;

pub struct ClientEntry {
    /// Also the registry's key (one copy).
    pub id: Arc<str>,
    /// The project's own copies (a node holds every client: issue 23).
    pub account_id: Arc<str>,
    pub project_id: Arc<str>,
    pub secret_hash: [u8; 32],
    /// Sorted, unique; each name shared by every client holding it (a
    /// node holds every client: issue 23's memory per client).
    pub scopes: Box<[Arc<str>]>,
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
    /// Also the registry's key; shared with the project's clients.
    pub id: Arc<str>,
    pub account_id: Arc<str>,
    pub api_id: String,
    pub token_ttl_secs: i64,
    pub archived: bool,
    pub rate_limit: Limit,
    /// No secrets; every token DPoP-bound.
    pub keys_only: bool,
    /// Tokens a UTC day on all nodes together.
    pub daily_token_quota: Option<i64>,
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
    clients: RwLock<HashMap<Arc<str>, Arc<ClientEntry>>>,
    projects: RwLock<HashMap<Arc<str>, Arc<ProjectEntry>>>,
    /// Revoked jti → the token's exp.
    revoked: RwLock<HashMap<String, Epoch>>,
    /// Deleted clients whose tokens may still be live.
    tombstones: RwLock<HashMap<String, Tombstone>>,
    /// The scope names clients hold, one copy each (they are the
    /// catalogue's, so few).
    scope_names: std::sync::Mutex<std::collections::HashSet<Arc<str>>>,
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
        let tombstones = store::client_tombstones::live(db, now).await?;
        write(&self.projects).clear();
        for p in &projects {
            self.put_project(p);
        }
        let ids: std::collections::HashSet<&str> = clients.iter().map(|c| c.id.as_str()).collect();
        write(&self.clients).retain(|id, _| ids.contains(&**id));
        for c in &clients {
            self.put_client(c);
        }
        *write(&self.revoked) = revoked.into_iter().collect();
        *write(&self.tombstones) = tombstones.into_iter().map(|t| (t.id.clone(), t)).collect();
        Ok(())
    }

    pub fn put_project(&self, p: &ProjectRow) {
        // A project's clients share these; a changed project keeps them.
        let (id, account_id): (Arc<str>, Arc<str>) = match self.project(&p.id) {
            Some(old) if *old.account_id == *p.account_id => {
                (old.id.clone(), old.account_id.clone())
            }
            _ => (p.id.as_str().into(), p.account_id.as_str().into()),
        };
        let entry = ProjectEntry {
            id: id.clone(),
            account_id,
            api_id: p.api_id.clone(),
            token_ttl_secs: p.token_ttl_secs,
            archived: p.archived_at.is_some(),
            rate_limit: Limit {
                per_sec: p.rate_per_sec,
                burst: p.rate_burst,
            },
            keys_only: p.keys_only != 0,
            daily_token_quota: p.daily_token_quota,
        };
        write(&self.projects).insert(id, Arc::new(entry));
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
        let (account_id, project_id): (Arc<str>, Arc<str>) = match self.project(&c.project_id) {
            Some(p) if *p.account_id == *c.account_id => (p.account_id.clone(), p.id.clone()),
            _ => (c.account_id.as_str().into(), c.project_id.as_str().into()),
        };
        let mut clients = write(&self.clients);
        let (id, usage) = match clients.get(c.id.as_str()) {
            Some(old) => (old.id.clone(), old.usage.clone()),
            None => (c.id.as_str().into(), Arc::new(Usage::new(c.last_used_at))),
        };
        let entry = ClientEntry {
            id: id.clone(),
            account_id,
            project_id,
            secret_hash: hash,
            scopes: self.interned_scopes(&c.scopes),
            disabled_at: c.disabled_at,
            expires_at: c.expires_at,
            retire_at: c.retire_at,
            revoked_before: c.revoked_before,
            keys,
            jwks_uri: c.jwks_uri.clone(),
            workload,
            usage,
        };
        clients.insert(id, Arc::new(entry));
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

    /// A deleted client, remembered while its tokens may be live.
    pub fn bury(&self, tombstone: Tombstone) {
        write(&self.clients).remove(tombstone.id.as_str());
        write(&self.tombstones).insert(tombstone.id.clone(), tombstone);
    }

    pub fn tombstone(&self, id: &str) -> Option<Tombstone> {
        read(&self.tombstones).get(id).cloned()
    }

    /// Every tombstone held (for a gate's snapshot).
    pub fn tombstones(&self) -> Vec<Tombstone> {
        read(&self.tombstones).values().cloned().collect()
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

    /// Drops revocations of tokens that have expired anyway, and
    /// tombstones of clients whose tokens all have.
    pub fn prune_revoked(&self, now: Epoch) {
        write(&self.revoked).retain(|_, exp| *exp > now);
        write(&self.tombstones).retain(|_, t| t.until > now);
    }

    /// Writes "last used" times and the last workloads that moved since
    /// the last flush, and one audit row per workload new to this node.
    pub async fn flush_usage(&self, db: &Db) -> Result<usize> {
        let mut used: Vec<(String, Epoch, Arc<Usage>)> = Vec::new();
        let mut workloads: Vec<(String, String, Arc<Usage>)> = Vec::new();
        let mut audits: Vec<(Arc<ClientEntry>, String, Epoch)> = Vec::new();
        for c in read(&self.clients).values() {
            if let Some(at) = c.usage.unflushed_use() {
                used.push((c.id.to_string(), at, c.usage.clone()));
            }
            let (to_audit, last) = c.usage.take_workload_news();
            audits.extend(to_audit.into_iter().map(|(d, at)| (c.clone(), d, at)));
            if let Some(last) = last {
                workloads.push((c.id.to_string(), last, c.usage.clone()));
            }
        }
        for (client, workload, at) in &audits {
            let event = crate::audit::Event {
                account_id: &client.account_id,
                actor: crate::audit::Actor::Client {
                    id: client.id.to_string(),
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
                usage.use_flushed(*at);
            }
        }
        if !workloads.is_empty() {
            let rows: Vec<(String, String)> = workloads
                .iter()
                .map(|(id, d, _)| (id.clone(), d.clone()))
                .collect();
            store::clients::record_last_workload(db, &rows).await?;
            for (_, written, usage) in &workloads {
                usage.workload_flushed(written);
            }
        }
        Ok(used.len() + workloads.len())
    }
}

impl Registry {
    /// [`split_scopes`], each name the registry's one copy of it.
    fn interned_scopes(&self, scopes: &str) -> Box<[Arc<str>]> {
        let mut names = self.scope_names.lock().unwrap_or_else(|p| p.into_inner());
        split_scopes(scopes)
            .into_iter()
            .map(|name| match names.get(name.as_str()) {
                Some(held) => held.clone(),
                None => {
                    let held: Arc<str> = name.into();
                    names.insert(held.clone());
                    held
                }
            })
            .collect()
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
mod tests;
