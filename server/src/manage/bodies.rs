//! The management API's request bodies: what its handlers read, and (derived
//! with schemars) what `/openapi.json` states of them. Each field's rule is
//! core's own (`portcullis_core::validate`, the ranges in core); the words
//! of the catalogue (API ids, scopes) are filled in by `apis::manage_doc`,
//! which also adds the rules JSON Schema cannot state (`x-rules`).

use portcullis_contract::fields::{some_string, some_value, some_whole, whole};
use portcullis_core::client_keys::KeysInput;
use portcullis_core::clients::{CLIENT_NAME_MAX, TEMPORARY_HOURS};
use portcullis_core::limits::LIMIT_RANGE;
use portcullis_core::projects::{DESCRIPTION_MAX, PROJECT_NAME_MAX, TOKEN_TTL_RANGE};
use portcullis_core::webhooks::{targets::URL_MAX, DESCRIPTION_MAX as NOTE_MAX};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewProject {
    #[schemars(schema_with = "portcullis_contract::fields::text::<PROJECT_NAME_MAX>")]
    pub name: String,
    #[serde(default)]
    #[schemars(schema_with = "portcullis_contract::fields::note::<DESCRIPTION_MAX>")]
    pub description: String,
    /// An API of the scope catalogue.
    pub api_id: String,
    /// Absent: an hour.
    #[serde(default, deserialize_with = "some_whole")]
    #[schemars(with = "i64", range(min = *TOKEN_TTL_RANGE.start(), max = *TOKEN_TTL_RANGE.end()))]
    pub token_ttl_secs: Option<i64>,
}

/// A change: what is left out stays as it is.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectChange {
    #[serde(default, deserialize_with = "some_string")]
    #[schemars(schema_with = "portcullis_contract::fields::text::<PROJECT_NAME_MAX>")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "some_string")]
    #[schemars(schema_with = "portcullis_contract::fields::note::<DESCRIPTION_MAX>")]
    pub description: Option<String>,
    /// For tokens minted from now on.
    #[serde(default, deserialize_with = "some_whole")]
    #[schemars(with = "i64", range(min = *TOKEN_TTL_RANGE.start(), max = *TOKEN_TTL_RANGE.end()))]
    pub token_ttl_secs: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimit {
    #[serde(deserialize_with = "whole")]
    #[schemars(range(min = *LIMIT_RANGE.start(), max = *LIMIT_RANGE.end()))]
    pub per_sec: i64,
    #[serde(deserialize_with = "whole")]
    #[schemars(range(min = *LIMIT_RANGE.start(), max = *LIMIT_RANGE.end()))]
    pub burst: i64,
}

/// The project's daily token quota.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Quota {
    /// Tokens a UTC day on all nodes together (past it, `/oauth/token`
    /// answers 429 until 00:00 UTC); null or left out: no quota.
    #[schemars(range(min = 1, max = 100_000_000))]
    pub daily_token_quota: Option<i64>,
}

/// Retiring the project's unused clients.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dormancy {
    /// Days without use after which a client is retired (a `client.dormant`
    /// warning goes out seven days before); 0: never; null or left out: as
    /// the account's setting.
    #[schemars(extend("enum" = [0, 30, 60, 90, null]))]
    pub dormant_after_days: Option<i64>,
}

/// "Keys only": no secrets in the project, every token DPoP-bound.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeysOnly {
    /// On: refused (409) while a live client of the project holds a secret.
    pub keys_only: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Narrow {
    /// Scopes the client keeps (repeats count once).
    #[schemars(length(min = 1))]
    pub scopes: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClient {
    #[schemars(schema_with = "portcullis_contract::fields::text::<CLIENT_NAME_MAX>")]
    pub name: String,
    /// Scopes of the project's API (repeats count once).
    #[schemars(length(min = 1))]
    pub scopes: Vec<String>,
    /// Set for a temporary client.
    #[serde(default, deserialize_with = "some_whole")]
    #[schemars(with = "i64", range(min = *TEMPORARY_HOURS.start(), max = *TEMPORARY_HOURS.end()))]
    pub expires_in_hours: Option<i64>,
    /// Set for a client that authenticates with `private_key_jwt`: one or
    /// two public keys (a JWK, a JWK Set or PEM). It gets no secret.
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "String", length(min = 1, max = PUBLIC_KEYS_MAX))]
    pub public_keys: Option<String>,
    /// Instead: the https URL of a JWK Set the partner publishes; the
    /// client authenticates with `private_key_jwt` and its keys rotate on
    /// the partner's side.
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "String", length(min = 1, max = URL_MAX))]
    pub jwks_uri: Option<String>,
    /// Instead: a workload identity trust; the client holds no secret and
    /// no key.
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "Workload")]
    pub workload: Option<Workload>,
}

