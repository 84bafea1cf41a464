//! Gate credentials: what a resource server's gate in another process
//! authenticates with to read its API's gate feed (and, while the feed is
//! lost, to introspect tokens). Made by the operators, per API; each reads
//! that API and nothing else. The secret is 256 random bits, shown once;
//! only its keyed hash is stored.

use std::sync::Arc;

use crate::catalogue::Catalogue;
use crate::clients::ClientSecret;
use crate::clock::Clock;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::master_key::MasterKey;
use crate::store::gate_credentials::{self as store, GateCredentialRow};

pub struct Gates {
    db: Db,
    master: Arc<MasterKey>,
    catalogue: Arc<Catalogue>,
    clock: Arc<dyn Clock>,
    /// Compared against when the id is unknown, so that an unknown id and a
    /// wrong secret cost the same.
    decoy_hash: [u8; 32],
}

/// A gate credential as shown to operators (never its secret or hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateCredential {
    pub id: String,
    pub api_id: String,
    pub name: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
}

impl From<GateCredentialRow> for GateCredential {
    fn from(r: GateCredentialRow) -> Self {
        Self {
            id: r.id,
            api_id: r.api_id,
            name: r.name,
            created_at: r.created_at,
            created_by: r.created_by,
            revoked_at: r.revoked_at,
        }
    }
}

impl Gates {
    pub fn new(
        db: Db,
        master: Arc<MasterKey>,
        catalogue: Arc<Catalogue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let decoy_hash = master.secret_hash("portcullis-gate-decoy");
        Self {
            db,
            master,
            catalogue,
            clock,
            decoy_hash,
        }
    }

    /// A new credential for `api_id`'s gates; the secret is returned once.
    pub async fn create(
        &self,
        api_id: &str,
        name: &str,
        created_by: &str,
    ) -> Result<(GateCredential, ClientSecret)> {
        if self.catalogue.api(api_id).is_none() {
            let known: Vec<&str> = self
                .catalogue
                .apis()
                .iter()
                .map(|a| a.id.as_str())
                .collect();
            return Err(Error::invalid(
                "api",
                format!(
                    "no API {api_id:?} in the scope catalogue; it has: {}",
                    known.join(", ")
                ),
            ));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(Error::invalid(
                "name",
                "name the gate in 1 to 80 characters (where it runs, what it guards)",
            ));
        }
        let secret = ClientSecret::with_prefix("pgs");
        let row = GateCredentialRow {
            id: new_id("gate"),
            api_id: api_id.to_owned(),
            name: name.to_owned(),
            secret_hash: hex::encode(self.master.secret_hash(secret.expose())),
            created_at: self.clock.now(),
            created_by: created_by.to_owned(),
            revoked_at: None,
        };
        store::insert(&self.db, &row).await?;
        tracing::info!(gate = %row.id, api = %row.api_id, by = %created_by, "gate credential created");
        Ok((row.into(), secret))
    }

    /// The live credential with this id and secret. Unknown id, wrong
    /// secret and a revoked credential all give the same `InvalidClient`.
    #[tracing::instrument(level = "debug", skip_all, fields(gate = tracing::field::Empty))]
    pub async fn authenticate(&self, id: &str, secret: &str) -> Result<GateCredential> {
        let row = store::by_id(&self.db, id).await?;
        // Recorded once it names a credential (it may be anything).
        if row.is_some() {
            tracing::Span::current().record("gate", id);
        }
        let mut hash = self.decoy_hash;
        if let Some(r) = &row {
            if hex::decode_to_slice(&r.secret_hash, &mut hash).is_err() {
                hash = self.decoy_hash;
            }
        }
        let ok = self.master.verify_secret(secret, &hash);
        match row {
            Some(r) if ok && r.revoked_at.is_none() => Ok(r.into()),
            _ => Err(Error::InvalidClient),
        }
    }

    /// Whether the credential is still live (a feed re-checks now and then).
    pub async fn is_live(&self, id: &str) -> Result<bool> {
        Ok(store::by_id(&self.db, id)
            .await?
            .is_some_and(|r| r.revoked_at.is_none()))
    }

    pub async fn list(&self) -> Result<Vec<GateCredential>> {
        Ok(store::all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Revokes a credential: its gates lose the feed at their next check.
    pub async fn revoke(&self, id: &str, by: &str) -> Result<()> {
        if !store::revoke(&self.db, id, self.clock.now()).await? {
            return Err(Error::NotFound);
        }
        tracing::info!(gate = %id, by = %by, "gate credential revoked");
        Ok(())
    }
}
