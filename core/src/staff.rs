//! What support staff can do across tenants: find clients by id, or by
//! account or project name, see their metadata (never secrets or token
//! contents), and revoke a client with a reason the account sees.

use crate::access::Support;
use crate::audit;
use crate::clients::Clients;
use crate::clients::{already_disabled, ClientStatus};
use crate::error::{Error, Result};
use crate::store;
use crate::store::staff::FoundClient;
use crate::validate;

pub const REASON_MAX: usize = 300;
const RESULTS_MAX: i64 = 50;

#[derive(Debug, Clone)]
pub struct Found {
    pub client: FoundClient,
    pub status: ClientStatus,
}

impl Clients {
    /// A client id (`pcl_…`) finds that client; anything else searches
    /// account and project names.
    pub async fn support_search(&self, _by: Support<'_>, query: &str) -> Result<Vec<Found>> {
        let q = query.trim();
        if q.chars().count() < 2 || q.chars().count() > 100 {
            return Err(Error::invalid("query", "Search with 2 to 100 characters: a client id, or part of an account or project name."));
        }
        let rows = if q.starts_with("pcl_") {
            store::staff::client(&self.db, q)
                .await?
                .into_iter()
                .collect()
        } else {
            store::staff::clients_by_name(&self.db, &q.to_lowercase(), RESULTS_MAX).await?
        };
        let now = self.clock.now();
        Ok(rows
            .into_iter()
            .map(|c| {
                let archived = self
                    .registry
                    .project(&c.project_id)
                    .is_some_and(|p| p.archived);
                let status = ClientStatus::of(c.disabled_at, c.expires_at, archived, now);
                Found { client: c, status }
            })
            .collect())
    }

    /// Accounts and projects by name, with their client counts.
    pub async fn support_find_projects(
        &self,
        _by: Support<'_>,
        query: &str,
    ) -> Result<Vec<store::staff::FoundProject>> {
        let q = query.trim();
        if q.starts_with("pcl_") || q.chars().count() < 2 {
            return Ok(Vec::new());
        }
        store::staff::projects_by_name(&self.db, &q.to_lowercase(), RESULTS_MAX).await
    }

    /// Revokes a client at once (token endpoint and gate); the account's
    /// owners see "Revoked by support: <reason>", and the account's audit
    /// log records the staff member.
    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    pub async fn support_revoke(
        &self,
        by: Support<'_>,
        client_id: &str,
        reason: &str,
    ) -> Result<()> {
        let by = by.staff();
        let reason = validate::name(
            "reason",
            reason,
            REASON_MAX,
            "the reason the account will see",
        )?;
        let found = store::staff::client(&self.db, client_id.trim())
            .await?
            .ok_or(Error::NotFound)?;
        let row = store::clients::get(&self.db, &found.account_id, &found.client_id)
            .await?
            .ok_or(Error::NotFound)?;
        if row.disabled_at.is_some() {
            return Err(already_disabled());
        }
        let now = self.clock.now();
        let shown = format!("Revoked by support: {reason}");
        let event = audit::Event {
            account_id: &found.account_id,
            actor: audit::Actor::Staff {
                id: by.user_id.clone(),
                email: by.email.clone(),
            },
            action: "client.revoke",
            target_kind: "client",
            target_id: &found.client_id,
            project_id: Some(&found.project_id),
            client_ip: None,
            detail: shown.clone(),
        };
        if !self.disable_client_row(&row, now, &shown, event).await? {
            return Err(already_disabled());
        }
        tracing::warn!(client_id = %found.client_id, staff_id = %by.user_id, "client revoked by support");
        Ok(())
    }
}
