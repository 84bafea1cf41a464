//! Projects and their OAuth clients: the console's server functions (thin
//! shells over `portcullis_core::Projects`) and the wire types.

pub mod model;

use leptos::prelude::*;

use crate::error::ConsoleError;
pub use model::*;

#[cfg(feature = "ssr")]
mod convert;
mod dormancy;
mod quota;
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
    use portcullis_core::ratelimit::{Limit, LIMIT_RANGE};
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

#[server(endpoint = "client_create")]
pub async fn create_client(
    project_id: String,
    #[server(default)] client_name: String,
    #[server(default)] scopes: Vec<String>,
    /// Empty: a long-lived client; else hours until it expires (1–720).
    #[server(default)]
    expires_in_hours: String,
    /// Both empty: a client with a secret; else its public key(s) or the
    /// URL of its JWK Set, and it authenticates with private_key_jwt.
    #[server(default)]
    public_keys: String,
    #[server(default)] jwks_uri: String,
    /// Set: a workload identity client (see [`WorkloadFields`]).
    #[server(default)]
    workload: Option<WorkloadFields>,
) -> Result<NewClient, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let by = p.manager()?;
        let expires_in_hours = portcullis_core::validate::optional_number_in(
            "expires_in_hours",
            &expires_in_hours,
            portcullis_core::clients::TEMPORARY_HOURS,
            "hours",
        )?;
        let trust = workload.as_ref().map(WorkloadFields::input);
        let keys = match &trust {
            Some(t) => Some(portcullis_core::client_keys::KeysInput::Workload(t)),
            None => keys_input(&public_keys, &jwks_uri),
        };
        if let Some(input) = keys {
            let client = state
                .clients
                .create_with_keys(
                    by,
                    &project_id,
                    &client_name,
                    &scopes,
                    expires_in_hours,
                    input,
                )
                .await?;
            return Ok(NewClient {
                client: convert::client(client),
                client_secret: None,
            });
        }
        let (client, secret) = state
            .clients
            .create(by, &project_id, &client_name, &scopes, expires_in_hours)
            .await?;
        Ok(NewClient {
            client: convert::client(client),
            client_secret: Some(secret.expose().to_owned()),
        })
    })
    .await
}

/// A token lifetime as the project form holds it: empty is the default.
#[cfg(feature = "ssr")]
fn optional_ttl(raw: &str) -> Result<Option<i64>, portcullis_core::Error> {
    use portcullis_core::projects::TOKEN_TTL_RANGE;
    portcullis_core::validate::optional_number_in("token_ttl_secs", raw, TOKEN_TTL_RANGE, "seconds")
}

/// The keys a form gave: a URL if one is typed, else the pasted keys.
#[cfg(feature = "ssr")]
fn keys_input<'a>(
    public_keys: &'a str,
    jwks_uri: &'a str,
) -> Option<portcullis_core::client_keys::KeysInput<'a>> {
    use portcullis_core::client_keys::KeysInput;
    match (public_keys.trim(), jwks_uri.trim()) {
        (_, uri) if !uri.is_empty() => Some(KeysInput::JwksUri(uri)),
        ("", _) => None,
        (keys, _) => Some(KeysInput::Pasted(keys)),
    }
}

/// Replaces a key client's public keys (one or two) or its JWK Set URL.
#[server(endpoint = "client_set_keys")]
pub async fn set_client_keys(
    client_id: String,
    #[server(default)] public_keys: String,
    #[server(default)] jwks_uri: String,
) -> Result<ClientInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let input = keys_input(&public_keys, &jwks_uri)
            .unwrap_or(portcullis_core::client_keys::KeysInput::Pasted(""));
        let client = state
            .clients
            .set_keys(p.manager()?, &client_id, input)
            .await?;
        Ok(convert::client(client))
    })
    .await
}

/// A workload identity trust as the console's form has it: a preset (it
/// only names the platform), the issuer or a pasted JWK Set, the audience,
/// and condition rows (claim, value or `*` pattern; rows without a value
/// are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WorkloadFields {
    pub preset: String,
    pub issuer: String,
    pub jwks: String,
    pub audience: String,
    pub claims: Vec<String>,
    pub values: Vec<String>,
}

#[cfg(feature = "ssr")]
impl WorkloadFields {
    fn input(&self) -> portcullis_core::workload_identity::TrustInput {
        portcullis_core::workload_identity::TrustInput {
            preset: self.preset.clone(),
            issuer: self.issuer.clone(),
            jwks: self.jwks.clone(),
            audience: self.audience.clone(),
            // A preset fills in claim names; a row left without a value
            // is one the partner does not use.
            conditions: self
                .claims
                .iter()
                .cloned()
                .zip(self.values.iter().cloned())
                .filter(|(_, value)| !value.trim().is_empty())
                .collect(),
        }
    }
}

/// Replaces a workload identity client's trust.
#[server(endpoint = "client_set_workload")]
pub async fn set_client_workload(
    client_id: String,
    #[server(default)] workload: WorkloadFields,
) -> Result<ClientInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let trust = workload.input();
        let client = state
            .clients
            .set_keys(
                p.manager()?,
                &client_id,
                portcullis_core::client_keys::KeysInput::Workload(&trust),
            )
            .await?;
        Ok(convert::client(client))
    })
    .await
}

#[server(endpoint = "client_narrow")]
pub async fn narrow_client(
    client_id: String,
    #[server(default)] scopes: Vec<String>,
) -> Result<ClientInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let client = state
            .clients
            .narrow(p.manager()?, &client_id, &scopes)
            .await?;
        Ok(convert::client(client))
    })
    .await
}

#[server(endpoint = "client_test_token")]
pub async fn mint_test_token(
    client_id: String,
    #[server(default)] scopes: Vec<String>,
) -> Result<TestToken, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let minted = state
            .clients
            .test_token(p.manager()?, &client_id, &scopes)
            .await?;
        Ok(convert::test_token(minted))
    })
    .await
}

#[server(endpoint = "client_rotate")]
pub async fn rotate_client(client_id: String) -> Result<NewClient, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let (client, secret) = state.clients.rotate(p.manager()?, &client_id).await?;
        Ok(NewClient {
            client: convert::client(client),
            client_secret: Some(secret.expose().to_owned()),
        })
    })
    .await
}

/// Retires now when `retire_at` is empty; else at that UTC time
/// (`YYYY-MM-DDTHH:MM`, as a datetime-local input sends it).
#[server(endpoint = "client_retire")]
pub async fn retire_client(
    client_id: String,
    #[server(default)] retire_at: String,
) -> Result<ClientInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let at = match retire_at.trim() {
            "" => None,
            t => Some(
                portcullis_core::calendar::parse_utc_minute(t).ok_or_else(|| {
                    ConsoleError::Invalid {
                        field: Some("retire_at".into()),
                        message: "Enter a date and time (UTC) to retire at.".into(),
                    }
                })?,
            ),
        };
        let client = state.clients.retire(p.manager()?, &client_id, at).await?;
        Ok(convert::client(client))
    })
    .await
}

#[server(endpoint = "client_keep")]
pub async fn keep_client(client_id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state.clients.keep(p.manager()?, &client_id).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "client_delete")]
pub async fn delete_client(client_id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state.clients.delete(p.manager()?, &client_id).await?;
        Ok(())
    })
    .await
}
