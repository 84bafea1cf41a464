//! Values that may be used once in the whole cluster within their life:
//! the `jti` of a client assertion (RFC 7523 §3 item 7) and of a DPoP
//! proof (RFC 9449 §11.1). With Redis configured, one `SET NX` there;
//! otherwise a row in the shared database whose primary key refuses the
//! second use (the housekeeping prunes expired rows; Redis expires its
//! own). Either way a second use on any node is refused, and nothing is
//! remembered past the value's expiry.
//!
//! The database path commits in groups: concurrent requests queue their
//! values, one writer inserts everything queued in one statement, and
//! each request is answered only after that statement committed. A
//! request never waits for a timer (the writer takes what is queued
//! when it is free), so a lone request costs one insert as before, and
//! under load many share one statement and one commit (`make bench`
//! saw 47 values a statement on average) without weakening the
//! guarantee.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::Any;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Epoch;
use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use crate::shared_limits::SharedLimits;
use crate::store;

/// Values one statement inserts at most (on PostgreSQL two parameters
/// each, well under its parameter limit; SQLite binds one JSON array).
const GROUP: usize = 256;

pub struct UsedOnce {
    db: Db,
    shared: Option<Arc<SharedLimits>>,
    /// The group writer's queue, started on first use (inside a runtime)
    /// and again if the writer ever stopped.
    queue: Mutex<Option<mpsc::UnboundedSender<Pending>>>,
}

/// One value waiting for the group writer.
struct Pending {
    key: String,
    expires_at: Epoch,
    answer: oneshot::Sender<Result<bool>>,
}

impl UsedOnce {
    pub fn new(db: Db, shared: Option<Arc<SharedLimits>>) -> Self {
        Self {
            db,
            shared,
            queue: Mutex::default(),
        }
    }

    /// True the first time `(kind, owner, value)` is seen before
    /// `expires_at`; false for every later use, on any node.
    pub async fn first_use(
        &self,
        kind: &str,
        owner: &str,
        value: &str,
        expires_at: Epoch,
        now: Epoch,
    ) -> Result<bool> {
        // Hashed: fixed length whatever the client sent, and no separator
        // games between owner and value.
        let key = hex::encode(portcullis_gate::limits::once_digest(&[kind, owner, value]));
        if let Some(shared) = &self.shared {
            return shared
                .first_use(&key, expires_at - now)
                .await
                .map_err(|e| Error::Internal(format!("Redis: {e}")));
        }
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            key: store::used_once::row_key(expires_at, &key),
            expires_at,
            answer,
        };
        self.queue_up(pending)?;
        answered
            .await
            .map_err(|_| Error::Internal("the used-once writer stopped".into()))?
    }

    /// Hands `pending` to the group writer, starting one if there is none
    /// or the last one stopped (its runtime ended).
    fn queue_up(&self, pending: Pending) -> Result<()> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let pending = match queue.as_ref() {
            Some(q) => match q.send(pending) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(p)) => p,
            },
            None => pending,
        };
        let (sender, waiting) = mpsc::unbounded_channel();
        tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Internal("no runtime for the used-once writer".into()))?
            .spawn(write_groups(self.db.clone(), waiting));
        sender
            .send(pending)
            .map_err(|_| Error::Internal("the used-once writer stopped".into()))?;
        *queue = Some(sender);
        Ok(())
    }
}

/// The group writer: everything queued while the previous statement ran
/// goes in the next one. Ends when the [`UsedOnce`] is dropped.
///
/// On a SQLite file it keeps one connection of the pool for itself: a
/// connection drops its page cache whenever another one wrote, so a writer
/// that took any pooled connection re-read pages it had just written and
/// re-prepared its statement on most groups (`make bench` profiles: a
/// third of its time); on its own connection only others' writes clear
/// that cache. The connection goes back when the pool closes (shutdown
/// waits for it) and is replaced after an error. An in-memory database
/// (one connection) and PostgreSQL (whose pool checks a connection's
/// health before lending it) take one from the pool for each group.
async fn write_groups(db: Db, mut waiting: mpsc::UnboundedReceiver<Pending>) {
    let backend = Backend::of(&db);
    let keep = backend == Backend::Sqlite && db.options().get_max_connections() > 1;
    let closed = db.close_event();
    tokio::pin!(closed);
    let mut conn: Option<PoolConnection<Any>> = None;
    let mut group = Vec::with_capacity(GROUP);
    loop {
        tokio::select! {
            n = waiting.recv_many(&mut group, GROUP) => {
                if n == 0 {
                    break;
                }
                let kept = keep.then_some(&mut conn);
                write_group(&db, backend, kept, std::mem::take(&mut group)).await;
            }
            () = &mut closed, if conn.is_some() => conn = None,
        }
    }
}

