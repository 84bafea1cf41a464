//! What the console's open project pages hear: "this project's clients
//! changed", "the project changed", or (after a reload of the whole view,
//! or a client deleted before its project could be read) "anything may
//! have changed". Fed by the change feed after each change is applied, as
//! the gates are; no data rides on it (a page fetches what it shows through
//! the functions that check who is asking). Usage is not in the feed: a
//! page's stream compares the project's totals every few seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::feed::record::ChangeKind;
use crate::feed::{Applied, Feed};
use crate::registry::Registry;

/// Streams open on one node; past it, a page gets 503 and its script tries
/// again later.
pub const STREAMS_MAX: usize = 256;
/// Streams open for one person (a few tabs).
pub const STREAMS_PER_USER_MAX: usize = 4;
/// Changes kept for a slow stream; one that falls behind refreshes all.
const BACKLOG: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A client of this project was created, changed or removed.
    Clients(String),
    /// The project itself (settings, bucket, archived).
    Project(String),
    /// Anything, anywhere.
    Everything,
}

impl Change {
    /// Whether a page showing `project_id` should hear it.
    pub fn concerns(&self, project_id: &str) -> bool {
        match self {
            Change::Clients(p) | Change::Project(p) => p == project_id,
            Change::Everything => true,
        }
    }
}

pub struct ProjectLive {
    tx: broadcast::Sender<Change>,
    registry: Arc<Registry>,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// A stream's place; given back when the stream ends.
pub struct StreamSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    user_id: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.user_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

/// Why a stream could not open.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// This person has [`STREAMS_PER_USER_MAX`] open.
    User,
    /// The node has [`STREAMS_MAX`] open.
    Node,
}

impl ProjectLive {
    /// Follows `feed` from now on.
    pub fn attach_to(feed: &Feed) -> Arc<Self> {
        let this = Arc::new(Self::new(feed.registry().clone()));
        let listener = Arc::downgrade(&this);
        feed.on_applied(move |applied| {
            if let Some(this) = listener.upgrade() {
                this.applied(applied);
            }
        });
        this
    }

    fn new(registry: Arc<Registry>) -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
            registry,
            open: Arc::default(),
        }
    }

    fn applied(&self, applied: Applied<'_>) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let change = match applied {
            Applied::Change {
                kind: ChangeKind::Client,
                target,
                ..
            } => match self.registry.client(target) {
                Some(c) => Change::Clients(c.project_id.to_string()),
                // Deleted: its project is no longer known here.
                None => Change::Everything,
            },
            Applied::Change {
                kind: ChangeKind::Project,
                target,
                ..
            } => Change::Project(target.to_owned()),
            Applied::Change { .. } => return,
            Applied::Reloaded { .. } => Change::Everything,
        };
        // No receiver left is not an error: nobody is looking.
        let _ = self.tx.send(change);
    }

    /// Changes from now on, for a stream that holds `slot`.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// A place for one more stream of `user_id`.
    pub fn open(&self, user_id: &str) -> Result<StreamSlot, Full> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.values().sum::<usize>() >= STREAMS_MAX {
            return Err(Full::Node);
        }
        let n = open.entry(user_id.to_owned()).or_default();
        if *n >= STREAMS_PER_USER_MAX {
            return Err(Full::User);
        }
        *n += 1;
        Ok(StreamSlot {
            open: self.open.clone(),
            user_id: user_id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_concerns_its_project_or_everyone() {
        assert!(Change::Clients("prj_a".into()).concerns("prj_a"));
        assert!(!Change::Project("prj_a".into()).concerns("prj_b"));
        assert!(Change::Everything.concerns("prj_b"));
    }

    #[test]
    fn streams_are_bounded_per_person_and_given_back() {
        let live = ProjectLive::new(Arc::default());
        let slots: Vec<_> = (0..STREAMS_PER_USER_MAX)
            .map(|_| live.open("usr_a").unwrap())
            .collect();
        assert_eq!(live.open("usr_a").err(), Some(Full::User));
        assert!(live.open("usr_b").is_ok());
        drop(slots);
        assert!(live.open("usr_a").is_ok());
        assert!(live.open.lock().unwrap().is_empty(), "all given back");
    }

    #[test]
    fn a_project_change_reaches_subscribers_and_others_stay_quiet() {
        let live = ProjectLive::new(Arc::default());
        let mut rx = live.subscribe();
        live.applied(Applied::Change {
            seq: 1,
            kind: ChangeKind::Project,
            target: "prj_a",
        });
        live.applied(Applied::Change {
            seq: 2,
            kind: ChangeKind::SigningKey,
            target: "key",
        });
        // A client the registry does not hold (deleted): anything may have changed.
        live.applied(Applied::Change {
            seq: 3,
            kind: ChangeKind::Client,
            target: "pcl_gone",
        });
        assert_eq!(rx.try_recv().unwrap(), Change::Project("prj_a".into()));
        assert_eq!(rx.try_recv().unwrap(), Change::Everything);
        assert!(rx.try_recv().is_err());
    }
}
