//! OAuth clients of a project: created with a scope checklist and a secret
//! shown once, narrowed (never widened), and used to mint test tokens from
//! the console through the same [`Issuer::mint`](crate::tokens::Issuer::mint)
//! as the token endpoint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;

use crate::accounts::Principal;
use crate::clock::Epoch;
use crate::error::{Error, Result};
use crate::ids::{new_id, random_bytes};
use crate::projects::{require_manager, Projects};
use crate::registry::split_scopes;
use crate::store;
use crate::store::clients::ClientRow;
use crate::tokens::Minted;
use crate::validate;

pub const CLIENT_NAME_MAX: usize = 60;
/// A guard against runaway scripts, far above any real integration's needs.
pub const LIVE_CLIENTS_PER_PROJECT_MAX: usize = 10;

/// A client secret, held only long enough to show it once.
pub struct ClientSecret(String);

impl ClientSecret {
    /// 256 random bits, base64url: safe in URLs, forms and `curl -u`.
    fn generate() -> Self {
        Self(format!("pcs_{}", B64URL.encode(random_bytes::<32>())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    Active,
    Disabled,
    Expired,
    /// The client is fine but its project is archived.
    ProjectArchived,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: Epoch,
    pub last_used_at: Option<Epoch>,
    pub status: ClientStatus,
    pub disabled_reason: Option<String>,
    pub expires_at: Option<Epoch>,
}

impl Projects {
    fn client_view(&self, row: ClientRow, project_archived: bool, now: Epoch) -> Client {
        // Memory is ahead of the database between flushes.
        let last_used_at = self
            .registry
            .client(&row.id)
            .and_then(|c| c.usage.last_used())
            .max(row.last_used_at);
        let status = if row.disabled_at.is_some() {
            ClientStatus::Disabled
        } else if row.expires_at.is_some_and(|at| at <= now) {
            ClientStatus::Expired
        } else if project_archived {
            ClientStatus::ProjectArchived
        } else {
            ClientStatus::Active
        };
        Client {
            scopes: split_scopes(&row.scopes),
            id: row.id,
            project_id: row.project_id,
            name: row.name,
            created_at: row.created_at,
            last_used_at,
            status,
            disabled_reason: row.disabled_reason,
            expires_at: row.expires_at,
        }
    }

    pub async fn clients(&self, by: &Principal, project_id: &str) -> Result<Vec<Client>> {
        let project = self.project_row(by, project_id).await?;
        let now = self.clock.now();
        Ok(
            store::clients::list_for_project(&self.db, &by.account_id, project_id)
                .await?
                .into_iter()
                .map(|row| self.client_view(row, project.archived_at.is_some(), now))
                .collect(),
        )
    }

    /// Checks a scope selection against the project's API; sorted, unique.
    fn checked_scopes(&self, api_id: &str, scopes: &[String]) -> Result<Vec<String>> {
        let api = self
            .catalogue
            .api(api_id)
            .ok_or_else(|| Error::Internal(format!("api {api_id:?} is not in scopes.toml")))?;
        let mut out: Vec<String> = Vec::new();
        for s in scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            if api.scope(s).is_none() {
                return Err(Error::invalid(
                    "scopes",
                    format!("{s:?} is not a scope of the {}.", api.name),
                ));
            }
            out.push(s.to_owned());
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(Error::invalid(
                "scopes",
                "Tick at least one scope: the client may only ask for what is ticked here.",
            ));
        }
        Ok(out)
    }

    /// Creates a client with exactly `scopes`; the secret is returned once
    /// and only its keyed hash is kept.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id = %project_id, client_id))]
    pub async fn create_client(
        &self,
        by: &Principal,
        project_id: &str,
        name: &str,
        scopes: &[String],
    ) -> Result<(Client, ClientSecret)> {
        require_manager(by)?;
        let project = self.project_row(by, project_id).await?;
        if project.archived_at.is_some() {
            return Err(Error::invalid(
                "",
                "This project is archived: it cannot get new clients.",
            ));
        }
        let name = validate::name(
            "client_name",
            name,
            CLIENT_NAME_MAX,
            "a name for the client",
        )?;
        let scopes = self.checked_scopes(&project.api_id, scopes)?;
        let now = self.clock.now();
        let live = store::clients::list_for_project(&self.db, &by.account_id, project_id)
            .await?
            .iter()
            .filter(|c| c.disabled_at.is_none() && c.expires_at.is_none_or(|at| at > now))
            .count();
        if live >= LIVE_CLIENTS_PER_PROJECT_MAX {
            return Err(Error::invalid(
                "",
                format!("A project can have at most {LIVE_CLIENTS_PER_PROJECT_MAX} live clients."),
            ));
        }
        let secret = ClientSecret::generate();
        let row = ClientRow {
            id: new_id("pcl"),
            account_id: by.account_id.clone(),
            project_id: project.id.clone(),
            name,
            secret_hash: hex::encode(self.master.secret_hash(secret.expose())),
            scopes: scopes.join(" "),
            created_at: now,
            last_used_at: None,
            disabled_at: None,
            disabled_reason: None,
            expires_at: None,
        };
        store::clients::insert(&self.db, &row, &by.user_id).await?;
        self.registry.put_client(&row);
        tracing::Span::current().record("client_id", row.id.as_str());
        tracing::info!(scopes = %row.scopes, "client created");
        Ok((self.client_view(row, false, now), secret))
    }

    async fn client_row(&self, by: &Principal, client_id: &str) -> Result<ClientRow> {
        store::clients::get(&self.db, &by.account_id, client_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Narrows a live client's scopes; new tokens carry only these. Any
    /// scope the client does not already have is refused: widening a live
    /// credential is exactly what a leaked one must never allow.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn narrow_client(
        &self,
        by: &Principal,
        client_id: &str,
        scopes: &[String],
    ) -> Result<Client> {
        require_manager(by)?;
        let mut row = self.client_row(by, client_id).await?;
        let project = self.project_row(by, &row.project_id).await?;
        let current = split_scopes(&row.scopes);
        let wanted = self.checked_scopes(&project.api_id, scopes)?;
        if let Some(extra) = wanted.iter().find(|s| !current.contains(s)) {
            return Err(Error::invalid(
                "scopes",
                format!(
                    "A live client's scopes can only be narrowed, and this client does not have {extra:?}. \
                     Create a new purpose-scoped client for it instead."
                ),
            ));
        }
        if wanted == current {
            return Err(Error::invalid(
                "scopes",
                "Nothing to change: untick the scopes this client should lose.",
            ));
        }
        let scopes = wanted.join(" ");
        if !store::clients::set_scopes(&self.db, &by.account_id, client_id, &scopes).await? {
            return Err(Error::NotFound);
        }
        tracing::info!(from = %row.scopes, to = %scopes, "client narrowed");
        row.scopes = scopes;
        self.registry.put_client(&row);
        Ok(self.client_view(row, project.archived_at.is_some(), self.clock.now()))
    }

    /// A token for trying the API from the console: the token endpoint's own
    /// minting, for a client of the caller's account.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn mint_test_token(
        &self,
        by: &Principal,
        client_id: &str,
        scopes: &[String],
    ) -> Result<Minted> {
        require_manager(by)?;
        // The account check: the registry is global, the row lookup is not.
        let row = self.client_row(by, client_id).await?;
        let entry = self.registry.client(&row.id).ok_or(Error::NotFound)?;
        if scopes.is_empty() {
            return Err(Error::invalid(
                "scopes",
                "Tick the scopes the test token should carry.",
            ));
        }
        let minted = self
            .issuer
            .mint(&entry, Some(&scopes.join(" ")))
            .map_err(|e| match e {
                Error::InvalidClient => Error::invalid(
                    "",
                    "This client cannot get tokens: it is disabled, expired or its project is archived.",
                ),
                Error::InvalidScope(m) => Error::invalid("scopes", m),
                other => other,
            })?;
        tracing::info!(jti = %minted.claims.jti, "test token minted from the console");
        Ok(minted)
    }
}