impl NewClient {
    /// The keys of a key client; `None` for a secret or workload client.
    pub fn keys(&self) -> Result<Option<KeysInput<'_>>, portcullis_core::Error> {
        if self.workload.is_some() && (self.public_keys.is_some() || self.jwks_uri.is_some()) {
            return Err(portcullis_core::Error::invalid(
                "workload",
                "Give public_keys, jwks_uri or workload: one of them.",
            ));
        }
        keys_of(self.public_keys.as_deref(), self.jwks_uri.as_deref())
    }
}

/// A workload identity trust: the client holds no secret and no key; a
/// workload signs in with its platform's token (GitHub Actions, GitLab
/// CI, Kubernetes, SPIFFE) as the `client_assertion`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Workload {
    /// Names the platform for people reading the trust; absent: custom.
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "String", extend("enum" = ["github_actions", "gitlab_ci", "kubernetes", "spiffe", "custom"]))]
    pub preset: Option<String>,
    /// The `iss` of the workload's tokens; their keys are found by OpenID
    /// discovery under it (https, to a public address unless the operator
    /// allows private ones). May be left out with `jwks`.
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub issuer: String,
    /// Instead of discovery: the issuer's JWK Set (a cluster without a
    /// public issuer, a SPIFFE trust bundle).
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "std::collections::BTreeMap<String, serde_json::Value>")]
    pub jwks: Option<serde_json::Map<String, serde_json::Value>>,
    /// The `aud` the workload asks its platform for.
    #[schemars(length(min = 1, max = 256))]
    pub audience: String,
    /// Claim name → exact value or `*` pattern (`*` is any run of
    /// characters); every one must match. At least one, at most ten.
    pub conditions: std::collections::BTreeMap<String, String>,
}

impl Workload {
    pub fn input(&self) -> portcullis_core::workload_identity::TrustInput {
        portcullis_core::workload_identity::TrustInput {
            preset: self.preset.clone().unwrap_or_else(|| "custom".into()),
            issuer: self.issuer.clone(),
            jwks: self
                .jwks
                .as_ref()
                .map(|set| serde_json::Value::Object(set.clone()).to_string())
                .unwrap_or_default(),
            audience: self.audience.clone(),
            conditions: self
                .conditions
                .iter()
                .map(|(c, p)| (c.clone(), p.clone()))
                .collect(),
        }
    }
}

/// A key client's new keys: one or two public keys, or a JWK Set URL.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Keys {
    /// One or two public keys (a JWK, a JWK Set or PEM); they replace the
    /// client's keys.
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "String", length(min = 1, max = PUBLIC_KEYS_MAX))]
    pub public_keys: Option<String>,
    /// Or the https URL of a JWK Set the partner publishes.
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "String", length(min = 1, max = URL_MAX))]
    pub jwks_uri: Option<String>,
}

impl Keys {
    pub fn keys(&self) -> Result<KeysInput<'_>, portcullis_core::Error> {
        keys_of(self.public_keys.as_deref(), self.jwks_uri.as_deref())?.ok_or_else(|| {
            portcullis_core::Error::invalid("public_keys", "Give public_keys or jwks_uri.")
        })
    }
}

fn keys_of<'a>(
    public_keys: Option<&'a str>,
    jwks_uri: Option<&'a str>,
) -> Result<Option<KeysInput<'a>>, portcullis_core::Error> {
    match (public_keys, jwks_uri) {
        (Some(_), Some(_)) => Err(portcullis_core::Error::invalid(
            "jwks_uri",
            "Give public_keys or jwks_uri, not both.",
        )),
        (Some(k), None) => Ok(Some(KeysInput::Pasted(k))),
        (None, Some(u)) => Ok(Some(KeysInput::JwksUri(u))),
        (None, None) => Ok(None),
    }
}

/// The longest `public_keys` read (two large RSA keys fit).
pub(crate) const PUBLIC_KEYS_MAX: u32 = 16 * 1024;

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Retire {
    /// Epoch seconds; absent or past: now.
    #[serde(default, deserialize_with = "some_whole")]
    #[schemars(with = "i64")]
    pub at: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointBody {
    /// https, to a public address (unless the operator allows private
    /// targets).
    #[schemars(length(min = 1, max = URL_MAX))]
    pub url: String,
    /// The event types it takes (repeats count once).
    #[schemars(length(min = 1))]
    pub events: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "portcullis_contract::fields::note::<NOTE_MAX>")]
    pub description: String,
}

/// A change: what is left out stays as it is.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointChange {
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "String", length(min = 1, max = URL_MAX))]
    pub url: Option<String>,
    /// The event types it takes (repeats count once).
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(with = "Vec<String>", length(min = 1))]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "some_value")]
    #[schemars(schema_with = "portcullis_contract::fields::note::<NOTE_MAX>")]
    pub description: Option<String>,
}
