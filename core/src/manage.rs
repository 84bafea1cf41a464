//! The management API's place in the domain. It is an API of the scope
//! catalogue like any other (built in, not read from `scopes.toml`): a
//! project of it holds an account's management clients, whose tokens carry
//! `manage:*` scopes for the audience `<issuer>/manage/v1` and pass the same
//! gate as every other API. A management client acts in its own account as
//! a developer would, through the same domain functions as the console.

use crate::accounts::{Principal, Role};
use crate::catalogue::{Api, Catalogue, CatalogueError, Scope, SigningAlg};

pub const API_ID: &str = "manage";
pub const BASE_PATH: &str = "/manage/v1";

fn scope(name: &str, group: &str, description: &str, destructive: bool) -> Scope {
    Scope {
        name: name.into(),
        group: group.into(),
        description: description.into(),
        destructive,
    }
}

/// The management API's catalogue entry.
pub fn api() -> Api {
    Api {
        id: API_ID.into(),
        name: "Portcullis management API".into(),
        description: "Automate this account: projects, clients, rotation, webhooks, the audit log and members, from a deployment pipeline.".into(),
        base_path: BASE_PATH.into(),
        signing_alg: SigningAlg::ES256,
        scopes: vec![
            scope("manage:projects:read", "Projects", "See projects, their settings, rate limits and clients (never secrets).", false),
            scope("manage:projects:write", "Projects", "Create and rename projects and set their rate limits.", false),
            scope("manage:clients:write", "Clients", "Create, narrow, rotate and retire clients; a new secret is returned once.", false),
            scope("manage:clients:delete", "Clients", "Delete retired and expired clients, and what they minted is forgotten.", true),
            scope("manage:audit:read", "Audit log", "Read the account's audit log.", false),
            scope("manage:members:read", "Members", "See the account's members and their roles.", false),
            scope("manage:webhooks:read", "Webhooks", "See webhook endpoints and their delivery logs (never signing secrets).", false),
            scope("manage:webhooks:write", "Webhooks", "Register, change, turn off and delete webhook endpoints, and send deliveries again; a new signing secret is returned once.", false),
        ],
    }
}

impl Catalogue {
    /// The catalogue with the management API added; a `scopes.toml` that
    /// claims its id, path or scope names is refused.
    pub fn with_management(self) -> std::result::Result<Self, CatalogueError> {
        let m = api();
        for a in self.apis() {
            let clash = a.id == m.id
                || a.base_path == m.base_path
                || a.scopes.iter().any(|s| s.name.starts_with("manage:"));
            if clash {
                return Err(CatalogueError {
                    file: "scopes.toml".into(),
                    line: None,
                    message: format!(
                        "api {:?} uses the id \"{API_ID}\", the path \"{BASE_PATH}\" or \"manage:\" scopes, which are the built-in management API's",
                        a.id
                    ),
                });
            }
        }
        Ok(self.plus(m))
    }
}

/// The principal a management client's token acts as: a developer of the
/// client's own account (the account comes from the verified token, so no
/// other account is reachable), recorded in the audit log as the client.
/// Made only from a token the gate verified.
pub fn principal(
    claims: &portcullis_gate::Claims,
    client_ip: Option<std::net::IpAddr>,
) -> Principal {
    let client_id = &claims.client_id;
    Principal {
        user_id: client_id.clone(),
        email: format!("management client {client_id}"),
        account_id: claims.account_id.clone(),
        account_name: String::new(),
        role: Role::Developer,
        client_ip,
        session_epoch: 0,
        second_factor: true,
        second_factor_required: false,
        acting_client: Some(client_id.into()),
    }
}
