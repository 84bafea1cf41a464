//! Workload identity: a client that holds no secret and no key of its own.
//! It trusts an identity issuer the partner already runs or uses (GitHub
//! Actions, GitLab CI, a Kubernetes cluster, a SPIFFE trust domain) and
//! signs in with the platform's short-lived token as its
//! `client_assertion` (RFC 7521 §4.2, RFC 7523 §2.2; for SPIFFE the
//! JWT-SVID profile of draft-ietf-oauth-spiffe-client-auth-02).
//!
//! What the partner writes, [`WorkloadTrust`], is checked here; the token
//! itself in [`check`].

mod check;
mod presets;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client_keys::ClientKeys;
use crate::error::{Error, Result};

pub use check::{check, Refusal, Workload, MAX_LIFETIME_SECS, SKEW_SECS};
pub use presets::Preset;

/// Conditions a trust holds at most.
pub const CONDITIONS_MAX: usize = 10;
const CLAIM_MAX: usize = 64;
const PATTERN_MAX: usize = 256;
const AUDIENCE_MAX: usize = 256;

/// What a workload client trusts, as stored (JSON in
/// `clients.workload_trust`) and shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadTrust {
    pub preset: Preset,
    /// The `iss` the platform's tokens carry. With no static keys, the
    /// keys are found by OpenID discovery under it. May be empty only with
    /// static keys (a SPIFFE JWT-SVID need not carry `iss`).
    pub issuer: String,
    /// A JWK Set given instead of discovery (clusters without a public
    /// issuer), as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
    /// The `aud` the workload must ask its platform for.
    pub audience: String,
    /// Claim name → exact value or `*` pattern; every one must match.
    pub conditions: BTreeMap<String, String>,
}

/// A trust as typed in the console or sent to the management API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustInput {
    pub preset: String,
    pub issuer: String,
    /// A pasted JWK Set, or empty for discovery.
    pub jwks: String,
    pub audience: String,
    pub conditions: Vec<(String, String)>,
}

fn invalid(field: crate::error::Field, message: impl Into<String>) -> Error {
    Error::invalid(field, message)
}

impl WorkloadTrust {
    /// Checks what the partner wrote. `ours` is this server's issuer
    /// identifier, which the audience must name; `check_issuer` is the
    /// operator's outbound rule for URLs this server fetches (the issuer's
    /// discovery document), called only when discovery is used.
    pub fn from_input(
        input: &TrustInput,
        ours: &str,
        check_issuer: impl FnOnce(&str) -> Result<String>,
    ) -> Result<Self> {
        let preset = Preset::parse(&input.preset)?;
        let issuer = input.issuer.trim().to_owned();
        let jwks = match input.jwks.trim() {
            "" => None,
            text => Some(ClientKeys::from_set(text, "workload_jwks")?.to_json()),
        };
        if issuer.chars().count() > 2000 {
            return Err(invalid(
                "workload_issuer",
                "Use an issuer of at most 2000 characters.",
            ));
        }
        match (&jwks, issuer.is_empty()) {
            (None, true) => {
                return Err(invalid(
                    "workload_issuer",
                    "Enter the issuer URL of the workload's tokens, or paste its JWK Set.",
                ))
            }
            // Only SPIFFE JWT-SVIDs may lack `iss`: a pasted set of another
            // platform's keys (GitHub's are public) without an issuer
            // would admit every token those keys sign.
            (Some(_), true) if preset != Preset::Spiffe => {
                return Err(invalid(
                    "workload_issuer",
                    "Enter the issuer of the workload's tokens (their iss); only SPIFFE JWT-SVIDs may go without one.",
                ))
            }
            // Discovery: the URL must be one this server may fetch. The
            // issuer is kept as typed: `iss` is compared exactly.
            (None, false) => {
                // OpenID Connect Discovery 1.0 §4.3: no query or fragment.
                if issuer.contains(['?', '#']) {
                    return Err(invalid(
                        "workload_issuer",
                        "An issuer has no query or fragment.",
                    ));
                }
                check_issuer(&issuer)?;
            }
            (Some(_), _) => {
                if issuer.chars().any(char::is_control) {
                    return Err(invalid(
                        "workload_issuer",
                        "The issuer holds a control character.",
                    ));
                }
            }
        }
        let audience = input.audience.trim().to_owned();
        if audience.is_empty() || audience.chars().count() > AUDIENCE_MAX {
            return Err(invalid(
                "workload_audience",
                format!("Enter the audience the workload asks its platform for (at most {AUDIENCE_MAX} characters)."),
            ));
        }
        if !audience_names(ours, &audience) {
            return Err(invalid(
                "workload_audience",
                format!("The audience must name this server: {ours}, or a path under it (such as {ours}/clients/…). A token for another audience may have been shown to another service."),
            ));
        }
        let mut conditions = BTreeMap::new();
        for (claim, pattern) in &input.conditions {
            let (claim, pattern) = (claim.trim(), pattern.trim());
            if claim.is_empty() && pattern.is_empty() {
                continue;
            }
            check_condition(claim, pattern)?;
            if conditions
                .insert(claim.to_owned(), pattern.to_owned())
                .is_some()
            {
                return Err(invalid(
                    "workload_conditions",
                    format!("The claim {claim} has two conditions: give it one."),
                ));
            }
        }
        if conditions.len() > CONDITIONS_MAX {
            return Err(invalid(
                "workload_conditions",
                format!("Give at most {CONDITIONS_MAX} conditions."),
            ));
        }
        let trust = Self {
            preset,
            issuer,
            jwks,
            audience,
            conditions,
        };
        trust.check_pinned()?;
        Ok(trust)
    }

