//! OAuth clients of a project: created with a scope checklist and a secret
//! shown once, narrowed (never widened), and used to mint test tokens from
//! the console through the same [`Issuer::mint`](crate::issuer::Issuer::mint)
//! as the token endpoint.

use std::sync::Arc;

use crate::access::{Manager, Principal};
use crate::audit;
use crate::catalogue::Catalogue;
use crate::client_keys::{ClientKeys, KeySummary, KeysInput};
use crate::clock::{Clock, Epoch, Secs};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::feed::{ChangeKind, Feed};
use crate::ids::new_id;
use crate::issuer::{Issuer, Minted};
use crate::master_key::MasterKey;
use crate::registry::{split_scopes, Registry};
use crate::store;
use crate::store::clients::ClientRow;
use crate::store::projects::ProjectRow;
use crate::usage_totals::RecentMints;
use crate::validate;
use crate::webhooks::Targets;
use crate::workload_identity::WorkloadTrust;

pub const CLIENT_NAME_MAX: usize = 60;
/// Long-lived clients per project: one, and its successor during a rotation.
pub const LIVE_CLIENTS_PER_PROJECT_MAX: usize = 2;
/// Temporary (purpose-scoped, expiring) clients live beside those.
pub const TEMPORARY_CLIENTS_PER_PROJECT_MAX: usize = 10;
/// Clients one account may hold, retired and expired ones included until
/// they are deleted: every node and gate holds each in memory.
pub const CLIENTS_PER_ACCOUNT_MAX: i64 = 5_000;
/// A temporary client lives from 1 hour to 30 days.
pub const TEMPORARY_HOURS: std::ops::RangeInclusive<i64> = 1..=720;
/// Retiring a client used this recently deserves a second look.
pub const RECENT_USE_SECS: Secs = 15 * 60;
/// How far ahead a retirement may be scheduled.
pub const RETIRE_WITHIN_SECS: Secs = 90 * 86_400;

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
    /// "Expires in 3 days", "Retires tomorrow": within 30 days.
    pub ends_soon: Option<String>,
    /// Unused long enough to be retired: when, unless it is used.
    pub dormant_notice: Option<String>,
    /// A `private_key_jwt` client's public keys; `None` for a secret client.
    pub keys: Option<Vec<KeySummary>>,
    /// A `private_key_jwt` client whose keys the partner hosts here.
    pub jwks_uri: Option<String>,
    /// A workload identity client's trust.
    pub workload: Option<WorkloadTrust>,
    /// The workload that signed in last (issuer, sub, matched claims).
    pub last_workload: Option<String>,
}

impl Client {
    /// How it authenticates: `client_secret`, `private_key_jwt` or
    /// `workload_identity`.
    pub fn auth_method(&self) -> &'static str {
        match (&self.workload, &self.keys) {
            (Some(_), _) => store::clients::AUTH_WORKLOAD,
            (None, Some(_)) => store::clients::AUTH_PRIVATE_KEY_JWT,
            (None, None) => store::clients::AUTH_SECRET,
        }
    }
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
    pub(crate) key_targets: Targets,
}

/// What a key client stores: pasted keys (a JWK Set as JSON) or the URL of
/// the partner's JWK Set.
#[derive(Default)]
pub(crate) struct StoredKeys {
    public_keys: Option<String>,
    jwks_uri: Option<String>,
    workload_trust: Option<String>,
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
            key_targets: Targets::default(),
        }
    }

    /// Where `jwks_uri`s may point (the operator's outbound setting).
    pub fn with_key_targets(mut self, targets: Targets) -> Self {
        self.key_targets = targets;
        self
    }

    pub fn key_targets(&self) -> Targets {
        self.key_targets
    }

    /// The caller's account's project `id`.
    async fn project_row(&self, by: &Principal, id: &str) -> Result<ProjectRow> {
        store::projects::get(&self.db, &by.account_id, id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Commits `tx`, a change to `client_id`, with its audit row (`action`
    /// by `by`), the webhook messages it tells and its change-feed entry.
    async fn commit_client(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
        by: &Principal,
        action: &'static str,
        client_id: &str,
        project_id: &str,
        detail: String,
    ) -> Result<()> {
        let event = audit::Event::by(by, action, ("client", client_id), Some(project_id), detail);
        self.feed
            .commit_audited(tx, event, (ChangeKind::Client, client_id))
            .await
    }

    /// Appends to the account's audit log outside any change; a failed
    /// write is logged, the action (already done) stands.
    async fn audit(&self, event: audit::Event<'_>) {
        audit::record_or_log(&self.db, event, self.clock.now()).await;
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

    async fn client_row(&self, by: &Principal, client_id: &str) -> Result<ClientRow> {
        store::clients::get(&self.db, &by.account_id, client_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// A client of the caller's account that `by` may change, and its
    /// project. A management client's standing, scopes and tokens are its
    /// owner's alone: its tokens act as the account (a developer could
    /// otherwise take over its webhooks).
    async fn client_to_change(
        &self,
        by: Manager<'_>,
        client_id: &str,
    ) -> Result<(ClientRow, ProjectRow)> {
        let row = self.client_row(&by, client_id).await?;
        let project = self.project_row(&by, &row.project_id).await?;
        by.owner_of(&project.api_id)?;
        Ok((row, project))
    }
}

mod create;
mod keys;
mod narrow;
mod notices;
mod retire;
mod view;

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
