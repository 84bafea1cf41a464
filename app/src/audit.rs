//! The audit log page's server function and wire types.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: i64,
    pub actor_kind: String,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The `before` value of the next (older) page.
    pub next: Option<String>,
    pub actions: Vec<String>,
    /// (id, name) of the account's projects, for the filter.
    pub projects: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
pub fn entry_info(e: portcullis_core::audit::Entry) -> AuditEntry {
    AuditEntry {
        project_name: None,
        at: e.at,
        actor_kind: e.actor_kind,
        actor_label: e.actor_label,
        action: e.action,
        target_kind: e.target_kind,
        target_id: e.target_id,
        project_id: e.project_id,
        client_ip: e.client_ip,
        detail: e.detail,
    }
}

/// One page of the account's audit log, newest first. Filters: `actor`
/// (an email), `action`, `project_id`, `from`/`to` (`YYYY-MM-DD`, UTC,
/// inclusive); `before` continues from a previous page.
#[server(endpoint = "audit")]
pub async fn audit_log(
    #[server(default)] actor: String,
    #[server(default)] action: String,
    #[server(default)] project_id: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] before: String,
) -> Result<AuditPage, ConsoleError> {
    use crate::ssr;
    use portcullis_core::audit::{self, Cursor, Filter};

    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let filter = Filter::from_text(&actor, &action, &project_id, &from, &to)?;
        let cursor = match before.trim() {
            "" => None,
            b => Some(Cursor::decode(b)?),
        };
        let db = state.projects.db();
        let page = audit::search(db, p.account_id(), &filter, cursor.as_ref(), 50).await?;
        let projects: Vec<(String, String)> = state
            .projects
            .list_projects(&p)
            .await?
            .into_iter()
            .map(|s| (s.project.id, s.project.name))
            .collect();
        let name_of = |id: &Option<String>| {
            id.as_ref()
                .and_then(|id| projects.iter().find(|(p, _)| p == id))
                .map(|(_, n)| n.clone())
        };
        Ok(AuditPage {
            entries: page
                .entries
                .into_iter()
                .map(|e| {
                    let project_name = name_of(&e.project_id);
                    AuditEntry {
                        project_name,
                        ..entry_info(e)
                    }
                })
                .collect(),
            next: page.next.map(|c| c.encode()),
            actions: audit::ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
            projects,
        })
    })
    .await
}