    /// A trust must name which workloads it admits: at least one condition
    /// that is more than `*`. On an issuer every stranger can get tokens
    /// from (GitHub, GitLab.com, …) it must name the owner: an id claim
    /// exactly, or a path claim (or `sub`) whose text before any `*`
    /// holds `owner/`; otherwise any repository whose owner's name merely
    /// begins the same could sign in. A SPIFFE trust names a SPIFFE ID.
    fn check_pinned(&self) -> Result<()> {
        let narrowing = |pattern: &str| pattern.chars().any(|c| c != '*');
        if !self.conditions.values().any(|p| narrowing(p)) {
            return Err(invalid(
                "workload_conditions",
                "Add at least one condition on the workload's claims (such as sub): without one, every workload of this issuer could sign in.",
            ));
        }
        if self.preset == Preset::Spiffe
            && !self
                .conditions
                .get("sub")
                .is_some_and(|p| p.starts_with("spiffe://") && literal_prefix(p).len() > 9)
        {
            return Err(invalid(
                "workload_conditions",
                "A SPIFFE trust names the workload's SPIFFE ID: a sub condition such as spiffe://acme.example/ns/payments/sa/sync.",
            ));
        }
        if let Some(shared) = presets::shared_issuer(&self.issuer) {
            let exact = shared
                .exact_claims
                .iter()
                .any(|c| self.conditions.get(*c).is_some_and(|p| !p.contains('*')));
            let owned_path = |p: &str| {
                let before = literal_prefix(p);
                before.find('/').is_some_and(|i| i > 0)
            };
            let path = shared
                .path_claims
                .iter()
                .any(|c| self.conditions.get(*c).is_some_and(|p| owned_path(p)));
            let by_sub = !shared.sub_prefix.is_empty()
                && self
                    .conditions
                    .get("sub")
                    .is_some_and(|p| p.strip_prefix(shared.sub_prefix).is_some_and(owned_path));
            if !exact && !path && !by_sub {
                let mut named: Vec<String> = shared
                    .exact_claims
                    .iter()
                    .map(|c| format!("{c} (exactly)"))
                    .collect();
                named.extend(shared.path_claims.iter().map(|c| format!("{c} (owner/…)")));
                if !shared.sub_prefix.is_empty() {
                    named.push(format!("sub ({}owner/…)", shared.sub_prefix));
                }
                return Err(invalid(
                    "workload_conditions",
                    format!(
                        "Every {} user gets tokens from this issuer: add a condition that names your own account on {}, not a prefix of it.",
                        shared.platform,
                        named.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The static keys, if the trust has them.
    pub fn static_keys(&self) -> Option<Result<ClientKeys>> {
        self.jwks
            .as_deref()
            .map(|json| ClientKeys::from_set(json, "workload_jwks"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_stored(json: &str) -> Result<Self> {
        serde_json::from_str(json)
            .map_err(|e| Error::Internal(format!("a stored workload trust cannot be read: {e}")))
    }

    /// One line for the audit log and the console: "GitHub Actions
    /// tokens from <issuer> for <audience> with repository=acme/api, …".
    pub fn describe(&self) -> String {
        let conditions = self
            .conditions
            .iter()
            .map(|(c, p)| format!("{c}={p}"))
            .collect::<Vec<_>>()
            .join(", ");
        let source = match (&self.jwks, self.issuer.as_str()) {
            (Some(_), "") => "tokens signed by the pasted JWK Set".to_owned(),
            (Some(_), iss) => format!("tokens from {iss} signed by the pasted JWK Set"),
            (None, iss) => format!("tokens from {iss}"),
        };
        format!(
            "{} {source} for audience {} with {conditions}",
            self.preset.label(),
            self.audience
        )
    }
}

fn check_condition(claim: &str, pattern: &str) -> Result<()> {
    let bad = |m: String| invalid("workload_conditions", m);
    if claim.is_empty() {
        return Err(bad(format!("Name the claim that must be {pattern}.")));
    }
    if claim.len() > CLAIM_MAX
        || !claim
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c))
    {
        return Err(bad(format!(
            "A claim name is at most {CLAIM_MAX} letters, digits and _ - . : / (got {claim:?})."
        )));
    }
    if pattern.is_empty() {
        return Err(bad(format!("Give the value {claim} must have.")));
    }
    if pattern.chars().count() > PATTERN_MAX || pattern.chars().any(char::is_control) {
        return Err(bad(format!(
            "The value for {claim} is at most {PATTERN_MAX} characters, without control characters."
        )));
    }
    Ok(())
}

/// Is `audience` this server's issuer identifier `ours`, or a path under
/// it? (RFC 7523 §3 item 3: the audience identifies the server; a token
/// meant for someone else must not work here.)
pub fn audience_names(ours: &str, audience: &str) -> bool {
    let ours = ours.trim_end_matches('/');
    audience == ours
        || audience
            .strip_prefix(ours)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The text of `pattern` before its first `*`.
fn literal_prefix(pattern: &str) -> &str {
    pattern.split('*').next().unwrap_or_default()
}

/// Does `value` match `pattern`? `*` stands for any run of characters
/// (none included); everything else is literal. Linear in practice: the
/// classic greedy matcher with one backtrack point.
pub fn matches(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests;
