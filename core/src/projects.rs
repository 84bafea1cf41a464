//! Projects: one per integration, each with its own API (audience), token
//! lifetime and clients. Every operation takes the acting [`Principal`] and
//! touches only that principal's account.

use std::sync::Arc;

use crate::access::{Manager, Principal};
use crate::audit;
use crate::catalogue::Catalogue;
use crate::clock::{Clock, Epoch};
use crate::db::{is_unique_violation, Db};
use crate::error::{Error, Result};
use crate::feed::{ChangeKind, Feed};
use crate::ids::new_id;
use crate::limits::{self, Limit};
use crate::store;
use crate::store::projects::ProjectRow;
use crate::validate;

mod keys_only;
mod quota;
pub use quota::DAILY_TOKEN_QUOTA_MAX;

pub const PROJECT_NAME_MAX: usize = 80;
pub const DESCRIPTION_MAX: usize = 500;
pub const TOKEN_TTL_DEFAULT: i64 = 3600;
pub const TOKEN_TTL_RANGE: std::ops::RangeInclusive<i64> = 300..=86_400;
/// Projects one account may hold, archived ones included: every node and
/// gate holds each in memory, so one tenant must not grow them unbounded.
/// Generous for one project per integration.
pub const PROJECTS_PER_ACCOUNT_MAX: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: String,
    pub api_id: String,
    pub token_ttl_secs: i64,
    pub created_at: Epoch,
    pub archived_at: Option<Epoch>,
    pub rate_limit: Limit,
    /// Its clients hold no secrets and its tokens are DPoP-bound.
    pub keys_only: bool,
    /// Clients unused this many days are retired; `None` follows the
    /// account, 0 never (see [`crate::lifecycle`]).
    pub dormant_after_days: Option<i64>,
    /// Tokens a UTC day on all nodes together (see [`crate::quotas`]).
    pub daily_token_quota: Option<i64>,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            description: r.description,
            api_id: r.api_id,
            token_ttl_secs: r.token_ttl_secs,
            created_at: r.created_at,
            archived_at: r.archived_at,
            rate_limit: Limit {
                per_sec: r.rate_per_sec,
                burst: r.rate_burst,
            },
            keys_only: r.keys_only != 0,
            dormant_after_days: r.dormant_after_days,
            daily_token_quota: r.daily_token_quota,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectSummary {
    pub project: Project,
    pub live_clients: i64,
    /// Live clients that still hold a secret.
    pub secret_clients: i64,
}

/// A project to create. Each edge (console form, management API) parses
/// its own text; the rules (lengths, ranges) are checked here, once.
#[derive(Debug, Clone, Default)]
pub struct NewProject {
    pub name: String,
    pub description: String,
    pub api_id: String,
    /// Seconds a token lives; `None`: [`TOKEN_TTL_DEFAULT`].
    pub token_ttl_secs: Option<i64>,
}

/// A change to a project's settings: what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectChange {
    pub name: Option<String>,
    pub description: Option<String>,
    /// For tokens minted from now on.
    pub token_ttl_secs: Option<i64>,
}

