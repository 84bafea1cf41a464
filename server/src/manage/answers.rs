//! The management API's answers: what its handlers send, and (derived with
//! schemars) what `/openapi.json` states of them. `apis::manage_doc` fills
//! in the event types.

use portcullis_core::clients::{Client, ClientSecret};
use portcullis_core::projects::Project;
use portcullis_core::webhooks::{Delivery, Endpoint, SigningSecret};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize, JsonSchema)]
pub(crate) struct ProjectAnswer {
    pub id: String,
    pub name: String,
    pub description: String,
    pub api_id: String,
    pub token_ttl_secs: i64,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    pub rate_per_sec: i64,
    pub rate_burst: i64,
    /// No secrets; every token DPoP-bound.
    pub keys_only: bool,
    /// Clients unused this many days are retired; 0: never; null: as the
    /// account's setting.
    pub dormant_after_days: Option<i64>,
    /// Tokens a UTC day on all nodes together; null: no quota.
    pub daily_token_quota: Option<i64>,
    /// In lists and on creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_clients: Option<i64>,
    /// When one project is read (never secrets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<ClientAnswer>>,
}

impl ProjectAnswer {
    pub fn new(p: &Project, live_clients: Option<i64>) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            api_id: p.api_id.clone(),
            token_ttl_secs: p.token_ttl_secs,
            created_at: p.created_at,
            archived_at: p.archived_at,
            rate_per_sec: p.rate_limit.per_sec,
            rate_burst: p.rate_limit.burst,
            keys_only: p.keys_only,
            dormant_after_days: p.dormant_after_days,
            daily_token_quota: p.daily_token_quota,
            live_clients,
            clients: None,
        }
    }
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct ClientAnswer {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    #[schemars(extend("enum" = ["active", "disabled", "expired", "project_archived"]))]
    pub status: &'static str,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub retire_at: Option<i64>,
    pub minted_last_hour: u64,
    /// Set when it mints far more tokens than its lifetime needs.
    pub reuse_warning: Option<String>,
    /// `client_secret` (HTTP Basic or the body), `private_key_jwt`, or
    /// `workload_identity`.
    #[schemars(extend("enum" = ["client_secret", "private_key_jwt", "workload_identity"]))]
    pub auth_method: &'static str,
    /// A private_key_jwt client's public keys (never a secret).
    pub public_keys: Option<Vec<KeyAnswer>>,
    /// A private_key_jwt client whose keys the partner publishes here.
    pub jwks_uri: Option<String>,
    /// A workload identity client's trust.
    pub workload: Option<WorkloadAnswer>,
    /// The workload that signed in last: its `sub`, issuer and the claims
    /// its conditions matched.
    pub last_workload: Option<String>,
}

/// What a workload identity client trusts.
#[derive(Serialize, JsonSchema)]
pub(crate) struct WorkloadAnswer {
    #[schemars(extend("enum" = ["github_actions", "gitlab_ci", "kubernetes", "spiffe", "custom"]))]
    pub preset: &'static str,
    pub issuer: String,
    /// Static keys given instead of discovery (none: discovery).
    pub jwks_keys: Vec<KeyAnswer>,
    pub audience: String,
    pub conditions: std::collections::BTreeMap<String, String>,
}

/// One public key of a private_key_jwt client.
#[derive(Serialize, JsonSchema)]
pub(crate) struct KeyAnswer {
    pub kid: String,
    #[schemars(extend("enum" = ["ES256", "RS256", "EdDSA"]))]
    pub alg: String,
    /// RFC 7638 SHA-256 thumbprint, base64url.
    pub thumbprint: String,
}

impl From<&Client> for ClientAnswer {
    fn from(c: &Client) -> Self {
        Self {
            id: c.id.clone(),
            project_id: c.project_id.clone(),
            name: c.name.clone(),
            scopes: c.scopes.clone(),
            status: c.status.as_str(),
            disabled_reason: c.disabled_reason.clone(),
            created_at: c.created_at,
            last_used_at: c.last_used_at,
            expires_at: c.expires_at,
            retire_at: c.retire_at,
            minted_last_hour: c.minted_last_hour,
            reuse_warning: c.reuse_warning.clone(),
            auth_method: c.auth_method(),
            workload: c.workload.as_ref().map(|t| WorkloadAnswer {
                preset: t.preset.as_str(),
                issuer: t.issuer.clone(),
                jwks_keys: t
                    .static_keys()
                    .and_then(Result::ok)
                    .map(|k| k.summaries())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|k| KeyAnswer {
                        kid: k.kid,
                        alg: k.alg,
                        thumbprint: k.thumbprint,
                    })
                    .collect(),
                audience: t.audience.clone(),
                conditions: t.conditions.clone(),
            }),
            last_workload: c.last_workload.clone(),
            jwks_uri: c.jwks_uri.clone(),
            public_keys: c.keys.as_ref().map(|keys| {
                keys.iter()
                    .map(|k| KeyAnswer {
                        kid: k.kid.clone(),
                        alg: k.alg.clone(),
                        thumbprint: k.thumbprint.clone(),
                    })
                    .collect()
            }),
        }
    }
}

/// A new client and its secret, which this answer carries and nothing else.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ClientWithSecret {
    pub client: ClientAnswer,
    /// In the first answer only; null when an Idempotency-Key replays it,
    /// and for a private_key_jwt client, which has none.
    pub client_secret: Option<String>,
}

impl ClientWithSecret {
    pub fn new(c: &Client, secret: &ClientSecret) -> Self {
        Self {
            client: c.into(),
            client_secret: Some(secret.expose().to_owned()),
        }
    }

