//! The event types an endpoint can subscribe to, and the audited actions
//! each one tells.

/// What an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    ClientCreated,
    ClientRotated,
    ClientKeysChanged,
    ClientRetired,
    ClientRevoked,
    ClientExpired,
    ClientExpiring,
    ClientDormant,
    ClientSecretReported,
    ProjectRateLimited,
    ProjectQuotaWarning,
    ProjectQuotaExhausted,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::ClientCreated,
        EventType::ClientRotated,
        EventType::ClientKeysChanged,
        EventType::ClientRetired,
        EventType::ClientRevoked,
        EventType::ClientExpired,
        EventType::ClientExpiring,
        EventType::ClientDormant,
        EventType::ClientSecretReported,
        EventType::ProjectRateLimited,
        EventType::ProjectQuotaWarning,
        EventType::ProjectQuotaExhausted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCreated => "client.created",
            Self::ClientRotated => "client.rotated",
            Self::ClientKeysChanged => "client.keys_changed",
            Self::ClientRetired => "client.retired",
            Self::ClientRevoked => "client.revoked",
            Self::ClientExpired => "client.expired",
            Self::ClientExpiring => "client.expiring",
            Self::ClientDormant => "client.dormant",
            Self::ClientSecretReported => "client.secret_reported",
            Self::ProjectRateLimited => "project.rate_limited",
            Self::ProjectQuotaWarning => "project.quota_warning",
            Self::ProjectQuotaExhausted => "project.quota_exhausted",
        }
    }

    /// What a person reads in the console.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ClientCreated => "a client was created",
            Self::ClientRotated => "a client's rotation started (a successor was made)",
            Self::ClientKeysChanged => "a key client's public keys were replaced",
            Self::ClientRetired => "a client was retired (now or as scheduled)",
            Self::ClientRevoked => "support revoked a client (with the reason)",
            Self::ClientExpired => "a temporary client expired",
            Self::ClientExpiring => {
                "a client expires or is retired as scheduled in 30, 7 or 1 days"
            }
            Self::ClientDormant => {
                "a client unused for long is retired in 7 days unless it is used"
            }
            Self::ClientSecretReported => "a client's secret was reported leaked",
            Self::ProjectRateLimited => {
                "a project's rate limit refused requests (at most once a minute)"
            }
            Self::ProjectQuotaWarning => "a project has minted 80 % of its daily token quota",
            Self::ProjectQuotaExhausted => {
                "a project's daily token quota is used up (token requests get 429 until 00:00 UTC)"
            }
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The event an audited action tells, if any.
    pub fn for_action(action: &str) -> Option<Self> {
        Some(match action {
            "client.create" => Self::ClientCreated,
            "client.rotate" => Self::ClientRotated,
            "client.keys_changed" => Self::ClientKeysChanged,
            "client.retire" => Self::ClientRetired,
            "client.revoke" => Self::ClientRevoked,
            "client.expire" => Self::ClientExpired,
            "client.expiring" => Self::ClientExpiring,
            "client.dormant" => Self::ClientDormant,
            "client.secret_reported" => Self::ClientSecretReported,
            _ => return None,
        })
    }
}
