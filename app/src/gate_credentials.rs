//! The staff console's gate credentials: what a resource server's gate in
//! another process uses to follow one API's revocation feed. Staff only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

/// A gate credential as staff see it: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateCredentialInfo {
    pub id: String,
    pub api_id: String,
    pub api_name: String,
    pub name: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
}

/// A gate process that reported its feed position in the last day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateConnectionInfo {
    pub gate_id: String,
    pub gate_name: String,
    pub instance: String,
    pub api_name: String,
    pub peer: String,
    pub version: String,
    pub position: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub changes_behind: i64,
    pub lag_secs: i64,
    pub connected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatesView {
    pub credentials: Vec<GateCredentialInfo>,
    /// (id, name) of each API in the scope catalogue.
    pub apis: Vec<(String, String)>,
    /// Gate processes heard from in the last day, from any node.
    #[serde(default)]
    pub connections: Vec<GateConnectionInfo>,
}

/// A new credential, with the secret shown this once (`Debug` leaves it out).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewGateCredential {
    pub id: String,
    pub api_id: String,
    pub secret: String,
}

impl std::fmt::Debug for NewGateCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewGateCredential")
            .field("id", &self.id)
            .field("api_id", &self.api_id)
            .finish_non_exhaustive()
    }
}

#[server(endpoint = "staff_gates")]
pub async fn staff_gates() -> Result<GatesView, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, staff) = ssr::require_staff().await?;
        let api_name = |id: &str| {
            state
                .catalogue
                .api(id)
                .map_or_else(|| id.to_owned(), |a| a.name.clone())
        };
        let credentials = state
            .gates
            .list()
            .await?
            .into_iter()
            .map(|g| GateCredentialInfo {
                api_name: api_name(&g.api_id),
                id: g.id,
                api_id: g.api_id,
                name: g.name,
                created_at: g.created_at,
                created_by: g.created_by,
                revoked_at: g.revoked_at,
            })
            .collect();
        let apis = state
            .catalogue
            .apis()
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        let connections = state
            .reach
            .connections(staff.support()?)
            .await?
            .into_iter()
            .map(|c| GateConnectionInfo {
                api_name: api_name(&c.api_id),
                gate_id: c.gate_id,
                gate_name: c.gate_name,
                instance: c.instance,
                peer: c.peer,
                version: c.version,
                position: c.position,
                first_seen: c.first_seen,
                last_seen: c.last_seen,
                changes_behind: c.changes_behind,
                lag_secs: c.lag_secs,
                connected: c.connected,
            })
            .collect();
        Ok(GatesView {
            credentials,
            apis,
            connections,
        })
    })
    .await
}

#[server(endpoint = "staff_gate_create")]
pub async fn staff_gate_create(
    api_id: String,
    #[server(default)] name: String,
) -> Result<NewGateCredential, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, staff) = ssr::require_staff().await?;
        let (gate, secret) = state.gates.create(&api_id, &name, staff.email()).await?;
        Ok(NewGateCredential {
            id: gate.id,
            api_id: gate.api_id,
            secret: secret.expose().to_owned(),
        })
    })
    .await
}

#[server(endpoint = "staff_gate_revoke")]
pub async fn staff_gate_revoke(id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, staff) = ssr::require_staff().await?;
        state.gates.revoke(&id, staff.email()).await?;
        Ok(())
    })
    .await
}
