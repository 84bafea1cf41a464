//! Values that may be used once in the whole cluster within their life:
//! the `jti` of a client assertion (RFC 7523 §3 item 7). With Redis
//! configured, one `SET NX` there; otherwise a row in the shared database
//! whose primary key refuses the second use (the housekeeping prunes
//! expired rows; Redis expires its own). Either way a second use on
//! any node is refused, and nothing is remembered past the value's expiry.

use std::sync::Arc;

use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;
use crate::shared_limits::SharedLimits;
use crate::store;

pub struct UsedOnce {
    db: Db,
    shared: Option<Arc<SharedLimits>>,
}

impl UsedOnce {
    pub fn new(db: Db, shared: Option<Arc<SharedLimits>>) -> Self {
        Self { db, shared }
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
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [kind, owner, value] {
            h.update(&(part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let key = hex::encode(h.finish());
        let ttl = (expires_at - now).max(1);
        match &self.shared {
            Some(shared) => shared
                .first_use(&key, ttl)
                .await
                .map_err(|e| crate::Error::Internal(format!("Redis: {e}"))),
            None => store::used_once::insert(&self.db, &key, expires_at).await,
        }
    }
}
