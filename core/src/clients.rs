//! OAuth clients of a project: created with a scope checklist and a secret
//! shown once, narrowed (never widened), and used to mint test tokens from
//! the console through the same [`Issuer::mint`](crate::tokens::Issuer::mint)
//! as the token endpoint.

use std::sync::Arc;

use crate::accounts::Principal;
use crate::audit;
use crate::catalogue::Catalogue;
use crate::clock::{Clock, Epoch, Secs};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::feed::{ChangeKind, Feed};
use crate::ids::new_id;
use crate::master_key::MasterKey;
use crate::projects::require_manager;
use crate::registry::{split_scopes, Registry};
use crate::store;
use crate::store::clients::ClientRow;
use crate::store::projects::ProjectRow;
use crate::tokens::{Issuer, Minted};
use crate::validate;

pub const CLIENT_NAME_MAX: usize = 60;
/// Long-lived clients per project: one, and its successor during a rotation.
pub const LIVE_CLIENTS_PER_PROJECT_MAX: usize = 2;
/// Temporary (purpose-scoped, expiring) clients live beside those.
pub const TEMPORARY_CLIENTS_PER_PROJECT_MAX: usize = 10;
/// A temporary client lives from 1 hour to 30 days.
pub const TEMPORARY_HOURS: std::ops::RangeInclusive<i64> = 1..=720;
/// Retiring a client used this recently deserves a second look.
pub const RECENT_USE_SECS: Secs = 15 * 60;

/// A client secret, held only long enough to show it once.
pub struct ClientSecret(String);

impl ClientSecret {
    /// 256 random bits with a prefix and a checksum (see
    /// [`secret_format`](crate::secret_format)): safe in URLs, forms and
    /// `curl -u`, and recognisable by secret scanners.
    fn generate() -> Self {
        Self::with_prefix("pcs")
    }

    /// The same, with another kind's prefix (`pgs` for gate credentials).
    pub(crate) fn with_prefix(prefix: &str) -> Self {
        Self(crate::secret_format::generate(prefix))
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

impl ClientStatus {
    /// The first reason a client cannot be used, in the order people care.
    pub fn of(
        disabled_at: Option<Epoch>,
        expires_at: Option<Epoch>,
        project_archived: bool,
        now: Epoch,
    ) -> Self {
        if disabled_at.is_some() {
            ClientStatus::Disabled
        } else if expires_at.is_some_and(|at| at <= now) {
            ClientStatus::Expired
        } else if project_archived {
            ClientStatus::ProjectArchived
        } else {
            ClientStatus::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Disabled => "disabled",
            ClientStatus::Expired => "expired",
            ClientStatus::ProjectArchived => "project_archived",
        }
    }
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
    pub retire_at: Option<Epoch>,
    pub minted_last_5m: u64,
    pub minted_last_hour: u64,
    /// Set when the client mints far more tokens than its scope sets and
    /// the token lifetime need: it does not reuse its tokens.
    pub reuse_warning: Option<String>,
}

/// Tokens per scope set per token lifetime above which a client is told it
/// does not reuse its tokens ("a few" allows several instances and restarts).
pub const REUSE_TOKENS_PER_LIFETIME_MAX: u64 = 10;
/// Below this many tokens in an hour nobody is warned.
const REUSE_WARNING_MIN_MINTED: u64 = 20;

/// The warning for a client that minted `minted_hour` tokens in an hour for
/// `scope_sets` sets with tokens of `ttl_secs`, if it earns one.
pub fn reuse_warning(minted_hour: u64, scope_sets: usize, ttl_secs: i64) -> Option<String> {
    let lifetimes_per_hour = (3600 / ttl_secs.max(1)).max(1) as u64;
    let per_set_per_lifetime = minted_hour / (scope_sets.max(1) as u64) / lifetimes_per_hour;
    (minted_hour >= REUSE_WARNING_MIN_MINTED && per_set_per_lifetime > REUSE_TOKENS_PER_LIFETIME_MAX)
        .then(|| {
            format!(
                "Minted {minted_hour} tokens in the last hour with a {} lifetime: this integration does not reuse its tokens. Cache each token and mint again shortly before it expires (examples/partner-client shows how).",
                lifetime_text(ttl_secs)
            )
        })
}

fn lifetime_text(secs: i64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{}-hour", s / 3600),
        s if s % 60 == 0 => format!("{}-minute", s / 60),
        s => format!("{s}-second"),
    }
}

/// A retire or revoke that found the client disabled already (maybe by a
/// racing request on another node).
pub(crate) fn already_disabled() -> Error {
    Error::conflict("This client is already retired or revoked.")
}

/// The clients of an account's projects: create, list, narrow, rotate,
/// retire (now or as scheduled), expire, delete, test tokens; and, for
/// support staff and leak reports, revoke. Every operation takes the acting
/// principal and touches only its account.
pub struct Clients {
    pub(crate) db: Db,
    pub(crate) feed: Arc<Feed>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) issuer: Arc<Issuer>,
    pub(crate) master: Arc<MasterKey>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Clients {
    pub fn new(
        feed: Arc<Feed>,
        registry: Arc<Registry>,
        catalogue: Arc<Catalogue>,
        issuer: Arc<Issuer>,
        master: Arc<MasterKey>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            db: feed.db().clone(),
            feed,
            registry,
            catalogue,
            issuer,
            master,
            clock,
        }
    }

