//! Who acts: a member's role, a signed-in member (`Principal`) and a
//! support staff member.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Developer,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    /// Owners and developers manage projects and clients; viewers only look.
    pub fn can_manage_credentials(self) -> bool {
        matches!(self, Role::Owner | Role::Developer)
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "developer" => Some(Role::Developer),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// A signed-in user acting within one account. Made only inside this crate
/// (the session and bearer paths); see [`crate::access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) account_id: String,
    pub(crate) account_name: String,
    pub(crate) role: Role,
    /// Where the request came from, for the audit log (set per request).
    pub(crate) client_ip: Option<IpAddr>,
    /// Moves on when the password changes; older sessions end.
    pub(crate) session_epoch: i64,
    /// The user has a confirmed TOTP factor.
    pub(crate) second_factor: bool,
    /// The account requires one of every member.
    pub(crate) second_factor_required: bool,
    /// Set when a management client acts (its id): the audit log names it,
    /// and nothing records it as a user.
    pub(crate) acting_client: Option<String>,
}

impl Principal {
    /// Signed in, but held at the security page until they set up the
    /// second factor their account requires.
    pub fn must_set_up_second_factor(&self) -> bool {
        self.second_factor_required && !self.second_factor
    }
}

/// A support staff member: a platform user in no account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) session_epoch: i64,
    /// Staff must have one before their first staff action.
    pub(crate) second_factor: bool,
}
