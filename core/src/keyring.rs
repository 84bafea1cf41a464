//! The signing keys in use. A new key is published at once but signs only
//! after [`PUBLISH_LEAD_SECS`], so resource servers that cache the JWKS for
//! that long have it before they see a token signed with it; a replaced key
//! stays published until every token it signed has expired. Held in memory:
//! the token endpoint never reads the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{json, Value};

use crate::catalogue::SigningAlg;
use crate::clock::{Epoch, Secs};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::master_key::MasterKey;
use crate::signing::SigningKey;
use crate::store::signing_keys::{self, NewKeyRow};
use portcullis_gate::token::{KeySet as Verifiers, VerifyingKey};

/// How long the JWKS may be cached, and so how long a new key is published
/// before it signs.
pub const PUBLISH_LEAD_SECS: Secs = 300;

/// How long a replaced key stays published: it may sign for the lead time
/// still, then its tokens live at most a day (the projects' upper bound),
/// plus the verifiers' clock leeway.
pub const RETIRED_KEY_GRACE_SECS: Secs = PUBLISH_LEAD_SECS + 86_400 + 300;

#[derive(Default)]
struct KeySet {
    signers: HashMap<SigningAlg, Arc<SigningKey>>,
    verifiers: Arc<Verifiers>,
    jwks: Arc<str>,
}

pub struct Keyring {
    db: Db,
    master: Arc<MasterKey>,
    set: RwLock<Arc<KeySet>>,
}

impl Keyring {
    /// Loads the keys, first creating an active key for each algorithm in
    /// `needed` that has none.
    pub async fn open(
        db: Db,
        master: Arc<MasterKey>,
        needed: &[SigningAlg],
        now: Epoch,
    ) -> Result<Self> {
        let ring = Self {
            db,
            master,
            set: RwLock::new(Arc::default()),
        };
        ring.reload(now).await?;
        for alg in needed {
            if ring.signer(*alg).is_none() {
                add_key(&ring.db, &ring.master, *alg, now).await?;
                tracing::info!(alg = alg.as_str(), "generated the first signing key");
            }
        }
        ring.reload(now).await?;
        Ok(ring)
    }

    /// Re-reads the keys (another process may have rotated them) and drops
    /// those no longer published.
    pub async fn reload(&self, now: Epoch) -> Result<()> {
        signing_keys::delete_unpublished(&self.db, now).await?;
        let rows = signing_keys::published(&self.db, now).await?;
        let mut set = KeySet::default();
        let mut jwks = Vec::with_capacity(rows.len());
        let mut verifiers = Verifiers::default();
        for row in rows {
            let alg = SigningAlg::parse(&row.alg).ok_or_else(|| {
                Error::Crypto(format!("signing key {} has alg {}", row.kid, row.alg))
            })?;
            let jwk: Value = serde_json::from_str(&row.public_jwk)
                .map_err(|e| Error::Crypto(format!("signing key {}: {e}", row.kid)))?;
            verifiers
                .insert(VerifyingKey::from_jwk(&jwk).map_err(|e| Error::Crypto(e.to_string()))?);
            jwks.push(jwk);
            // Rows come oldest first. The newest key published for the lead
            // time signs; failing that the oldest (on a first start, the
            // only one, at once).
            let ready = row.created_at + PUBLISH_LEAD_SECS <= now;
            if ready || !set.signers.contains_key(&alg) {
                let pkcs8 = self.master.open(&row.kid, &row.private_sealed)?;
                let key = SigningKey::from_pkcs8(row.kid, alg, &pkcs8)?;
                set.signers.insert(alg, Arc::new(key));
            }
        }
        set.jwks = json!({ "keys": jwks }).to_string().into();
        set.verifiers = Arc::new(verifiers);
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        Ok(())
    }

    fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn signer(&self, alg: SigningAlg) -> Option<Arc<SigningKey>> {
        self.current().signers.get(&alg).cloned()
    }

    /// The published public keys, as a verifier holds them.
    pub fn verifiers(&self) -> Arc<Verifiers> {
        self.current().verifiers.clone()
    }

    /// The JWK Set document, serialised once per change.
    pub fn jwks_json(&self) -> Arc<str> {
        self.current().jwks.clone()
    }

    /// Adds a new key for each algorithm. It is published at once and
    /// takes over signing after [`PUBLISH_LEAD_SECS`] (running servers see it
    /// at their next reload); the old key stays published for
    /// [`RETIRED_KEY_GRACE_SECS`]. Returns the new key ids.
    pub async fn rotate(
        db: &Db,
        master: &MasterKey,
        algs: &[SigningAlg],
        now: Epoch,
    ) -> Result<Vec<String>> {
        let mut kids = Vec::new();
        for alg in algs {
            kids.push(add_key(db, master, *alg, now).await?);
        }
        Ok(kids)
    }
}

async fn add_key(db: &Db, master: &MasterKey, alg: SigningAlg, now: Epoch) -> Result<String> {
    // RSA generation takes a moment; keep it off the async workers.
    let new = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
        .await
        .map_err(|e| Error::Crypto(format!("key generation task: {e}")))??;
    let sealed = master.seal(&new.key.kid, &new.pkcs8);
    let mut tx = db.begin().await?;
    signing_keys::insert_active(
        &mut tx,
        NewKeyRow {
            kid: &new.key.kid,
            alg: alg.as_str(),
            public_jwk: &new.jwk.to_string(),
            private_sealed: &sealed,
        },
        now,
        now + RETIRED_KEY_GRACE_SECS,
    )
    .await?;
    // Every running node reloads its keys when the feed brings this.
    crate::feed::record::record(
        &mut tx,
        &[(crate::feed::record::ChangeKind::SigningKey, &new.key.kid)],
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new.key.kid.clone())
}
