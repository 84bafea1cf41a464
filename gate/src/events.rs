//! What a gate must know, as the issuer's gate feed sends it: the clients
//! of the gate's API it must refuse (switched off, expiring, retiring,
//! wholesale revoked or deleted, while their tokens may be live), changes
//! to projects, revoked token ids and the signing keys. A token's signature
//! proves its client existed when it was issued, so a client the gate does
//! not hold is in good standing; projects a gate has not seen it asks for
//! (see [`ProjectAnswer`]). Each event carries the whole current state of
//! one thing, so applying an event twice, or a newer state early, is
//! harmless.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Epoch;

/// How long a gate must remember a client it refuses: a token's longest
/// life (a day), plus more than any gate's grace on `exp` (at most
/// [`crate::EXP_LEEWAY_MAX_SECS`]).
pub const REFUSAL_KEPT_SECS: Epoch = 86_400 + 300;

/// A client as a gate sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientState {
    pub id: String,
    pub account_id: String,
    pub project_id: String,
    /// Retired, revoked by support, or otherwise switched off.
    pub disabled: bool,
    /// A temporary client's end.
    pub expires_at: Option<Epoch>,
    /// A scheduled retirement: refused from this second on.
    #[serde(default)]
    pub retire_at: Option<Epoch>,
    /// Every token the client was issued at or before this second is
    /// revoked (the issuer's cap on revoked ids per client).
    #[serde(default)]
    pub revoked_before: Option<Epoch>,
    /// No token this state refuses can be live after this second: the
    /// gate may forget the client then. `None`: keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Epoch>,
}

impl ClientState {
    /// Whether this state refuses any token (else the gate need not hold it).
    pub fn refuses(&self) -> bool {
        self.disabled
            || self.expires_at.is_some()
            || self.retire_at.is_some()
            || self.revoked_before.is_some()
    }
}

/// A project as a gate sees it: its standing and its bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    pub id: String,
    pub account_id: String,
    pub archived: bool,
    pub rate_per_sec: i64,
    pub rate_burst: i64,
}

/// The issuer's answer about one project (`GET /gate/v1/project?id=`):
/// `None` when the gate's API has no such project. `position` is a feed
/// position the answer is at least as new as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectAnswer {
    pub position: i64,
    pub project: Option<ProjectState>,
}

/// A token revoked before its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedToken {
    pub jti: String,
    pub exp: Epoch,
}

/// Everything at once: the first event of a feed, and what a gate gets
/// when it resumes from a position the issuer no longer keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The `iss` of valid tokens.
    pub issuer: String,
    /// The `aud` of tokens for this gate's API.
    pub audience: String,
    pub api_id: String,
    /// The clients to refuse (an older issuer sent every client; a gate
    /// keeps those that refuse something).
    pub clients: Vec<ClientState>,
    /// Projects the gate may hold up front (none from this issuer: a gate
    /// asks for each project it sees).
    #[serde(default)]
    pub projects: Vec<ProjectState>,
    pub revoked: Vec<RevokedToken>,
    /// The issuer's JWK Set.
    pub jwks: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Snapshot(Snapshot),
    Client(ClientState),
    ClientGone {
        id: String,
    },
    Project(ProjectState),
    ProjectGone {
        id: String,
    },
    Revoked(RevokedToken),
    /// The signing keys changed (a key added or withdrawn).
    Keys {
        jwks: Value,
    },
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Snapshot(_) => "snapshot",
            Event::Client(_) => "client",
            Event::ClientGone { .. } => "client_gone",
            Event::Project(_) => "project",
            Event::ProjectGone { .. } => "project_gone",
            Event::Revoked(_) => "revoked",
            Event::Keys { .. } => "keys",
        }
    }
}
