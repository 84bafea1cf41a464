//! What the console's project pages show, as it crosses the wire.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeInfo {
    pub name: String,
    pub description: String,
    pub destructive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeGroup {
    pub name: String,
    pub scopes: Vec<ScopeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The `aud` of this API's tokens.
    pub audience: String,
    pub signing_alg: String,
    pub groups: Vec<ScopeGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub api_id: String,
    pub api_name: String,
    pub token_ttl_secs: i64,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    pub live_clients: i64,
    pub rate_per_sec: i64,
    pub rate_burst: i64,
    /// No secrets; every token DPoP-bound.
    #[serde(default)]
    pub keys_only: bool,
    /// Live clients that still hold a secret.
    #[serde(default)]
    pub secret_clients: i64,
    /// Clients unused this many days are retired; `None`: as the account;
    /// 0: never.
    #[serde(default)]
    pub dormant_after_days: Option<i64>,
    /// Tokens a UTC day on all nodes together.
    #[serde(default)]
    pub daily_token_quota: Option<i64>,
}

/// One minute of the project's use on every node and gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteTraffic {
    /// Epoch seconds at the start of the minute.
    pub at: i64,
    /// Tokens minted and calls let through.
    pub allowed: u64,
    /// Refused by the bucket (429).
    pub limited: u64,
    /// Calls refused with one of the project's tokens (401, 403).
    pub refused: u64,
}

/// Whether a client can get tokens, and if not why: what the browser
/// shows and branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    /// Retired or revoked.
    Disabled,
    /// A temporary client past its expiry.
    Expired,
    ProjectArchived,
}

#[cfg(feature = "ssr")]
impl From<portcullis_core::clients::ClientStatus> for ClientStatus {
    fn from(s: portcullis_core::clients::ClientStatus) -> Self {
        use portcullis_core::clients::ClientStatus as Core;
        match s {
            Core::Active => Self::Active,
            Core::Disabled => Self::Disabled,
            Core::Expired => Self::Expired,
            Core::ProjectArchived => Self::ProjectArchived,
        }
    }
}

// Hash: the project page keys its cards by what they show.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientInfo {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub status: ClientStatus,
    pub disabled_reason: Option<String>,
    pub expires_at: Option<i64>,
    /// A scheduled retirement.
    pub retire_at: Option<i64>,
    pub minted_last_5m: u64,
    pub minted_last_hour: u64,
    /// "This integration does not reuse its tokens", when it does not.
    #[serde(default)]
    pub reuse_warning: Option<String>,
    /// "Expires in 3 days", "Retires tomorrow".
    #[serde(default)]
    pub ends_soon: Option<String>,
    /// Due to be retired as unused, unless used.
    #[serde(default)]
    pub dormant_notice: Option<String>,
    /// A private_key_jwt client's public keys; `None`: it has a secret.
    #[serde(default)]
    pub keys: Option<Vec<KeyInfo>>,
    /// A key client whose keys are published at this URL.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// A workload identity client's trust, described.
    #[serde(default)]
    pub workload: Option<String>,
    /// The workload that signed in last (sub, issuer, matched claims).
    #[serde(default)]
    pub last_workload: Option<String>,
    /// How far its newest cut-off in the last day has reached, in one
    /// sentence (made on the server: the bundle carries no more of it).
    #[serde(default)]
    pub cut_off: Option<String>,
}

impl ClientInfo {
    /// A client without a secret: nothing to rotate.
    pub fn holds_no_secret(&self) -> bool {
        self.keys.is_some() || self.workload.is_some()
    }
}

/// One public key of a key client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub thumbprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectsOverview {
    pub projects: Vec<ProjectInfo>,
    pub apis: Vec<ApiInfo>,
    pub can_manage: bool,
    pub token_ttl_default: i64,
    /// Clients that expire or are retired within seven days, soonest first.
    pub ending_this_week: Vec<EndingInfo>,
    /// The account's dormancy setting (days; `None`: never).
    pub account_dormancy: Option<i64>,
    pub is_owner: bool,
}

/// A client about to expire or be retired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndingInfo {
    pub client_id: String,
    pub client_name: String,
    pub project_id: String,
    pub project_name: String,
    /// "Expires in 3 days", "Retires tomorrow".
    pub when: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDetail {
    pub project: ProjectInfo,
    pub api: ApiInfo,
    pub clients: Vec<ClientInfo>,
    pub can_manage: bool,
    pub token_endpoint: String,
    /// The server's clock, for "used in the last 15 minutes" warnings.
    pub now: i64,
    /// The last hour, oldest minute first.
    pub traffic: Vec<MinuteTraffic>,
    /// The account's rule for unused clients (days; `None`: never).
    pub account_dormancy: Option<i64>,
    /// Tokens the project minted today (UTC), on every node.
    pub tokens_today: u64,
}

/// A client just created: its secret is in this answer and nowhere else
/// (`Debug` leaves it out). A key client has none.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewClient {
    pub client: ClientInfo,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for NewClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClient")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// A token minted in the console (`Debug` leaves the token out).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestToken {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
    /// The decoded JOSE header and claims, pretty-printed.
    pub header_json: String,
    pub claims_json: String,
}

impl std::fmt::Debug for TestToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestToken")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
