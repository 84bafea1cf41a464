//! Retiring unused clients, as an owner or developer sets it: per project
//! (or following the account) and for the whole account. The sweeps that
//! warn and retire run in the server's housekeeping
//! (`portcullis_core::lifecycle`).

use leptos::prelude::*;

use crate::error::ConsoleError;

/// "" (as the account / never), "0" (never), "30", "60" or "90".
#[cfg(feature = "ssr")]
fn parse_days(days: &str) -> Result<Option<i64>, ConsoleError> {
    match days.trim() {
        "" => Ok(None),
        d => d.parse::<i64>().map(Some).map_err(|_| {
            ConsoleError::from(portcullis_core::Error::invalid(
                "dormant_after_days",
                "30, 60 or 90 days, or 0 for never",
            ))
        }),
    }
}

#[server(endpoint = "project_dormancy")]
pub async fn set_project_dormancy(
    id: String,
    #[server(default)] dormant_after_days: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let days = parse_days(&dormant_after_days)?;
        state.lifecycle.set_project(p.manager()?, &id, days).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "account_dormancy")]
pub async fn set_account_dormancy(
    #[server(default)] dormant_after_days: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let days = parse_days(&dormant_after_days)?;
        state.lifecycle.set_account(p.owner()?, days).await?;
        Ok(())
    })
    .await
}
