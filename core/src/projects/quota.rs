//! A project's daily token quota: at most N tokens a UTC day, on all nodes
//! together (enforced by [`crate::quotas`] at the token endpoint).

use super::*;

/// The largest quota one may set.
pub const DAILY_TOKEN_QUOTA_MAX: i64 = 100_000_000;

impl Projects {
    /// Sets (`Some`) or removes (`None`) the project's daily token quota.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id = %id))]
    pub async fn set_quota(
        &self,
        by: Manager<'_>,
        id: &str,
        quota: Option<i64>,
    ) -> Result<Project> {
        let (manager, by) = (by, by.principal());
        if quota.is_some_and(|q| !(1..=DAILY_TOKEN_QUOTA_MAX).contains(&q)) {
            return Err(Error::invalid(
                "daily_token_quota",
                format!("1 to {DAILY_TOKEN_QUOTA_MAX} tokens a day, or none"),
            ));
        }
        let row = self.project_row(by, id).await?;
        manager.owner_of(&row.api_id)?;
        if row.archived_at.is_some() {
            return Err(Error::conflict("Archived projects cannot be changed."));
        }
        let mut tx = self.db.begin().await?;
        if !store::projects::set(
            &mut *tx,
            &by.account_id,
            id,
            store::projects::Setting::DailyTokenQuota,
            quota,
        )
        .await?
        {
            return Err(self.changed_meanwhile(by, id).await);
        }
        let detail = match quota {
            Some(q) => format!("daily token quota: {q} tokens (UTC days)"),
            None => "no daily token quota".to_owned(),
        };
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(by, "project.quota", ("project", id), Some(id), detail),
                (ChangeKind::Project, id),
            )
            .await?;
        self.project(by, id).await
    }
}
