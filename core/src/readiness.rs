//! Whether this node should take traffic (`/readyz`): the database answers,
//! every migration this build carries has run, a signing key is loaded for
//! each algorithm the catalogue signs with, and this node's change feed is
//! within a few seconds of the newest committed change (else it could mint
//! for a revoked client). Liveness (`/healthz`) asks none of this.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::catalogue::SigningAlg;
use crate::clock::{Clock, Epoch, Secs};
use crate::db::{Db, MIGRATOR, OTHERS_FROM};
use crate::feed::Feed;
use crate::keyring::Keyring;
use crate::store;

/// How far behind the newest change the feed may be and the node ready.
pub const FEED_LAG_MAX_SECS: Secs = 5;
/// A database that takes longer than this to answer counts as down.
const DB_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ready: bool,
    /// What is not ready: `database`, `migrations`, `signing_keys`, `feed`.
    pub failing: Vec<&'static str>,
    /// Seconds this node's feed trails the oldest change it has not applied
    /// (0 when it has applied them all; absent when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_lag_secs: Option<Secs>,
}

pub struct Readiness {
    db: Db,
    feed: Arc<Feed>,
    keyring: Arc<Keyring>,
    algs: Vec<SigningAlg>,
    clock: Arc<dyn Clock>,
}

/// How far the feed trails: 0 when nothing is left to apply, else the age
/// of the oldest change it has not applied.
pub fn feed_lag(applied: i64, latest: i64, oldest_unapplied_at: Option<Epoch>, now: Epoch) -> Secs {
    if latest <= applied {
        return 0;
    }
    oldest_unapplied_at.map_or(0, |at| (now - at).max(0))
}

impl Readiness {
    pub fn new(
        feed: Arc<Feed>,
        keyring: Arc<Keyring>,
        algs: Vec<SigningAlg>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            db: feed.db().clone(),
            feed,
            keyring,
            algs,
            clock,
        }
    }

    pub async fn check(&self) -> Report {
        let mut failing = Vec::new();
        if self.algs.iter().any(|a| self.keyring.signer(*a).is_none()) {
            failing.push("signing_keys");
        }
        let lag = match tokio::time::timeout(DB_TIMEOUT, self.database_checks()).await {
            Ok(Ok((migrations_current, lag))) => {
                if !migrations_current {
                    failing.push("migrations");
                }
                if lag > FEED_LAG_MAX_SECS {
                    failing.push("feed");
                }
                Some(lag)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "not ready: the database did not answer");
                failing.push("database");
                None
            }
            Err(_) => {
                tracing::warn!("not ready: the database took too long to answer");
                failing.push("database");
                None
            }
        };
        Report {
            ready: failing.is_empty(),
            failing,
            feed_lag_secs: lag,
        }
    }

    /// Whether every migration has run, and the feed's lag.
    async fn database_checks(&self) -> crate::error::Result<(bool, Secs)> {
        let newest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let (applied_migration,): (i64,) = sqlx::query_as(
            "select coalesce(max(version), 0) from _sqlx_migrations \
                 where success and version < $1",
        )
        .bind(OTHERS_FROM)
        .fetch_one(&self.db)
        .await?;
        let applied = self.feed.applied();
        let latest = store::changes::latest(&self.db).await?;
        let oldest = if latest > applied {
            store::changes::oldest_after(&self.db, applied).await?
        } else {
            None
        };
        Ok((
            applied_migration >= newest,
            feed_lag(applied, latest, oldest, self.clock.now()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::feed_lag;

    #[test]
    fn the_lag_is_the_age_of_the_oldest_change_not_applied() {
        assert_eq!(feed_lag(10, 10, None, 1_000), 0);
        assert_eq!(feed_lag(10, 9, None, 1_000), 0, "ahead of a stale read");
        assert_eq!(feed_lag(10, 12, Some(993), 1_000), 7);
        assert_eq!(feed_lag(10, 12, Some(1_003), 1_000), 0, "clocks apart");
        assert_eq!(feed_lag(10, 12, None, 1_000), 0, "pruned meanwhile");
    }
}
