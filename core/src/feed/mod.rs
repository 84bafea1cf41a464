//! The ordered change feed: how every node's in-memory view (clients,
//! projects, revoked token ids, signing keys) follows the database.
//!
//! A change is committed together with a row in `changes`, in the same
//! transaction ([`Feed::commit`]). Every node, the writer included, applies
//! the rows in `seq` order, each by reading the changed row as it is now,
//! after the commit. Memory is never written from a row read before a
//! write, so two racing writes (an owner narrowing a client while support
//! revokes it) end with memory equal to the database, whatever the order.
//!
//! Wake-ups: the writer applies at once (so its own answer already holds);
//! other nodes hear PostgreSQL's `NOTIFY` and catch up, and a short poll
//! covers a lost connection, another process on the same SQLite file, and
//! anything a notification missed.
//!
//! Around it: [`record`](mod@record) (what a writer appends, in its own transaction),
//! [`gates`] (what gates must know, made from each applied change) and
//! [`pages`] (what open project pages hear).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Any, Transaction};
use tokio::sync::{Mutex, Notify};

pub mod gates;
pub mod pages;
pub mod record;

pub use record::{record, ChangeKind};

use crate::clock::{Clock, Secs};
use crate::db::Db;
use crate::error::Result;
use crate::keyring::Keyring;
use crate::registry::Registry;
use crate::store;

/// How often a node looks for changes it was not told about.
pub const POLL: Duration = Duration::from_millis(500);
/// How long applied changes are kept for nodes (and gates) that resume.
pub const RETENTION_SECS: Secs = 7 * 86_400;
const BATCH: i64 = 500;

/// One step of the feed, as a listener hears it (in order, after the
/// registry and keyring reflect it).
#[derive(Debug, Clone, Copy)]
pub enum Applied<'a> {
    Change {
        seq: i64,
        kind: ChangeKind,
        target: &'a str,
    },
    /// The whole view was read afresh up to `seq` (this node fell behind
    /// the feed's retention): listeners start over too.
    Reloaded { seq: i64 },
}

