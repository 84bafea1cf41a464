//! The support staff console's server functions. Each refuses account
//! users (403) and signed-out callers (401) on the server.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

/// A client as staff see it: metadata only, never secrets or tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundClientInfo {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub status: crate::projects::ClientStatus,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub account_id: String,
    pub account_name: String,
    pub project_id: String,
    pub project_name: String,
    /// Its newest cut-off in the last day, gate by gate.
    #[serde(default)]
    pub cut_off: Option<crate::reach::CutOffInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundProjectInfo {
    pub account_id: String,
    pub account_name: String,
    pub account_created_at: i64,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub archived: bool,
    pub clients: i64,
}

/// Accounts and projects whose name matches, clients or not.
#[server(endpoint = "staff_find")]
pub async fn staff_find(
    #[server(default)] query: String,
) -> Result<Vec<FoundProjectInfo>, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, staff) = ssr::require_staff().await?;
        Ok(state
            .clients
            .support_find_projects(staff.support()?, &query)
            .await?
            .into_iter()
            .map(|p| FoundProjectInfo {
                account_id: p.account_id,
                account_name: p.account_name,
                account_created_at: p.account_created_at,
                project_id: p.project_id,
                project_name: p.project_name,
                archived: p.archived_at.is_some(),
                clients: p.clients,
            })
            .collect())
    })
    .await
}

#[server(endpoint = "staff_me")]
pub async fn staff_me() -> Result<String, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (_, staff) = ssr::require_staff().await?;
        Ok(staff.email().to_owned())
    })
    .await
}

#[server(endpoint = "staff_search")]
pub async fn staff_search(
    #[server(default)] query: String,
) -> Result<Vec<FoundClientInfo>, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, staff) = ssr::require_staff().await?;
        let found = state
            .clients
            .support_search(staff.support()?, &query)
            .await?;
        let mut infos = Vec::with_capacity(found.len());
        for f in found {
            let c = f.client;
            let last_used_at = state
                .issuer
                .registry()
                .client(&c.client_id)
                .and_then(|e| e.usage.last_used())
                .max(c.last_used_at);
            let cut_off = crate::reach::cut_off(
                &state,
                crate::reach::Asker::Staff(staff.support()?, &c.account_id),
                &c.client_id,
            )
            .await?;
            infos.push(FoundClientInfo {
                scopes: portcullis_core::registry::split_scopes(&c.scopes),
                status: f.status.into(),
                client_id: c.client_id,
                client_name: c.client_name,
                disabled_reason: c.disabled_reason,
                created_at: c.created_at,
                last_used_at,
                account_id: c.account_id,
                account_name: c.account_name,
                project_id: c.project_id,
                project_name: c.project_name,
                cut_off,
            });
        }
        Ok(infos)
    })
    .await
}

#[server(endpoint = "staff_revoke")]
pub async fn staff_revoke(
    client_id: String,
    #[server(default)] reason: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, staff) = ssr::require_staff().await?;
        state
            .clients
            .support_revoke(staff.support()?, &client_id, &reason)
            .await?;
        Ok(())
    })
    .await
}

/// Any account's audit log, for staff: newest first, 50 a page.
#[server(endpoint = "staff_audit")]
pub async fn staff_audit(
    account_id: String,
    #[server(default)] before: String,
) -> Result<crate::audit::AuditPage, ConsoleError> {
    use crate::ssr;
    use portcullis_core::audit::{self, Cursor, Filter};
    ssr::respond(async move {
        let (state, _) = ssr::require_staff().await?;
        let cursor = match before.trim() {
            "" => None,
            b => Some(Cursor::decode(b)?),
        };
        let page = audit::search(
            state.projects.db(),
            account_id.trim(),
            &Filter::default(),
            cursor.as_ref(),
            50,
        )
        .await?;
        Ok(crate::audit::AuditPage {
            entries: page
                .entries
                .into_iter()
                .map(crate::audit::entry_info)
                .collect(),
            next: page.next.map(|c| c.encode()),
            actions: audit::ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
            projects: Vec::new(),
        })
    })
    .await
}
