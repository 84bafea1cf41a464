//! Making clients: a new one (long-lived or temporary, within the
//! project's caps) and a rotation's successor.

use super::*;
use crate::usage_totals::RecentMints;
use crate::workload_identity::WorkloadTrust;

impl Clients {
    /// Creates a client with exactly `scopes`; the secret is returned once
    /// and only its keyed hash is kept.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id = %project_id, client_id))]
    pub async fn create(
        &self,
        by: Manager<'_>,
        project_id: &str,
        name: &str,
        scopes: &[String],
        expires_in_hours: Option<i64>,
    ) -> Result<(Client, ClientSecret)> {
        let (client, secret) = self
            .create_client(by, project_id, name, scopes, expires_in_hours, None)
            .await?;
        let secret =
            secret.ok_or_else(|| Error::Internal("a secret client without a secret".into()))?;
        Ok((client, secret))
    }

    /// Creates a `private_key_jwt` client (RFC 7523 §2.2) that proves
    /// itself with one of its public keys: pasted (a JWK, JWK Set or PEM,
    /// see [`ClientKeys::parse`]) or at a `jwks_uri`. It has no secret, so
    /// none is ever shown.
    pub async fn create_with_keys(
        &self,
        by: Manager<'_>,
        project_id: &str,
        name: &str,
        scopes: &[String],
        expires_in_hours: Option<i64>,
        input: KeysInput<'_>,
    ) -> Result<Client> {
        let (client, _) = self
            .create_client(by, project_id, name, scopes, expires_in_hours, Some(input))
            .await?;
        Ok(client)
    }