/// An account's projects: create, list, rename, set the bucket, archive.
/// Their clients are [`crate::Clients`]'.
pub struct Projects {
    pub(crate) db: Db,
    pub(crate) feed: Arc<Feed>,
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Projects {
    /// The server's clock: what "now" is for a file's heading.
    pub fn now(&self) -> Epoch {
        self.clock.now()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn new(feed: Arc<Feed>, catalogue: Arc<Catalogue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            db: feed.db().clone(),
            feed,
            catalogue,
            clock,
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// `change` as the rules want it (names trimmed), or why not; checked
    /// before the project is read.
    fn check(change: ProjectChange) -> Result<ProjectChange> {
        let name = change
            .name
            .map(|n| validate::name("name", &n, PROJECT_NAME_MAX, "a project name"))
            .transpose()?;
        let description = change
            .description
            .map(|d| validate::description("description", &d, DESCRIPTION_MAX))
            .transpose()?;
        let token_ttl_secs = change
            .token_ttl_secs
            .map(|t| validate::in_range("token_ttl_secs", t, TOKEN_TTL_RANGE, "seconds"))
            .transpose()?;
        Ok(ProjectChange {
            name,
            description,
            token_ttl_secs,
        })
    }

    fn name_taken(name: &str) -> Error {
        Error::Conflict {
            field: "name",
            message: format!("You already have a project called {name:?}. Pick another name."),
        }
    }

    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id))]
    pub async fn create_project(&self, by: Manager<'_>, input: NewProject) -> Result<Project> {
        let (manager, by) = (by, by.principal());
        let checked = Self::check(ProjectChange {
            name: Some(input.name),
            description: Some(input.description),
            token_ttl_secs: input.token_ttl_secs,
        })?;
        let name = checked.name.unwrap_or_default();
        let description = checked.description.unwrap_or_default();
        let token_ttl_secs = checked.token_ttl_secs.unwrap_or(TOKEN_TTL_DEFAULT);
        let api = self.catalogue.api(input.api_id.trim()).ok_or_else(|| {
            Error::invalid("api_id", "Choose the API this project's tokens are for.")
        })?;
        manager.owner_for_management(&api.id)?;
        let row = ProjectRow {
            id: new_id("prj"),
            account_id: by.account_id.clone(),
            name,
            description,
            api_id: api.id.clone(),
            token_ttl_secs,
            created_at: self.clock.now(),
            archived_at: None,
            rate_per_sec: limits::DEFAULT_PER_SEC,
            rate_burst: limits::DEFAULT_BURST,
            keys_only: 0,
            dormant_after_days: None,
            daily_token_quota: None,
        };
        let mut tx = self.db.begin().await?;
        // Counted under the account's lock: two creations cannot both pass.
        if !store::accounts::lock(&mut *tx, &by.account_id).await? {
            return Err(Error::NotFound);
        }
        if store::projects::count(&mut *tx, &by.account_id).await? >= PROJECTS_PER_ACCOUNT_MAX {
            return Err(Error::conflict(format!(
                "An account can hold at most {PROJECTS_PER_ACCOUNT_MAX} projects, archived ones included. Ask support if you need more."
            )));
        }
        store::projects::insert(&mut *tx, &row).await.map_err(|e| {
            if is_unique_violation(&e) {
                Self::name_taken(&row.name)
            } else {
                e.into()
            }
        })?;
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "project.create",
                    ("project", &row.id),
                    Some(&row.id),
                    format!(
                        "{:?} for the {} (tokens live {} s)",
                        row.name, api.name, row.token_ttl_secs
                    ),
                ),
                (ChangeKind::Project, &row.id),
            )
            .await?;
        tracing::Span::current().record("project_id", row.id.as_str());
        tracing::info!("project created");
        Ok(row.into())
    }

    pub async fn list_projects(&self, by: &Principal) -> Result<Vec<ProjectSummary>> {
        let counts = store::clients::count_by_project(&self.db, &by.account_id).await?;
        let secrets = store::clients::secrets_by_project(&self.db, &by.account_id).await?;
        Ok(store::projects::list(&self.db, &by.account_id)
            .await?
            .into_iter()
            .map(|row| {
                let live_clients = counts
                    .iter()
                    .find(|(id, _)| *id == row.id)
                    .map_or(0, |(_, n)| *n);
                let secret_clients = secrets
                    .iter()
                    .find(|(id, _)| *id == row.id)
                    .map_or(0, |(_, n)| *n);
                ProjectSummary {
                    project: row.into(),
                    live_clients,
                    secret_clients,
                }
            })
            .collect())
    }

    pub(crate) async fn project_row(&self, by: &Principal, id: &str) -> Result<ProjectRow> {
        store::projects::get(&self.db, &by.account_id, id)
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn project(&self, by: &Principal, id: &str) -> Result<Project> {
        Ok(self.project_row(by, id).await?.into())
    }

    /// Renames, re-describes or changes the token lifetime (new tokens only);
    /// what `change` leaves out stays. Read, merged and written in one
    /// transaction under the project's lock, so two partial changes at once
    /// both land. The API of a project is fixed: its clients' scopes belong
    /// to it.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id = %id))]
    pub async fn update_project(
        &self,
        by: Manager<'_>,
        id: &str,
        change: ProjectChange,
    ) -> Result<Project> {
        let (manager, by) = (by, by.principal());
        let change = Self::check(change)?;
        let row = self.project_row(by, id).await?;
        manager.owner_of(&row.api_id)?;
        if row.archived_at.is_some() {
            return Err(Error::conflict("Archived projects cannot be changed."));
        }
        let mut tx = self.db.begin().await?;
        if !store::projects::lock_live(&mut *tx, &by.account_id, id).await? {
            // Archived (or gone) since it was read.
            return Err(self.changed_meanwhile(by, id).await);
        }
        let now = store::projects::get(&mut *tx, &by.account_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        let name = change.name.unwrap_or(now.name);
        let description = change.description.unwrap_or(now.description);
        let ttl = change.token_ttl_secs.unwrap_or(now.token_ttl_secs);
        let updated = store::projects::update_settings(
            &mut *tx,
            &by.account_id,
            id,
            &name,
            &description,
            ttl,
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Self::name_taken(&name)
            } else {
                e.into()
            }
        })?;
        if !updated {
            return Err(self.changed_meanwhile(by, id).await);
        }
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "project.update",
                    ("project", id),
                    Some(id),
                    format!("name {name:?}, token lifetime {ttl} s"),
                ),
                (ChangeKind::Project, id),
            )
            .await?;
        tracing::info!("project settings changed");
        self.project(by, id).await
    }

    /// Archives a project: its clients stop getting tokens and its tokens
    /// stop passing at once.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id = %id))]
    pub async fn archive_project(&self, by: Manager<'_>, id: &str) -> Result<Project> {
        let (manager, by) = (by, by.principal());
        let row = self.project_row(by, id).await?;
        manager.owner_of(&row.api_id)?;
        if row.archived_at.is_some() {
            return Ok(row.into());
        }
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if store::projects::archive(&mut *tx, &by.account_id, id, now).await? {
            self.feed
                .commit_audited(
                    tx,
                    audit::Event::by(
                        by,
                        "project.archive",
                        ("project", id),
                        Some(id),
                        format!("{:?} archived; its clients are disabled", row.name),
                    ),
                    (ChangeKind::Project, id),
                )
                .await?;
            tracing::info!("project archived");
        }
        // Archived by us or by a racing request: either way it is now.
        self.project(by, id).await
    }

    /// Sets the project's bucket; it applies to the next request.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id = %id))]
    pub async fn set_rate_limit(&self, by: Manager<'_>, id: &str, limit: Limit) -> Result<Project> {
        let (manager, by) = (by, by.principal());
        let per_sec = validate::in_range(
            "rate_per_sec",
            limit.per_sec,
            limits::LIMIT_RANGE,
            "requests per second",
        )?;
        let burst = validate::in_range("rate_burst", limit.burst, limits::LIMIT_RANGE, "requests")?;
        if burst < per_sec {
            return Err(Error::invalid(
                "rate_burst",
                "Make the burst at least the rate per second, or a busy second is always cut short.",
            ));
        }
        let row = self.project_row(by, id).await?;
        manager.owner_of(&row.api_id)?;
        if row.archived_at.is_some() {
            return Err(Error::conflict("Archived projects cannot be changed."));
        }
        let mut tx = self.db.begin().await?;
        if !store::projects::set_rate_limit(&mut *tx, &by.account_id, id, per_sec, burst).await? {
            return Err(self.changed_meanwhile(by, id).await);
        }
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "project.rate_limit",
                    ("project", id),
                    Some(id),
                    format!("{per_sec} requests per second, bursts of {burst}"),
                ),
                (ChangeKind::Project, id),
            )
            .await?;
        tracing::info!(per_sec, burst, "rate limit changed");
        self.project(by, id).await
    }

    /// Why a guarded update of project `id` changed no row.
    async fn changed_meanwhile(&self, by: &Principal, id: &str) -> Error {
        match self.project_row(by, id).await {
            Ok(row) if row.archived_at.is_some() => {
                Error::conflict("Archived projects cannot be changed.")
            }
            Ok(_) | Err(Error::NotFound) => Error::NotFound,
            Err(e) => e,
        }
    }
}