async fn write_group(
    db: &Db,
    backend: Backend,
    kept: Option<&mut Option<PoolConnection<Any>>>,
    group: Vec<Pending>,
) {
    // The same value twice in one group: the first is the one that counts.
    let mut seen = HashSet::with_capacity(group.len());
    let (mut firsts, mut repeats) = (Vec::new(), Vec::new());
    for p in group {
        if seen.insert(p.key.clone()) {
            firsts.push(p);
        } else {
            repeats.push(p);
        }
    }
    let rows: Vec<(&str, Epoch)> = firsts
        .iter()
        .map(|p| (p.key.as_str(), p.expires_at))
        .collect();
    let inserted = match kept {
        None => store::used_once::insert_new(db, backend, &rows).await,
        Some(conn) => insert_on_kept(db, backend, conn, &rows).await,
    };
    let failed = match inserted {
        Ok(inserted) => {
            for p in firsts {
                let first = inserted.contains(&p.key);
                let _ = p.answer.send(Ok(first));
            }
            None
        }
        Err(e) => {
            let why = format!("used-once values could not be recorded: {e}");
            tracing::warn!(error = %why);
            for p in firsts {
                let _ = p.answer.send(Err(Error::Internal(why.clone())));
            }
            Some(why)
        }
    };
    // A repeat is refused as used, unless nothing could be recorded: then
    // it gets the same error as its first.
    for p in repeats {
        let answer = failed
            .clone()
            .map_or(Ok(false), |why| Err(Error::Internal(why)));
        let _ = p.answer.send(answer);
    }
}

/// [`store::used_once::insert_new`] on the writer's own connection,
/// taken on first use. After an error the connection (it may be what
/// failed) is closed rather than pooled again, and the next group takes
/// another.
async fn insert_on_kept(
    db: &Db,
    backend: Backend,
    conn: &mut Option<PoolConnection<Any>>,
    rows: &[(&str, Epoch)],
) -> Result<HashSet<String>> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(db.acquire().await?),
    };
    let inserted = store::used_once::insert_new(&mut **c, backend, rows).await;
    if inserted.is_err() {
        if let Some(mut c) = conn.take() {
            c.close_on_drop();
        }
    }
    inserted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file (an in-memory one is one per connection).
    async fn database() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = crate::db::connect(&url).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        (db, dir)
    }

    /// Many requests at once share statements; each value still counts
    /// once, whether repeated in one group or across groups and nodes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uses_count_once_each_in_groups() {
        let (db, _dir) = database().await;
        let (a, b) = (
            Arc::new(UsedOnce::new(db.clone(), None)),
            Arc::new(UsedOnce::new(db, None)),
        );
        let mut tasks = Vec::new();
        for i in 0..600 {
            // 200 values, each tried three times, on two "nodes".
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                let value = format!("jti-{}", i % 200);
                let first = node
                    .first_use("test", "client", &value, 1_000, 0)
                    .await
                    .unwrap();
                (value, first)
            }));
        }
        let mut firsts = std::collections::HashMap::new();
        for t in tasks {
            let (value, first) = t.await.unwrap();
            *firsts.entry(value).or_insert(0) += u32::from(first);
        }
        assert_eq!(firsts.len(), 200);
        assert!(firsts.values().all(|n| *n == 1), "{firsts:?}");
        // Another kind or owner is another value.
        assert!(a
            .first_use("test", "other", "jti-0", 1_000, 0)
            .await
            .unwrap());
        assert!(!a
            .first_use("test", "other", "jti-0", 1_000, 0)
            .await
            .unwrap());
    }

    /// The housekeeping forgets what expired a minute ago, by key range,
    /// and nothing still live.
    #[tokio::test]
    async fn pruning_forgets_only_what_expired() {
        let (db, _dir) = database().await;
        let once = UsedOnce::new(db.clone(), None);
        for (value, expires_at) in [("old", 1_000), ("edge", 1_940), ("live", 2_000)] {
            assert!(once
                .first_use("t", "c", value, expires_at, 900)
                .await
                .unwrap());
        }
        let pruned = store::used_once::prune(&db, 2_000).await.unwrap();
        assert_eq!(pruned, 1, "only the value that expired before 1940");
        assert!(once.first_use("t", "c", "old", 1_000, 900).await.unwrap());
        assert!(!once.first_use("t", "c", "edge", 1_940, 900).await.unwrap());
        assert!(!once.first_use("t", "c", "live", 2_000, 900).await.unwrap());
    }

    /// The writer keeps a connection, but gives it back when the pool
    /// closes: shutting down does not wait for it forever.
    #[tokio::test]
    async fn closing_the_pool_takes_back_the_writers_connection() {
        let (db, _dir) = database().await;
        let once = UsedOnce::new(db.clone(), None);
        assert!(once.first_use("t", "c", "v", 10, 0).await.unwrap());
        tokio::time::timeout(std::time::Duration::from_secs(5), db.close())
            .await
            .expect("the pool closed");
    }

    /// An in-memory database has one connection: the writer borrows it
    /// for each group and leaves it for every other query.
    #[tokio::test]
    async fn an_in_memory_database_keeps_its_only_connection_free() {
        let url = format!(
            "sqlite:file:{}?mode=memory&cache=shared",
            crate::ids::new_id("mem")
        );
        let db = crate::db::connect(&url).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let once = UsedOnce::new(db.clone(), None);
        assert!(once.first_use("t", "c", "v", 10, 0).await.unwrap());
        let other = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::query("select count(*) from used_once").fetch_one(&db),
        )
        .await
        .expect("the connection was free");
        assert!(other.is_ok());
        assert!(!once.first_use("t", "c", "v", 10, 0).await.unwrap());
    }

    #[tokio::test]
    async fn a_database_failure_is_an_error_for_the_whole_group() {
        let (db, _dir) = database().await;
        let once = UsedOnce::new(db.clone(), None);
        db.close().await;
        let e = once.first_use("test", "c", "v", 10, 0).await.unwrap_err();
        assert!(
            matches!(&e, Error::Internal(why) if why.contains("could not be recorded")),
            "{e:?}"
        );
    }
}
