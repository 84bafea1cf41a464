//! A project's OAuth clients: the console's server functions (thin shells
//! over `portcullis_core::Clients`).

use leptos::prelude::*;

use super::*;
use crate::error::ConsoleError;

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