    /// The caller's account's project `id`.
    async fn project_row(&self, by: &Principal, id: &str) -> Result<ProjectRow> {
        store::projects::get(&self.db, &by.account_id, id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Appends to the account's audit log outside any change; a failed
    /// write is logged, the action (already done) stands.
    async fn audit(&self, event: audit::Event<'_>) {
        audit::record_or_log(&self.db, event, self.clock.now()).await;
    }

    fn client_view(
        &self,
        row: ClientRow,
        project_archived: bool,
        token_ttl_secs: i64,
        now: Epoch,
    ) -> Client {
        let usage = self.registry.client(&row.id).map(|c| c.usage.clone());
        // Memory is ahead of the database between flushes.
        let last_used_at = usage
            .as_ref()
            .and_then(|u| u.last_used())
            .max(row.last_used_at);
        let minted = |minutes| usage.as_ref().map_or(0, |u| u.minted_in_last(minutes, now));
        let status = ClientStatus::of(row.disabled_at, row.expires_at, project_archived, now);
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
            retire_at: row.retire_at,
            minted_last_5m: minted(5),
            minted_last_hour: minted(60),
            reuse_warning: usage.as_ref().and_then(|u| {
                reuse_warning(minted(60), u.scope_sets_in_last_hour(now), token_ttl_secs)
            }),
        }
    }

    pub async fn list(&self, by: &Principal, project_id: &str) -> Result<Vec<Client>> {
        let project = self.project_row(by, project_id).await?;
        let now = self.clock.now();
        Ok(
            store::clients::list_for_project(&self.db, &by.account_id, project_id)
                .await?
                .into_iter()
                .map(|row| {
                    self.client_view(
                        row,
                        project.archived_at.is_some(),
                        project.token_ttl_secs,
                        now,
                    )
                })
                .collect(),
        )
    }

    /// Checks a scope selection against the project's API; sorted, unique.
    fn checked_scopes(&self, api_id: &str, scopes: &[String]) -> Result<Vec<String>> {
        let api = self
            .catalogue
            .api(api_id)
            .ok_or_else(|| Error::Setup(format!("api {api_id:?} is not in scopes.toml")))?;
        let mut out: Vec<String> = Vec::new();
        for s in scopes {
            if api.scope(s).is_none() {
                // A scope of another API is well formed, but not for this
                // project: the project's API decides (409, not 422).
                let elsewhere = self.catalogue.scope_names().any(|n| n == s);
                let message = format!("{s:?} is not a scope of the {}.", api.name);
                return Err(if elsewhere {
                    Error::Conflict {
                        field: "scopes",
                        message,
                    }
                } else {
                    Error::invalid("scopes", message)
                });
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
    pub async fn create(
        &self,
        by: &Principal,
        project_id: &str,
        name: &str,
        scopes: &[String],
        expires_in_hours: &str,
    ) -> Result<(Client, ClientSecret)> {
        require_manager(by)?;
        let hours = match expires_in_hours.trim() {
            "" => None,
            h => Some(validate::number_in(
                "expires_in_hours",
                h,
                TEMPORARY_HOURS,
                "hours",
            )?),
        };
        let project = self.project_row(by, project_id).await?;
        crate::manage::require_owner_for(by, &project.api_id)?;
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
        let now = self.clock.now();
        let mut tx = self
            .room_for_a_client(by, project_id, hours.is_some(), now)
            .await?;
        let (row, secret) =
            self.new_client_row(by, &project.id, name, scopes, hours.map(|h| now + h * 3600));
        let detail = match row.expires_at {
            Some(at) => format!(
                "{:?} with {}; temporary, expires {}",
                row.name,
                row.scopes,
                crate::calendar::date_time(at)
            ),
            None => format!("{:?} with {}", row.name, row.scopes),
        };
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
                    "client.create",
                    ("client", &row.id),
                    Some(&row.project_id),
                    detail,
                ),
                (ChangeKind::Client, &row.id),
            )
            .await?;
        tracing::Span::current().record("client_id", row.id.as_str());
        tracing::info!(scopes = %row.scopes, expires_at = ?row.expires_at, "client created");
        Ok((self.client_view(row, false, 3600, now), secret))
    }

    /// A transaction holding the project's lock, if it is live and has room
    /// for one more live client of this kind: two creations racing for the
    /// last place cannot both pass the count.
    async fn room_for_a_client(
        &self,
        by: &Principal,
        project_id: &str,
        temporary: bool,
        now: Epoch,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.db.begin().await?;
        if !store::projects::lock_live(&mut *tx, &by.account_id, project_id).await? {
            return Err(Error::conflict(
                "This project is archived: it cannot get new clients.",
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
    /// the keyed hash).
    fn new_client_row(
        &self,
        by: &Principal,
        project_id: &str,
        name: String,
        scopes: Vec<String>,
        expires_at: Option<Epoch>,
    ) -> (ClientRow, ClientSecret) {
        let secret = ClientSecret::generate();
        let row = ClientRow {
            id: new_id("pcl"),
            account_id: by.account_id.clone(),
            project_id: project_id.to_owned(),
            name,
            secret_hash: hex::encode(self.master.secret_hash(secret.expose())),
            scopes: scopes.join(" "),
            created_at: self.clock.now(),
            last_used_at: None,
            disabled_at: None,
            disabled_reason: None,
            expires_at,
            retire_at: None,
            revoked_before: None,
        };
        (row, secret)
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
    pub async fn narrow(
        &self,
        by: &Principal,
        client_id: &str,
        scopes: &[String],
    ) -> Result<Client> {
        require_manager(by)?;
        let row = self.client_row(by, client_id).await?;
        let project = self.project_row(by, &row.project_id).await?;
        if row.disabled_at.is_some() {
            return Err(Error::conflict("This client is retired or revoked."));
        }
        let current = split_scopes(&row.scopes);
        let wanted = self.checked_scopes(&project.api_id, scopes)?;
        // Both depend on what the client holds now: 409.
        if let Some(extra) = wanted.iter().find(|s| !current.contains(s)) {
            return Err(Error::Conflict {
                field: "scopes",
                message: format!(
                    "A live client's scopes can only be narrowed, and this client does not have {extra:?}. \
                     Create a new purpose-scoped client for it instead."
                ),
            });
        }
        if wanted == current {
            return Err(Error::Conflict {
                field: "scopes",
                message: "Nothing to change: untick the scopes this client should lose.".into(),
            });
        }
        let scopes = wanted.join(" ");
        let mut tx = self.db.begin().await?;
        // Only from the scopes read above, and only while live.
        if !store::clients::set_scopes(&mut *tx, &by.account_id, client_id, &row.scopes, &scopes)
            .await?
        {
            return Err(match self.client_row(by, client_id).await? {
                now if now.disabled_at.is_some() => Error::conflict(
                    "This client was retired or revoked meanwhile: it cannot be narrowed.",
                ),
                _ => Error::Conflict {
                    field: "scopes",
                    message: "This client's scopes changed meanwhile. Reload and try again.".into(),
                },
            });
        }
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "client.narrow",
                    ("client", client_id),
                    Some(&row.project_id),
                    format!("scopes {} narrowed to {scopes}", row.scopes),
                ),
                (ChangeKind::Client, client_id),
            )
            .await?;
        tracing::info!(from = %row.scopes, to = %scopes, "client narrowed");
        let row = self.client_row(by, client_id).await?;
        Ok(self.client_view(
            row,
            project.archived_at.is_some(),
            project.token_ttl_secs,
            self.clock.now(),
        ))
    }

    /// A token for trying the API from the console: the token endpoint's own
    /// minting, for a client of the caller's account.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn test_token(
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
                Error::InvalidClient => Error::conflict("This client cannot get tokens: it is disabled, expired or its project is archived.",
                ),
                Error::InvalidScope(m) => Error::invalid("scopes", m),
                other => other,
            })?;
        tracing::info!(jti = %minted.claims.jti, "test token minted from the console");
        self.audit(audit::Event::by(
            by,
            "client.test_token",
            ("client", client_id),
            Some(&row.project_id),
            format!(
                "test token with {} (jti {})",
                minted.claims.scope, minted.claims.jti
            ),
        ))
        .await;
        Ok(minted)
    }

    /// Starts a rotation: a second client with exactly the same scopes. Both
    /// work until the old one is retired.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn rotate(&self, by: &Principal, client_id: &str) -> Result<(Client, ClientSecret)> {
        require_manager(by)?;
        let old = self.client_row(by, client_id).await?;
        let project = self.project_row(by, &old.project_id).await?;
        crate::manage::require_owner_for(by, &project.api_id)?;
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
        let mut tx = self.room_for_a_client(by, &project.id, false, now).await?;
        let name = format!(
            "{} (rotated {})",
            old.name.split(" (rotated").next().unwrap_or(&old.name),
            crate::calendar::date(now)
        );
        let name: String = name.chars().take(CLIENT_NAME_MAX).collect();
        let (row, secret) =
            self.new_client_row(by, &project.id, name, split_scopes(&old.scopes), None);
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
        Ok((self.client_view(row, false, 3600, now), secret))
    }

    /// Retires a client now (`at` empty or past) or at `at`. Once retired,
    /// the token endpoint refuses it and every token it minted is refused
    /// by the gate and by introspection at once.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn retire(
        &self,
        by: &Principal,
        client_id: &str,
        at: Option<Epoch>,
    ) -> Result<Client> {
        require_manager(by)?;
        let row = self.client_row(by, client_id).await?;
        if row.disabled_at.is_some() {
            return Err(already_disabled());
        }
        let now = self.clock.now();
        match at.filter(|at| *at > now) {
            Some(at) => {
                if at > now + 90 * 86_400 {
                    return Err(Error::invalid(
                        "retire_at",
                        "Schedule retirement within 90 days.",
                    ));
                }
                let mut tx = self.db.begin().await?;
                if !store::clients::schedule_retirement(
                    &mut *tx,
                    &by.account_id,
                    client_id,
                    Some(at),
                )
                .await?
                {
                    return Err(already_disabled());
                }
                self.feed
                    .commit_audited(
                        tx,
                        audit::Event::by(
                            by,
                            "client.retire_scheduled",
                            ("client", client_id),
                            Some(&row.project_id),
                            format!("to retire at {}", crate::calendar::date_time(at)),
                        ),
                        (ChangeKind::Client, client_id),
                    )
                    .await?;
                tracing::info!(at, "client retirement scheduled");
            }
            None => {
                let reason = format!("Retired by {}", by.email);
                let used = row.last_used_at.max(
                    self.registry
                        .client(&row.id)
                        .and_then(|c| c.usage.last_used()),
                );
                let detail = match used {
                    Some(t) if now - t < RECENT_USE_SECS => {
                        format!("retired; last used {} s before", now - t)
                    }
                    _ => "retired".to_owned(),
                };
                let mut tx = self.db.begin().await?;
                if !store::clients::disable(&mut *tx, &by.account_id, client_id, now, &reason)
                    .await?
                {
                    return Err(already_disabled());
                }
                self.feed
                    .commit_audited(
                        tx,
                        audit::Event::by(
                            by,
                            "client.retire",
                            ("client", client_id),
                            Some(&row.project_id),
                            detail,
                        ),
                        (ChangeKind::Client, client_id),
                    )
                    .await?;
                tracing::info!(client_id, "client retired");
            }
        }
        let row = self.client_row(by, client_id).await?;
        let project = self.project_row(by, &row.project_id).await?;
        Ok(self.client_view(
            row,
            project.archived_at.is_some(),
            project.token_ttl_secs,
            now,
        ))
    }