    async fn create_client(
        &self,
        by: Manager<'_>,
        project_id: &str,
        name: &str,
        scopes: &[String],
        expires_in_hours: Option<i64>,
        keys: Option<KeysInput<'_>>,
    ) -> Result<(Client, Option<ClientSecret>)> {
        let (manager, by) = (by, by.principal());
        if let Some(input) = keys {
            self.check_keys_input(input)?;
        }
        let hours = expires_in_hours
            .map(|h| validate::in_range("expires_in_hours", h, TEMPORARY_HOURS, "hours"))
            .transpose()?;
        let project = self.project_row(by, project_id).await?;
        manager.owner_for_management(&project.api_id)?;
        if project.archived_at.is_some() {
            return Err(Error::conflict(
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
        // Only now, for a caller who may change this project, is a
        // jwks_uri fetched.
        let keys = match keys {
            Some(input) => Some(self.stored_keys(input).await?),
            None => None,
        };
        let now = self.clock.now();
        let mut tx = self
            .room_for_a_client(by, project_id, hours.is_some(), keys.is_none(), now)
            .await?;
        let (row, secret) = self.new_client_row(
            by,
            &project.id,
            name,
            scopes,
            hours.map(|h| now + h * 3600),
            keys,
        );
        let detail = match row.expires_at {
            Some(at) => format!(
                "{:?} with {}; temporary, expires {}",
                row.name,
                row.scopes,
                crate::calendar::date_time(at)
            ),
            None => format!("{:?} with {}", row.name, row.scopes),
        };
        let detail = match (&row.public_keys, &row.jwks_uri, &row.workload_trust) {
            (Some(_), _, _) => {
                format!("{detail}; authenticates with a public key (private_key_jwt)")
            }
            (None, Some(url), _) => {
                format!("{detail}; authenticates with a key published at {url} (private_key_jwt)")
            }
            (None, None, Some(json)) => format!(
                "{detail}; trusts {}",
                WorkloadTrust::from_stored(json)
                    .map(|t| t.describe())
                    .unwrap_or_default()
            ),
            (None, None, None) => detail,
        };
        store::clients::insert(
            &mut *tx,
            &row,
            by.acting_client.is_none().then_some(by.user_id.as_str()),
        )
        .await?;
        self.commit_client(tx, by, "client.create", &row.id, &row.project_id, detail)
            .await?;
        tracing::Span::current().record("client_id", row.id.as_str());
        tracing::info!(scopes = %row.scopes, expires_at = ?row.expires_at, "client created");
        Ok((
            self.client_view(row, false, 3600, RecentMints::default(), None, now),
            secret,
        ))
    }

    /// A transaction holding the project's lock, if it is live and has room
    /// for one more live client of this kind: two creations racing for the
    /// last place cannot both pass the count.
    async fn room_for_a_client(
        &self,
        by: &Principal,
        project_id: &str,
        temporary: bool,
        with_secret: bool,
        now: Epoch,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.db.begin().await?;
        if !store::accounts::lock(&mut *tx, &by.account_id).await? {
            return Err(Error::NotFound);
        }
        if store::clients::count(&mut *tx, &by.account_id).await? >= CLIENTS_PER_ACCOUNT_MAX {
            return Err(Error::conflict(format!(
                "An account can hold at most {CLIENTS_PER_ACCOUNT_MAX} clients, retired and expired ones included: delete clients you no longer need first."
            )));
        }
        if !store::projects::lock_live(&mut *tx, &by.account_id, project_id).await? {
            return Err(Error::conflict(
                "This project is archived: it cannot get new clients.",
            ));
        }
        // Read under the project's lock, so a secret client cannot slip in
        // beside a "keys only" turned on meanwhile.
        let keys_only = store::projects::get(&mut *tx, &by.account_id, project_id)
            .await?
            .is_some_and(|p| p.keys_only != 0);
        if keys_only && with_secret {
            return Err(Error::conflict(
                "This project is keys only: its clients sign in with a public key or a workload identity, never a secret.",
            ));
        }
        let live = store::clients::list_for_project(&mut *tx, &by.account_id, project_id)
            .await?
            .into_iter()
            .filter(|c| c.disabled_at.is_none() && c.expires_at.is_none_or(|at| at > now))
            .filter(|c| c.expires_at.is_some() == temporary)
            .count();
        match temporary {
            false if live >= LIVE_CLIENTS_PER_PROJECT_MAX => Err(Error::conflict("This project already has two live clients (a rotation in progress). Retire one first, \
                 or create a temporary client for a one-off task.",
            )),
            true if live >= TEMPORARY_CLIENTS_PER_PROJECT_MAX => Err(Error::conflict(format!("A project can have at most {TEMPORARY_CLIENTS_PER_PROJECT_MAX} live temporary clients."),
            )),
            _ => Ok(tx),
        }
    }

    /// A new client's row and its secret (shown once; the row keeps only
    /// the keyed hash), or, for a key client, its keys and no secret.
    fn new_client_row(
        &self,
        by: &Principal,
        project_id: &str,
        name: String,
        scopes: Vec<String>,
        expires_at: Option<Epoch>,
        keys: Option<StoredKeys>,
    ) -> (ClientRow, Option<ClientSecret>) {
        let secret = keys.is_none().then(ClientSecret::generate);
        let keys = keys.unwrap_or_default();
        let auth_method = match (&keys.public_keys, &keys.jwks_uri, &keys.workload_trust) {
            (None, None, None) => store::clients::AUTH_SECRET,
            (None, None, Some(_)) => store::clients::AUTH_WORKLOAD,
            _ => store::clients::AUTH_PRIVATE_KEY_JWT,
        };
        let row = ClientRow {
            id: new_id("pcl"),
            account_id: by.account_id.clone(),
            project_id: project_id.to_owned(),
            name,
            secret_hash: secret
                .as_ref()
                .map(|s| hex::encode(self.master.secret_hash(s.expose())))
                .unwrap_or_default(),
            scopes: scopes.join(" "),
            created_at: self.clock.now(),
            last_used_at: None,
            disabled_at: None,
            disabled_reason: None,
            expires_at,
            retire_at: None,
            revoked_before: None,
            auth_method: auth_method.to_owned(),
            public_keys: keys.public_keys,
            jwks_uri: keys.jwks_uri,
            workload_trust: keys.workload_trust,
            last_workload: None,
        };
        (row, secret)
    }

    /// Starts a rotation: a second client with exactly the same scopes. Both
    /// work until the old one is retired.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn rotate(&self, by: Manager<'_>, client_id: &str) -> Result<(Client, ClientSecret)> {
        let (manager, by) = (by, by.principal());
        let old = self.client_row(by, client_id).await?;
        let project = self.project_row(by, &old.project_id).await?;
        manager.owner_for_management(&project.api_id)?;
        let now = self.clock.now();
        if project.archived_at.is_some() || old.disabled_at.is_some() {
            return Err(Error::conflict(
                "Only a live client of a live project can be rotated.",
            ));
        }
        if old.expires_at.is_some() {
            return Err(Error::conflict(
                "Temporary clients are not rotated: create a new one when needed.",
            ));
        }
        if old.auth_method == store::clients::AUTH_PRIVATE_KEY_JWT {
            return Err(Error::conflict(
                "A key client rotates its keys, not its id: add the new public key beside the old one, move the workload to it, then remove the old key.",
            ));
        }
        if old.auth_method == store::clients::AUTH_WORKLOAD {
            return Err(Error::conflict(
                "A workload identity client holds nothing to rotate: change its trust instead.",
            ));
        }
        let mut tx = self
            .room_for_a_client(by, &project.id, false, true, now)
            .await?;
        let name = format!(
            "{} (rotated {})",
            old.name.split(" (rotated").next().unwrap_or(&old.name),
            crate::calendar::date(now)
        );
        let name: String = name.chars().take(CLIENT_NAME_MAX).collect();
        let (row, secret) =
            self.new_client_row(by, &project.id, name, split_scopes(&old.scopes), None, None);
        let secret =
            secret.ok_or_else(|| Error::Internal("a secret client without a secret".into()))?;
        store::clients::insert(
            &mut *tx,
            &row,
            by.acting_client.is_none().then_some(by.user_id.as_str()),
        )
        .await?;
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "client.rotate",
                    ("client", client_id),
                    Some(&project.id),
                    format!(
                        "rotation started: {} takes over from {client_id} with {}",
                        row.id, old.scopes
                    ),
                ),
                (ChangeKind::Client, &row.id),
            )
            .await?;
        tracing::info!(successor = %row.id, "client rotation started");
        Ok((
            self.client_view(row, false, 3600, RecentMints::default(), None, now),
            secret,
        ))
    }
}
