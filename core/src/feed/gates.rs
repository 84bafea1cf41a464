//! The gate feed: what gates must know about one API, in feed order. It is
//! made from the change feed as this node applies it: each change becomes
//! the changed thing's whole state as the registry now holds it (a client's
//! standing, a project's standing and bucket, a revoked token id, the JWK
//! Set), so a gate that receives an event twice, or a newer state early,
//! ends where the registry is.
//!
//! A snapshot holds only what a gate must refuse (issue 23): clients
//! switched off, expiring, retiring, wholesale revoked or deleted while a
//! token of theirs may be live, and revoked token ids. A gate asks for each
//! project the first time a token names it ([`GateFeed::project`]).
//!
//! Gates in this process are attached and updated before the change's
//! writer answers (the same guarantee the token endpoint has); gates in
//! other processes read [`GateFeed::next`] over HTTP and resume from the
//! last position they saw, or start over from a snapshot.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use portcullis_gate::events::{
    ClientState, Event, ProjectAnswer, ProjectState, RevokedToken, Snapshot,
};
use portcullis_gate::{BoxFuture, Gate, ProjectSource};
use tokio::sync::watch;

use crate::catalogue::Catalogue;
use crate::clock::{Clock, Epoch};
use crate::feed::{Applied, ChangeKind, Feed};
use crate::keyring::Keyring;
use crate::registry::{ClientEntry, ProjectEntry, Registry};
use crate::store::client_tombstones::Tombstone;

/// How long a gate must remember a client it refuses (a token's longest
/// life and a margin: the gate crate's, which gates also use for a client
/// gone without a tombstone).
pub use portcullis_gate::events::REFUSAL_KEPT_SECS;
const _: () = assert!(REFUSAL_KEPT_SECS > *crate::projects::TOKEN_TTL_RANGE.end() + 120);

/// Changes kept for gates that resume; older positions get a snapshot.
const RECENT_MAX: usize = 65_536;
/// Changes handed to one gate at a time.
const BATCH: usize = 1_000;
/// How long a made snapshot is kept for other gates at the same position.
const SNAPSHOT_KEEP: Duration = Duration::from_secs(10);

struct Recent {
    changes: VecDeque<(i64, ChangeKind, String)>,
    /// Positions at or before this cannot be resumed from (a reload).
    floor: i64,
}

pub struct GateFeed {
    issuer: String,
    clock: Arc<dyn Clock>,
    catalogue: Arc<Catalogue>,
    registry: Arc<Registry>,
    keyring: Arc<Keyring>,
    recent: Mutex<Recent>,
    position: watch::Sender<i64>,
    /// The newest change the registry holds: set before this process's
    /// gates are told of it (`position` moves after), so an answer read
    /// from the registry after it is at least as new.
    registry_at: std::sync::atomic::AtomicI64,
    local: RwLock<Vec<(String, Gate)>>,
    /// The snapshot last made for gates of each API, as JSON, and the
    /// position it was made at: gates that (re)connect together share one
    /// (after an issuer restart they all do). Held for [`SNAPSHOT_KEEP`]
    /// after it is made, then freed once no connection is sending it. An
    /// async lock: gates waiting for the one being made yield their thread.
    snapshots: tokio::sync::Mutex<HashMap<String, (i64, Weak<str>)>>,
}

/// Events for one gate after a position, and the position they bring it to.
pub enum Next {
    /// Start over: the position is unknown here (too old, or from another
    /// database). The snapshot event's JSON, shared by the gates that get
    /// it at the same position.
    Snapshot(i64, Arc<str>),
    Events(Vec<(i64, Event)>, i64),
}

/// Until when a gate must hold the client: the last second a refused
/// token could have been issued, then its longest life (`None`: the client
/// refuses nothing).
fn refused_until(c: &ClientEntry) -> Option<Epoch> {
    [c.disabled_at, c.expires_at, c.retire_at, c.revoked_before]
        .into_iter()
        .flatten()
        .max()
        .map(|at| at + REFUSAL_KEPT_SECS)
}

fn client_state(c: &ClientEntry) -> ClientState {
    ClientState {
        id: c.id.to_string(),
        account_id: c.account_id.to_string(),
        project_id: c.project_id.to_string(),
        disabled: c.disabled_at.is_some(),
        expires_at: c.expires_at,
        retire_at: c.retire_at,
        revoked_before: c.revoked_before,
        until: refused_until(c),
    }
}

/// A deleted client as gates refuse it.
fn tombstone_state(t: &Tombstone) -> ClientState {
    ClientState {
        id: t.id.clone(),
        account_id: t.account_id.clone(),
        project_id: t.project_id.clone(),
        disabled: true,
        expires_at: None,
        retire_at: None,
        revoked_before: None,
        until: Some(t.until),
    }
}

fn project_state(p: &ProjectEntry) -> ProjectState {
    ProjectState {
        id: p.id.to_string(),
        account_id: p.account_id.to_string(),
        archived: p.archived,
        rate_per_sec: p.rate_limit.per_sec,
        rate_burst: p.rate_limit.burst,
    }
}

