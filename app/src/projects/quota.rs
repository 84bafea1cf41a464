//! The project's daily token quota, as a developer sets it (a plain form;
//! enforced at the token endpoint by `portcullis_core::quotas`).

use leptos::prelude::*;

use crate::error::ConsoleError;

#[server(endpoint = "project_quota")]
pub async fn set_project_quota(
    id: String,
    #[server(default)] daily_token_quota: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let quota = match daily_token_quota.trim() {
            "" => None,
            q => Some(q.parse::<i64>().map_err(|_| {
                ConsoleError::from(portcullis_core::Error::invalid(
                    "daily_token_quota",
                    "a whole number of tokens a day, or empty for none",
                ))
            })?),
        };
        state.projects.set_quota(p.manager()?, &id, quota).await?;
        Ok(())
    })
    .await
}
