//! Projects and their OAuth clients: the console's server functions (thin
//! shells over `portcullis_core::Projects`) and the wire types.

pub mod model;

use leptos::prelude::*;

use crate::error::ConsoleError;
pub use model::*;

mod clients;
#[cfg(feature = "ssr")]
mod convert;
mod dormancy;
mod quota;
pub use clients::*;
pub use dormancy::*;
pub use quota::*;

#[server(endpoint = "projects")]
pub async fn list_projects() -> Result<ProjectsOverview, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let projects = state.projects.list_projects(&p).await?;
        let names: std::collections::HashMap<String, String> = projects
            .iter()
            .map(|s| (s.project.id.clone(), s.project.name.clone()))
            .collect();
        Ok(ProjectsOverview {
            projects: projects
                .into_iter()
                .map(|s| convert::project(&state, s.project, s.live_clients, s.secret_clients))
                .collect(),
            // Only owners make management clients: others are not offered it.
            apis: state
                .catalogue
                .apis()
                .iter()
                .filter(|a| {
                    a.id != portcullis_core::manage::API_ID
                        || p.role() == portcullis_core::Role::Owner
                })
                .map(|a| convert::api(&state, a))
                .collect(),
            can_manage: p.role().can_manage_credentials(),
            token_ttl_default: portcullis_core::projects::TOKEN_TTL_DEFAULT,
            ending_this_week: convert::ending(
                state.lifecycle.ending_soon(&p, 7).await?,
                &names,
                state.accounts.clock().now(),
            ),
            account_dormancy: state.lifecycle.account(p.account_id()).await?,
            is_owner: p.role() == portcullis_core::Role::Owner,
        })
    })
    .await
}

#[server(endpoint = "project_create")]
pub async fn create_project(
    #[server(default)] name: String,
    #[server(default)] description: String,
    #[server(default)] api_id: String,
    #[server(default)] token_ttl_secs: String,
) -> Result<String, ConsoleError> {
    use crate::ssr;
    use portcullis_core::projects::NewProject;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let by = p.manager()?;
        let token_ttl_secs = optional_ttl(&token_ttl_secs)?;
        let project = state
            .projects
            .create_project(
                by,
                NewProject {
                    name,
                    description,
                    api_id,
                    token_ttl_secs,
                },
            )
            .await?;
        leptos_axum::redirect(&format!("/projects/{}", project.id));
        Ok(project.id)
    })
    .await
}

#[server(endpoint = "project")]
pub async fn get_project(id: String) -> Result<ProjectDetail, ConsoleError> {
    crate::ssr::respond(project_detail(id)).await
}

/// [`get_project`] for a page following changes (`crate::live`): the same
/// answer, but the role-table edge does not count it as activity, so an
/// open tab that nobody looks at does not keep its session alive.
#[server(endpoint = "project_refresh")]
pub async fn project_refresh(id: String) -> Result<ProjectDetail, ConsoleError> {
    crate::ssr::respond(project_detail(id)).await
}

#[cfg(feature = "ssr")]
async fn project_detail(id: String) -> Result<ProjectDetail, ConsoleError> {
    use crate::ssr;
    {
        let (state, p) = ssr::require_principal().await?;
        let project = state.projects.project(&p, &id).await?;
        let clients = state.clients.list(&p, &id).await?;
        let live = clients
            .iter()
            .filter(|c| c.status == portcullis_core::clients::ClientStatus::Active)
            .count() as i64;
        let secrets = clients
            .iter()
            .filter(|c| c.status == portcullis_core::clients::ClientStatus::Active)
            .filter(|c| c.auth_method() == portcullis_core::store::clients::AUTH_SECRET)
            .count() as i64;
        let api = state
            .catalogue
            .api(&project.api_id)
            .map(|a| convert::api(&state, a))
            .ok_or(ConsoleError::Internal)?;
        // Most clients were never cut off: one query finds those that were.
        let cut_off = state.reach.cut_off_clients(&p).await?;
        let mut infos = Vec::with_capacity(clients.len());
        for c in clients {
            let mut info = convert::client(c);
            if cut_off.contains(&info.id) {
                let by = crate::reach::Asker::Member(&p);
                info.cut_off = crate::reach::cut_off(&state, by, &info.id)
                    .await?
                    .map(|c| c.summary());
            }
            infos.push(info);
        }
        Ok(ProjectDetail {
            project: convert::project(&state, project, live, secrets),
            api,
            clients: infos,
            can_manage: p.role().can_manage_credentials(),
            token_endpoint: format!("{}/oauth/token", state.public_base),
            now: state.accounts.clock().now(),
            traffic: convert::last_hour(
                &state
                    .usage
                    .project_last(&p, &id, portcullis_core::usage_totals::Span::Minute, 60)
                    .await?,
            ),
            account_dormancy: state.lifecycle.account(p.account_id()).await?,
            tokens_today: convert::tokens_today(&state, &p, &id).await?,
        })
    }
}

#[server(endpoint = "project_update")]
pub async fn update_project(
    id: String,
    #[server(default)] name: String,
    #[server(default)] description: String,
    #[server(default)] token_ttl_secs: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::projects::{ProjectChange, TOKEN_TTL_DEFAULT};
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let by = p.manager()?;
        // The form holds every field; an empty lifetime is the default.
        let token_ttl_secs = optional_ttl(&token_ttl_secs)?.unwrap_or(TOKEN_TTL_DEFAULT);
        state
            .projects
            .update_project(
                by,
                &id,
                ProjectChange {
                    name: Some(name),
                    description: Some(description),
                    token_ttl_secs: Some(token_ttl_secs),
                },
            )
            .await?;
        Ok(())
    })
    .await
}

/// Turns "keys only" on (no secrets, DPoP-bound tokens) or off.
#[server(endpoint = "project_keys_only")]
pub async fn set_keys_only(
    id: String,
    #[server(default)] keys_only: bool,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state
            .projects
            .set_keys_only(p.manager()?, &id, keys_only)
            .await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "project_rate_limit")]
pub async fn set_rate_limit(
    id: String,
    #[server(default)] rate_per_sec: String,
    #[server(default)] rate_burst: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::limits::{Limit, LIMIT_RANGE};
    use portcullis_core::validate::number_in;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let by = p.manager()?;
        let limit = Limit {
            per_sec: number_in(
                "rate_per_sec",
                &rate_per_sec,
                LIMIT_RANGE,
                "requests per second",
            )?,
            burst: number_in("rate_burst", &rate_burst, LIMIT_RANGE, "requests")?,
        };
        state.projects.set_rate_limit(by, &id, limit).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "project_archive")]
pub async fn archive_project(id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state.projects.archive_project(p.manager()?, &id).await?;
        Ok(())
    })
    .await
}

/// A token lifetime as the project form holds it: empty is the default.
#[cfg(feature = "ssr")]
fn optional_ttl(raw: &str) -> Result<Option<i64>, portcullis_core::Error> {
    use portcullis_core::projects::TOKEN_TTL_RANGE;
    portcullis_core::validate::optional_number_in("token_ttl_secs", raw, TOKEN_TTL_RANGE, "seconds")
}