    /// Cancels a scheduled retirement.
    pub async fn keep(&self, by: &Principal, client_id: &str) -> Result<()> {
        require_manager(by)?;
        let row = self.client_row(by, client_id).await?;
        let mut tx = self.db.begin().await?;
        if !store::clients::schedule_retirement(&mut *tx, &by.account_id, &row.id, None).await? {
            return Err(already_disabled());
        }
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "client.retire_cancelled",
                    ("client", client_id),
                    Some(&row.project_id),
                    "scheduled retirement cancelled".into(),
                ),
                (ChangeKind::Client, client_id),
            )
            .await
    }

    /// Disables `row` now with `reason`, writing `event` in the same
    /// transaction. False (and nothing written) when it was disabled
    /// already, by a racing request or another node.
    pub(crate) async fn disable_client_row(
        &self,
        row: &ClientRow,
        now: Epoch,
        reason: &str,
        event: audit::Event<'_>,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        if !store::clients::disable(&mut *tx, &row.account_id, &row.id, now, reason).await? {
            return Ok(false);
        }
        self.feed
            .commit_audited(tx, event, (ChangeKind::Client, &row.id))
            .await?;
        tracing::info!(client_id = %row.id, reason, "client disabled");
        Ok(true)
    }

    /// Retires every client whose scheduled time has come; run by the
    /// server's housekeeping (on every node: each client is retired once).
    /// Returns how many.
    pub async fn retire_due(&self) -> Result<usize> {
        let now = self.clock.now();
        let due = store::clients::due_for_retirement(&self.db, now).await?;
        let mut retired = 0;
        for row in &due {
            let event = audit::Event {
                account_id: &row.account_id,
                actor: audit::Actor::System,
                action: "client.retire",
                target_kind: "client",
                target_id: &row.id,
                project_id: Some(&row.project_id),
                client_ip: None,
                detail: "retired as scheduled".into(),
            };
            let mut tx = self.db.begin().await?;
            // Cancelled (or retired otherwise) since it was found: leave it.
            if !store::clients::retire_if_due(&mut *tx, &row.account_id, &row.id, now).await? {
                continue;
            }
            self.feed
                .commit_audited(tx, event, (ChangeKind::Client, &row.id))
                .await?;
            tracing::info!(client_id = %row.id, "client retired as scheduled");
            retired += 1;
        }
        Ok(retired)
    }

    /// Writes a `client.expire` event for each temporary client that has
    /// expired since the last run; run by the server's housekeeping. The
    /// marking, the events and the feed entries commit together.
    pub async fn log_expiries(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let expired = store::clients::take_newly_expired(&mut *tx, now).await?;
        if expired.is_empty() {
            return Ok(0);
        }
        for (id, account_id, project_id, name) in &expired {
            let event = audit::Event {
                account_id,
                actor: audit::Actor::System,
                action: "client.expire",
                target_kind: "client",
                target_id: id,
                project_id: Some(project_id),
                client_ip: None,
                detail: format!("temporary client {name:?} expired"),
            };
            crate::webhooks::outbox::record_and_tell(&mut tx, event, id, now).await?;
        }
        let changes: Vec<(ChangeKind, &str)> = expired
            .iter()
            .map(|(id, ..)| (ChangeKind::Client, id.as_str()))
            .collect();
        self.feed.commit(tx, &changes).await?;
        Ok(expired.len())
    }

    /// Deletes a client that can no longer get tokens (expired, retired or
    /// revoked). Live clients are retired first, never deleted.
    pub async fn delete(&self, by: &Principal, client_id: &str) -> Result<()> {
        require_manager(by)?;
        let row = self.client_row(by, client_id).await?;
        let now = self.clock.now();
        let dead = row.disabled_at.is_some() || row.expires_at.is_some_and(|at| at <= now);
        if !dead {
            return Err(Error::conflict(
                "Only expired or retired clients can be deleted; retire this one first.",
            ));
        }
        let mut tx = self.db.begin().await?;
        if !store::clients::delete(&mut tx, &by.account_id, client_id).await? {
            return Err(Error::NotFound);
        }
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "client.delete",
                    ("client", client_id),
                    Some(&row.project_id),
                    format!("{:?} deleted", row.name),
                ),
                (ChangeKind::Client, client_id),
            )
            .await?;
        tracing::info!("client deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::reuse_warning;

    #[test]
    fn only_a_client_that_does_not_reuse_tokens_is_warned() {
        // One token per call, an hour-long lifetime: warned, in words.
        let w = reuse_warning(1240, 1, 3600).unwrap();
        assert!(
            w.starts_with("Minted 1240 tokens in the last hour with a 1-hour lifetime"),
            "{w}"
        );
        // Ten instances each minting once an hour: fine.
        assert_eq!(reuse_warning(10, 1, 3600), None);
        // Five-minute tokens: 12 lifetimes an hour, so 100 is about 8 each.
        assert_eq!(reuse_warning(100, 1, 300), None);
        assert!(reuse_warning(200, 1, 300).is_some());
        // Many scope sets explain many tokens.
        assert_eq!(reuse_warning(300, 30, 3600), None);
        // Too few tokens to say anything.
        assert_eq!(reuse_warning(19, 1, 3600), None);
    }
}