impl GateFeed {
    /// Follows `feed` from its current position.
    pub fn attach_to(feed: &Feed, issuer: String, catalogue: Arc<Catalogue>) -> Arc<Self> {
        let position = feed.applied();
        let this = Arc::new(Self {
            issuer,
            clock: feed.clock().clone(),
            catalogue,
            registry: feed.registry().clone(),
            keyring: feed.keyring().clone(),
            recent: Mutex::new(Recent {
                changes: VecDeque::new(),
                floor: position,
            }),
            position: watch::channel(position).0,
            registry_at: std::sync::atomic::AtomicI64::new(position),
            local: RwLock::default(),
            snapshots: tokio::sync::Mutex::default(),
        });
        let listener = Arc::downgrade(&this);
        feed.on_applied(move |applied| {
            if let Some(this) = listener.upgrade() {
                this.applied(applied);
            }
        });
        this
    }

    /// The audience of `api_id`'s tokens.
    pub fn audience(&self, api_id: &str) -> Option<String> {
        let api = self.catalogue.api(api_id)?;
        Some(format!(
            "{}{}",
            self.issuer.trim_end_matches('/'),
            api.base_path
        ))
    }

    fn applied(&self, applied: Applied<'_>) {
        let (Applied::Change { seq, .. } | Applied::Reloaded { seq }) = applied;
        self.registry_at
            .store(seq, std::sync::atomic::Ordering::Release);
        match applied {
            Applied::Change { kind, target, .. } => {
                let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
                if recent.changes.len() == RECENT_MAX {
                    if let Some((old, ..)) = recent.changes.pop_front() {
                        recent.floor = old;
                    }
                }
                recent.changes.push_back((seq, kind, target.to_owned()));
                drop(recent);
                for (api, gate) in self.local.read().unwrap_or_else(|p| p.into_inner()).iter() {
                    if let Some(event) = self.event(api, kind, target) {
                        gate.apply(seq, &event);
                    }
                }
            }
            Applied::Reloaded { .. } => {
                let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
                recent.changes.clear();
                recent.floor = seq;
                drop(recent);
                for (api, gate) in self.local.read().unwrap_or_else(|p| p.into_inner()).iter() {
                    if let Some(snapshot) = self.snapshot(api) {
                        gate.apply(seq, &snapshot);
                    }
                }
            }
        }
        self.position.send_replace(seq);
    }

    /// Keeps a gate of this process up to date, from a snapshot on.
    pub fn attach_gate(&self, api_id: &str, gate: Gate) {
        // Holding the list: no change is delivered between the snapshot
        // and the gate joining the list.
        let mut local = self.local.write().unwrap_or_else(|p| p.into_inner());
        let seq = *self.position.borrow();
        if let Some(snapshot) = self.snapshot(api_id) {
            gate.apply(seq, &snapshot);
        }
        local.push((api_id.to_owned(), gate));
    }

    /// What a gate of `api_id` must refuse, as the registry holds it now.
    pub fn snapshot(&self, api_id: &str) -> Option<Event> {
        let audience = self.audience(api_id)?;
        let now = self.clock.now();
        let everything = self.registry.everything();
        let ours: std::collections::HashSet<&str> = everything
            .projects
            .iter()
            .filter(|p| p.api_id == api_id)
            .map(|p| &*p.id)
            .collect();
        let mut clients: Vec<ClientState> = everything
            .clients
            .iter()
            .filter(|c| ours.contains(&*c.project_id))
            .filter(|c| refused_until(c).is_some_and(|until| until > now))
            .map(|c| client_state(c))
            .collect();
        clients.extend(
            self.registry
                .tombstones()
                .iter()
                .filter(|t| ours.contains(t.project_id.as_str()) && t.until > now)
                .map(tombstone_state),
        );
        Some(Event::Snapshot(Snapshot {
            issuer: self.issuer.clone(),
            audience,
            api_id: api_id.to_owned(),
            clients,
            projects: Vec::new(),
            revoked: everything
                .revoked
                .into_iter()
                .map(|(jti, exp)| RevokedToken { jti, exp })
                .collect(),
            jwks: self.jwks(),
        }))
    }

    /// A project of `api_id` as a gate holds it (`None`: the API has no
    /// such project), with a feed position the answer is at least as new
    /// as (read first: the registry then holds every change up to it).
    pub fn project(&self, api_id: &str, id: &str) -> ProjectAnswer {
        let position = self.registry_at.load(std::sync::atomic::Ordering::Acquire);
        let project = self
            .registry
            .project(id)
            .filter(|p| p.api_id == api_id)
            .map(|p| project_state(&p));
        ProjectAnswer { position, project }
    }

    /// The [`ProjectSource`] of a gate of `api_id` in this process.
    pub fn project_source(self: &Arc<Self>, api_id: &str) -> Arc<dyn ProjectSource> {
        Arc::new(LocalProjects {
            feed: Arc::downgrade(self),
            api_id: api_id.to_owned(),
        })
    }

