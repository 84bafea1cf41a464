//! A client as the console and the management API show it: its row, its
//! use on every node, and what its card says of its end.

use super::*;

impl Clients {
    /// Tokens each client of the project minted lately, on every node.
    pub(super) async fn recent_mints(
        &self,
        account_id: &str,
        project_id: &str,
        now: Epoch,
    ) -> Result<std::collections::HashMap<String, RecentMints>> {
        crate::usage_totals::recent_mints(
            &self.db,
            self.issuer.usage(),
            account_id,
            project_id,
            now,
        )
        .await
    }

    /// The dormancy warnings standing for the project's clients.
    pub(super) async fn dormant_warnings(
        &self,
        account_id: &str,
        project_id: &str,
    ) -> Result<Vec<(String, Epoch, Epoch)>> {
        store::lifecycle::dormant_notices(&self.db, account_id, project_id).await
    }

    /// One client as [`Clients::list`] shows it.
    pub(super) async fn view_of(
        &self,
        account_id: &str,
        row: ClientRow,
        project: &ProjectRow,
    ) -> Result<Client> {
        let now = self.clock.now();
        let recent = self
            .recent_mints(account_id, &row.project_id, now)
            .await?
            .remove(&row.id)
            .unwrap_or_default();
        let warned = self.dormant_warnings(account_id, &row.project_id).await?;
        let warned_at = notices::warned_for(&warned, &row);
        Ok(self.client_view(
            row,
            project.archived_at.is_some(),
            project.token_ttl_secs,
            recent,
            warned_at,
            now,
        ))
    }

    pub(super) fn client_view(
        &self,
        row: ClientRow,
        project_archived: bool,
        token_ttl_secs: i64,
        recent: RecentMints,
        dormant_warned_at: Option<Epoch>,
        now: Epoch,
    ) -> Client {
        let usage = self.registry.client(&row.id).map(|c| c.usage.clone());
        // Memory is ahead of the database between flushes.
        let last_used_at = usage
            .as_ref()
            .and_then(|u| u.last_used())
            .max(row.last_used_at);
        let status = ClientStatus::of(row.disabled_at, row.expires_at, project_archived, now);
        let keys = match (&row.public_keys, &row.jwks_uri) {
            (Some(json), _) => Some(
                ClientKeys::from_stored(json)
                    .map(|k| k.summaries())
                    .unwrap_or_default(),
            ),
            (None, Some(_)) => Some(Vec::new()),
            (None, None) => None,
        };
        let workload = row
            .workload_trust
            .as_deref()
            .and_then(|json| WorkloadTrust::from_stored(json).ok());
        let last_workload = usage
            .as_ref()
            .and_then(|u| u.last_workload())
            .or_else(|| row.last_workload.clone());
        let ends_soon = notices::ends_soon(row.expires_at, row.retire_at, row.disabled_at, now);
        let dormant_notice = dormant_warned_at.map(|sent| {
            format!(
                "Unused for a while: retired on {} unless it is used before then.",
                crate::calendar::date(sent + crate::store::lifecycle::DORMANT_NOTICE_DAYS * 86_400)
            )
        });
        Client {
            ends_soon,
            dormant_notice,
            keys,
            workload,
            last_workload,
            jwks_uri: row.jwks_uri.clone(),
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
            minted_last_5m: recent.last_5m,
            minted_last_hour: recent.last_hour,
            reuse_warning: usage.as_ref().and_then(|u| {
                reuse_warning(
                    recent.last_hour,
                    u.scope_sets_in_last_hour(now),
                    token_ttl_secs,
                )
            }),
        }
    }

    pub async fn list(&self, by: &Principal, project_id: &str) -> Result<Vec<Client>> {
        let project = self.project_row(by, project_id).await?;
        let now = self.clock.now();
        let recent = self.recent_mints(&by.account_id, project_id, now).await?;
        let warned = self.dormant_warnings(&by.account_id, project_id).await?;
        Ok(
            store::clients::list_for_project(&self.db, &by.account_id, project_id)
                .await?
                .into_iter()
                .map(|row| {
                    let mints = recent.get(&row.id).copied().unwrap_or_default();
                    let warned_at = notices::warned_for(&warned, &row);
                    self.client_view(
                        row,
                        project.archived_at.is_some(),
                        project.token_ttl_secs,
                        mints,
                        warned_at,
                        now,
                    )
                })
                .collect(),
        )
    }
}