type Listener = Box<dyn Fn(Applied<'_>) + Send + Sync>;

pub struct Feed {
    listeners: std::sync::RwLock<Vec<Listener>>,
    db: Db,
    registry: Arc<Registry>,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
    /// One applier at a time, so changes are applied in order.
    applying: Mutex<()>,
    applied: AtomicI64,
    wake: Notify,
}

impl Feed {
    /// Writes `event` in `tx`, with the webhook messages it tells, commits
    /// with the change record and applies the change on this node: the
    /// write, its audit row, its webhooks and its feed entry happen together
    /// or not at all.
    pub(crate) async fn commit_audited(
        &self,
        mut tx: Transaction<'static, Any>,
        event: crate::audit::Event<'_>,
        change: (ChangeKind, &str),
    ) -> Result<()> {
        let now = self.clock.now();
        let (kind, target) = change;
        let cut_off = event
            .project_id
            .filter(|_| kind == ChangeKind::Client)
            .map(|p| (event.action, event.account_id.to_owned(), p.to_owned()));
        crate::webhooks::outbox::record_and_tell(&mut tx, event, target, now).await?;
        let seq = store::changes::append(&mut tx, kind.as_str(), target, now).await?;
        if let Some((action, account_id, project_id)) = cut_off {
            let change = crate::gate_reach::ClientChange {
                seq,
                action,
                account_id: &account_id,
                project_id: &project_id,
                client_id: target,
                at_ms: self.clock.now_ms(),
            };
            crate::gate_reach::record_cut_off(&mut tx, change).await?;
        }
        tx.commit().await?;
        self.apply_committed().await;
        Ok(())
    }

    /// `applied` is the newest `seq` that the registry and keyring already
    /// reflect: read it before loading them, so nothing falls in between.
    pub fn new(
        db: Db,
        registry: Arc<Registry>,
        keyring: Arc<Keyring>,
        clock: Arc<dyn Clock>,
        applied: i64,
    ) -> Self {
        Self {
            listeners: std::sync::RwLock::default(),
            db,
            registry,
            keyring,
            clock,
            applying: Mutex::new(()),
            applied: AtomicI64::new(applied),
            wake: Notify::new(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The view this feed keeps up to date.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// Calls `listener` after each change is applied, in feed order, while
    /// the next one waits (keep it short and free of I/O).
    pub fn on_applied(&self, listener: impl Fn(Applied<'_>) + Send + Sync + 'static) {
        self.listeners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(listener));
    }

    fn tell(&self, applied: Applied<'_>) {
        for l in self
            .listeners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            l(applied);
        }
    }

    /// The newest change this node has applied.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Records `changes` in `tx`, commits, and applies them on this node
    /// before returning. The change is committed once this returns `Ok`,
    /// even if applying it here failed (then the poll retries).
    pub async fn commit(
        &self,
        mut tx: Transaction<'static, Any>,
        changes: &[(ChangeKind, &str)],
    ) -> Result<()> {
        record(&mut tx, changes, self.clock.now()).await?;
        tx.commit().await?;
        self.apply_committed().await;
        Ok(())
    }

    /// Applies what this node just committed before its writer answers.
    async fn apply_committed(&self) {
        if let Err(e) = self.catch_up().await {
            tracing::warn!(error = %e, "a committed change is not applied here yet; the feed retries");
        }
    }

    /// Applies every committed change after the last applied one, in order.
    /// Returns how many.
    pub async fn catch_up(&self) -> Result<usize> {
        let _one_at_a_time = self.applying.lock().await;
        let mut total = 0;
        loop {
            let from = self.applied();
            let batch = store::changes::after(&self.db, from, BATCH).await?;
            let Some((first, ..)) = batch.first() else {
                return Ok(total);
            };
            if *first != from + 1 {
                // Pruned past us (a node away for longer than the
                // retention): read everything afresh.
                tracing::warn!(from, first, "change feed gap: reloading the whole view");
                let latest = batch.last().map_or(*first, |c| c.0);
                self.reload_all().await?;
                self.applied.store(latest, Ordering::Release);
                self.tell(Applied::Reloaded { seq: latest });
                continue;
            }
            for (seq, kind, target) in &batch {
                self.apply(kind, target).await?;
                self.applied.store(*seq, Ordering::Release);
                if let Some(kind) = ChangeKind::parse(kind) {
                    self.tell(Applied::Change {
                        seq: *seq,
                        kind,
                        target,
                    });
                }
                total += 1;
            }
        }
    }

    async fn apply(&self, kind: &str, target: &str) -> Result<()> {
        match ChangeKind::parse(kind) {
            Some(ChangeKind::Client) => match store::clients::by_id(&self.db, target).await? {
                Some(row) => self.registry.put_client(&row),
                None => match store::client_tombstones::by_id(&self.db, target).await? {
                    Some(tombstone) => self.registry.bury(tombstone),
                    None => self.registry.remove_client(target),
                },
            },
            Some(ChangeKind::Project) => match store::projects::by_id(&self.db, target).await? {
                Some(row) => self.registry.put_project(&row),
                None => self.registry.remove_project(target),
            },
            Some(ChangeKind::RevokedToken) => {
                if let Some(exp) = store::revoked_tokens::expiry(&self.db, target).await? {
                    self.registry.revoke(target, exp);
                }
            }
            Some(ChangeKind::SigningKey) => self.keyring.reload(self.clock.now()).await?,
            Some(ChangeKind::Member) => {}
            // Written by a newer version: nothing here reads it.
            None => tracing::debug!(kind, "change kind unknown to this version, skipped"),
        }
        Ok(())
    }

    async fn reload_all(&self) -> Result<()> {
        let now = self.clock.now();
        self.registry.refill(&self.db, now).await?;
        self.keyring.reload(now).await
    }

    /// Applies changes as they come, until the task is aborted. With a
    /// PostgreSQL URL, also listens for `NOTIFY` so other nodes' changes
    /// arrive at once.
    pub async fn run(self: Arc<Self>, listen_url: Option<String>) {
        if let Some(url) = listen_url {
            tokio::spawn(self.clone().listen(url));
        }
        loop {
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "could not read the change feed; will retry");
            }
            let _ = tokio::time::timeout(POLL, self.wake.notified()).await;
        }
    }

    async fn listen(self: Arc<Self>, url: String) {
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => match listener.listen(store::changes::CHANNEL).await {
                    Ok(()) => {
                        // Anything committed while we were away.
                        self.wake.notify_one();
                        while listener.recv().await.is_ok() {
                            self.wake.notify_one();
                        }
                        tracing::warn!(
                            "change notifications lost; reconnecting (the poll covers the gap)"
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for changes"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot connect to listen for changes"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