    /// Drops what this process's gates no longer need to refuse.
    pub fn prune_gates(&self) {
        for (_, gate) in self.local.read().unwrap_or_else(|p| p.into_inner()).iter() {
            gate.prune();
        }
    }

    /// The snapshot of `api_id` as JSON, made at most once per position
    /// however many gates ask at once (the lock is held while it is made,
    /// so the others wait for it rather than make their own).
    async fn shared_snapshot(&self, api_id: &str, position: i64) -> Option<Arc<str>> {
        let mut cache = self.snapshots.lock().await;
        if let Some((seq, kept)) = cache.get(api_id) {
            if *seq == position {
                if let Some(json) = kept.upgrade() {
                    return Some(json);
                }
            }
        }
        let json: Arc<str> = serde_json::to_string(&self.snapshot(api_id)?).ok()?.into();
        cache.insert(api_id.to_owned(), (position, Arc::downgrade(&json)));
        let keep = json.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SNAPSHOT_KEEP).await;
            drop(keep);
        });
        Some(json)
    }

    fn jwks(&self) -> serde_json::Value {
        serde_json::from_str(&self.keyring.jwks_json())
            .unwrap_or_else(|_| serde_json::json!({ "keys": [] }))
    }

    /// The event a gate of `api_id` gets for one change (none if the change
    /// is not about its API or nothing a gate holds).
    fn event(&self, api_id: &str, kind: ChangeKind, target: &str) -> Option<Event> {
        let ours = |project_id: &str| {
            self.registry
                .project(project_id)
                .is_some_and(|p| p.api_id == api_id)
        };
        match kind {
            ChangeKind::Client => match self.registry.client(target) {
                Some(c) if ours(&c.project_id) => Some(Event::Client(client_state(&c))),
                Some(_) => None,
                None => match self.registry.tombstone(target) {
                    Some(t) if ours(&t.project_id) => Some(Event::Client(tombstone_state(&t))),
                    Some(_) => None,
                    None => Some(Event::ClientGone {
                        id: target.to_owned(),
                    }),
                },
            },
            ChangeKind::Project => match self.registry.project(target) {
                Some(p) if p.api_id == api_id => Some(Event::Project(project_state(&p))),
                Some(_) => None,
                None => Some(Event::ProjectGone {
                    id: target.to_owned(),
                }),
            },
            // Token ids are random: telling every API's gates costs nothing.
            ChangeKind::RevokedToken => self.registry.revoked_until(target).map(|exp| {
                Event::Revoked(RevokedToken {
                    jti: target.to_owned(),
                    exp,
                })
            }),
            ChangeKind::SigningKey => Some(Event::Keys { jwks: self.jwks() }),
            ChangeKind::Member => None,
        }
    }

    /// The newest position applied here.
    pub fn position(&self) -> i64 {
        *self.position.borrow()
    }

    /// What a gate of `api_id` at position `after` (`None`: nothing yet)
    /// should get next. Waits up to `wait` for a change when there is none.
    pub async fn next(&self, api_id: &str, after: Option<i64>, wait: Duration) -> Option<Next> {
        let mut rx = self.position.subscribe();
        loop {
            let position = *rx.borrow_and_update();
            let Some(after) = after else {
                return self
                    .shared_snapshot(api_id, position)
                    .await
                    .map(|s| Next::Snapshot(position, s));
            };
            let changes = {
                let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
                if after < recent.floor || after > position {
                    None
                } else {
                    // Positions only grow: find the first newer one by
                    // halving, and hand out at most a batch at a time.
                    let from = recent.changes.partition_point(|(seq, ..)| *seq <= after);
                    Some(
                        recent
                            .changes
                            .range(from..)
                            .take(BATCH)
                            .map(|(seq, kind, target)| (*seq, *kind, target.clone()))
                            .collect::<Vec<_>>(),
                    )
                }
            };
            let Some(changes) = changes else {
                return self
                    .shared_snapshot(api_id, position)
                    .await
                    .map(|s| Next::Snapshot(position, s));
            };
            if let Some((last, ..)) = changes.last() {
                let last = *last;
                let events = changes
                    .into_iter()
                    .filter_map(|(seq, kind, target)| {
                        self.event(api_id, kind, &target).map(|e| (seq, e))
                    })
                    .collect();
                return Some(Next::Events(events, last));
            }
            if tokio::time::timeout(wait, rx.changed()).await.is_err() {
                return Some(Next::Events(Vec::new(), after));
            }
        }
    }
}

/// A gate's [`ProjectSource`] in the issuer's own process: the registry.
struct LocalProjects {
    feed: Weak<GateFeed>,
    api_id: String,
}

impl ProjectSource for LocalProjects {
    fn project<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ProjectAnswer, String>> {
        let answer = match self.feed.upgrade() {
            Some(feed) => Ok(feed.project(&self.api_id, id)),
            None => Err("the issuer is shutting down".to_owned()),
        };
        Box::pin(std::future::ready(answer))
    }
}