    pub fn without_secret(c: &Client) -> Self {
        Self {
            client: c.into(),
            client_secret: None,
        }
    }
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct EndpointAnswer {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub created_at: i64,
    pub enabled: bool,
    pub disabled_at: Option<i64>,
    /// Why it is off: turned off by someone, or failing for 24 hours.
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last success.
    pub failing_since: Option<i64>,
}

impl From<&Endpoint> for EndpointAnswer {
    fn from(e: &Endpoint) -> Self {
        Self {
            id: e.id.clone(),
            url: e.url.clone(),
            events: e.events.clone(),
            description: e.description.clone(),
            created_at: e.created_at,
            enabled: e.disabled_at.is_none(),
            disabled_at: e.disabled_at,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
        }
    }
}

/// A new endpoint and its signing secret, shown this once.
#[derive(Serialize, JsonSchema)]
pub(crate) struct EndpointWithSecret {
    pub endpoint: EndpointAnswer,
    /// `whsec_…`, in the first answer only; null when an Idempotency-Key
    /// replays it.
    pub signing_secret: Option<String>,
}

impl EndpointWithSecret {
    pub fn new(e: &Endpoint, secret: &SigningSecret) -> Self {
        Self {
            endpoint: e.into(),
            signing_secret: Some(secret.to_text()),
        }
    }
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct DeliveryAnswer {
    /// The webhook-id header, the same on every attempt.
    pub id: String,
    pub event_type: String,
    pub created_at: i64,
    #[schemars(extend("enum" = ["pending", "delivered", "failed"]))]
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    /// The body as sent: type, timestamp, data.
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub payload: Value,
}

impl From<&Delivery> for DeliveryAnswer {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id.clone(),
            event_type: d.event_type.clone(),
            created_at: d.created_at,
            status: d.status.clone(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error.clone(),
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::Null),
        }
    }
}

/// A project's use, summed over every node and gate.
#[derive(Serialize, JsonSchema)]
pub(crate) struct UsageAnswer {
    pub project_id: String,
    /// `minute`: the last 48 hours; `hour`: the last 30 days.
    #[schemars(extend("enum" = ["minute", "hour"]))]
    pub span: &'static str,
    /// The range's first bucket (epoch seconds).
    pub from: i64,
    /// The current bucket (epoch seconds), still filling.
    pub to: i64,
    pub totals: UsageCounts,
    /// Buckets with any use, oldest first.
    pub series: Vec<UsagePoint>,
    /// Tokens minted per client over the range, most first.
    pub clients: Vec<ClientMinted>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct UsageCounts {
    /// Tokens minted.
    pub minted: u64,
    /// Calls the gates let through.
    pub gated: u64,
    /// Calls the gates refused (401, 403) with a token of the project.
    pub refused: u64,
    /// Requests the project's bucket refused (429).
    pub limited: u64,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct UsagePoint {
    /// The bucket's start (epoch seconds).
    pub at: i64,
    #[serde(flatten)]
    pub counts: UsageCounts,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct ClientMinted {
    pub client_id: String,
    pub minted: u64,
}

impl UsageAnswer {
    pub fn new(project_id: &str, u: &portcullis_core::usage_totals::ProjectUsage) -> Self {
        use portcullis_core::usage_totals::Span;
        let (span, secs) = match u.span {
            Span::Minute => ("minute", 60),
            Span::Hour => ("hour", 3600),
        };
        let counts = |c: &portcullis_gate::usage::Counts| UsageCounts {
            minted: c.minted,
            gated: c.gated,
            refused: c.refused,
            limited: c.limited,
        };
        Self {
            project_id: project_id.to_owned(),
            span,
            from: u.from * secs,
            to: u.to * secs,
            totals: counts(&u.totals),
            series: u
                .series
                .iter()
                .map(|(at, c)| UsagePoint {
                    at: at * secs,
                    counts: counts(c),
                })
                .collect(),
            clients: u
                .clients
                .iter()
                .map(|(id, minted)| ClientMinted {
                    client_id: id.clone(),
                    minted: *minted,
                })
                .collect(),
        }
    }
}

/// `GET /audit`: a page of the log, newest first.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AuditPage {
    pub entries: Vec<AuditAnswer>,
    /// `before` for the next page; null on the last.
    pub next: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct AuditAnswer {
    pub id: String,
    pub at: i64,
    /// Who acted: a person (`user`), a management client, support staff,
    /// or Portcullis itself (scheduled work, secret scanning reports).
    pub actor_kind: String,
    /// An email, a management client's label, or `Portcullis`.
    pub actor: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub project_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

impl From<&portcullis_core::audit::Entry> for AuditAnswer {
    fn from(e: &portcullis_core::audit::Entry) -> Self {
        Self {
            id: e.id.clone(),
            at: e.at,
            actor_kind: e.actor_kind.clone(),
            actor: e.actor_label.clone(),
            action: e.action.clone(),
            target_kind: e.target_kind.clone(),
            target_id: e.target_id.clone(),
            project_id: e.project_id.clone(),
            client_ip: e.client_ip.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// `GET /members`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct MembersAnswer {
    pub members: Vec<MemberAnswer>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct MemberAnswer {
    pub user_id: String,
    pub email: String,
    #[schemars(schema_with = "role_schema")]
    pub role: String,
    pub joined_at: i64,
}

fn role_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "enum": ["owner", "developer", "viewer"] })
}

impl From<portcullis_core::team::Member> for MemberAnswer {
    fn from(m: portcullis_core::team::Member) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            joined_at: m.joined_at,
        }
    }
}
