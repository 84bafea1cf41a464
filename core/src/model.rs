//! The shapes the domain and storage layers share: who acts (a member's
//! `Principal`, `Staff`), team members and invitations, audit entries and
//! their filters. Storage (`crate::store`) reads and writes these and its
//! own row structs, and imports no domain module; the domain modules add
//! the behaviour (`audit::Filter::from_text`, `audit::Cursor::decode`, …)
//! and re-export these under their own names.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Epoch;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub joined_at: Epoch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Invite {
    pub id: String,
    pub role: String,
    pub created_at: Epoch,
    pub expires_at: Epoch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub at: Epoch,
    pub actor_kind: String,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub project_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Exact actor label (an email), case-insensitive.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub project_id: Option<String>,
    /// Inclusive bounds, epoch seconds.
    pub from: Option<Epoch>,
    pub to: Option<Epoch>,
}

/// Where the next page starts: strictly older than this (at, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: Epoch,
    pub id: String,
}
