//! Checking a workload's platform token against its client's trust.
//!
//! The token is a JWT the platform signed (RFC 7519), sent as the
//! `client_assertion` (RFC 7521 §4.2). Unlike a `private_key_jwt`
//! assertion its `iss` and `sub` are the platform's and the workload's,
//! not the client id; and it is not refused when seen twice: platforms
//! hand the same token to a workload for its whole life (a Kubernetes
//! projected token is re-read from a file; SPIFFE JWT-SVIDs are cached,
//! and draft-ietf-oauth-spiffe-client-auth-02 makes `jti` optional). What
//! keeps a copied token from being worth much is its audience (this
//! server alone accepts it), its short life, and the conditions.

use serde_json::{Map, Value};

use super::{matches, WorkloadTrust};
use crate::client_keys::{ClientKeys, Unverified};
use crate::clock::{Epoch, Secs};

/// Platform tokens living longer than this are refused: a workload token
/// is meant to be short-lived (GitHub's live minutes, Kubernetes'
/// projected tokens an hour by default).
pub const MAX_LIFETIME_SECS: Secs = 24 * 3600;

/// How far the platform's clock may be ahead of ours (`iat`, `nbf`) or
/// behind (`exp`).
pub const SKEW_SECS: Secs = 30;

/// Who signed in: for the audit log and the client's "last used".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub issuer: String,
    pub subject: String,
    /// The conditions' claims with the values the token had.
    pub matched: Vec<(String, String)>,
}

impl Workload {
    /// "sub repo:acme/api:ref:refs/heads/main from https://… (repository=acme/api)".
    pub fn describe(&self) -> String {
        let matched = self
            .matched
            .iter()
            .filter(|(c, _)| c != "sub")
            .map(|(c, v)| format!("{c}={}", shown(v)))
            .collect::<Vec<_>>()
            .join(", ");
        let from = match self.issuer.as_str() {
            "" => String::new(),
            iss => format!(" from {}", shown(iss)),
        };
        let sub = shown(&self.subject);
        match matched.as_str() {
            "" => format!("sub {sub}{from}"),
            m => format!("sub {sub}{from} ({m})"),
        }
    }
}

/// Why a platform token is refused. Logged for the operator; the client
/// only ever hears `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a compact JWS with a JSON payload")]
    Malformed,
    #[error("critical header parameters")]
    Critical,
    #[error("an algorithm no trusted key has")]
    Algorithm,
    #[error("no trusted key verifies the signature")]
    Signature,
    #[error("iss is not the trusted issuer")]
    Issuer,
    #[error("aud does not name the trusted audience")]
    Audience,
    #[error("no exp, or expired")]
    Expired,
    #[error("issued or valid only in the future")]
    NotYetValid,
    #[error("lives longer than a day")]
    TooLong,
    #[error("no sub")]
    Subject,
    #[error("the claim {0} does not meet its condition")]
    Condition(String),
}

/// Checks `token` against `trust` with the issuer's `keys`: signature by
/// one of them with its own algorithm, `iss` the trusted issuer (when one
/// is set), `aud` (a string or an array) naming the trusted audience,
/// `exp` present and ahead, `iat`/`nbf` not ahead, at most
/// [`MAX_LIFETIME_SECS`] of life, a `sub`, and every condition met.
pub fn check(
    token: &str,
    trust: &WorkloadTrust,
    keys: &ClientKeys,
    now: Epoch,
) -> Result<Workload, Refusal> {
    let claims = keys.verified_claims(token).map_err(|e| match e {
        Unverified::Malformed => Refusal::Malformed,
        Unverified::Critical => Refusal::Critical,
        Unverified::Algorithm => Refusal::Algorithm,
        Unverified::Signature => Refusal::Signature,
    })?;
    check_claims(&claims, trust, now)
}

fn check_claims(
    claims: &Map<String, Value>,
    trust: &WorkloadTrust,
    now: Epoch,
) -> Result<Workload, Refusal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    // RFC 7523 §3 item 1, with the issuer the partner trusts in place of
    // the client id. A trust of static keys without an issuer takes any
    // `iss` (SPIFFE JWT-SVIDs need not carry one).
    if !trust.issuer.is_empty() && text("iss") != Some(trust.issuer.as_str()) {
        return Err(Refusal::Issuer);
    }
    // RFC 7519 §4.1.3: aud is a string or an array; ours must be in it.
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == trust.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&trust.audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(Refusal::Audience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(Refusal::Expired)?;
    if exp.saturating_add(SKEW_SECS) <= now {
        return Err(Refusal::Expired);
    }
    for name in ["nbf", "iat"] {
        if let Some(v) = claims.get(name) {
            match v.as_i64() {
                Some(t) if t <= now.saturating_add(SKEW_SECS) => {}
                _ => return Err(Refusal::NotYetValid),
            }
        }
    }
    let start = claims.get("iat").and_then(Value::as_i64).unwrap_or(now);
    if exp.saturating_sub(start) > MAX_LIFETIME_SECS
        || exp > now.saturating_add(MAX_LIFETIME_SECS + SKEW_SECS)
    {
        return Err(Refusal::TooLong);
    }
    let subject = text("sub")
        .filter(|s| !s.is_empty())
        .ok_or(Refusal::Subject)?;
    let mut matched = Vec::with_capacity(trust.conditions.len());
    for (claim, pattern) in &trust.conditions {
        let value = claim_text(claims.get(claim))
            .filter(|v| matches(pattern, v))
            .ok_or_else(|| Refusal::Condition(claim.clone()))?;
        matched.push((claim.clone(), value));
    }
    Ok(Workload {
        issuer: text("iss").unwrap_or_default().to_owned(),
        subject: subject.to_owned(),
        matched,
    })
}

/// Claim values longer than this match no condition (and cost no time).
const VALUE_MAX: usize = 1024;

/// A claim as conditions see it: a string as is, a number or boolean as
/// its JSON text; anything else (absent, null, arrays, objects, text over
/// [`VALUE_MAX`] bytes) matches nothing.
fn claim_text(v: Option<&Value>) -> Option<String> {
    let text = match v? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (text.len() <= VALUE_MAX).then_some(text)
}

/// A claim value as logs and the audit log show it: no control
/// characters, at most 200 characters.
fn shown(value: &str) -> String {
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect();
    match value.chars().count() > 200 {
        true => format!("{clean}…"),
        false => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Preset, WorkloadTrust};
    use super::*;
    use serde_json::json;

    fn trust() -> WorkloadTrust {
        WorkloadTrust {
            preset: Preset::GithubActions,
            issuer: "https://token.actions.githubusercontent.com".into(),
            jwks: None,
            audience: "https://as.example".into(),
            conditions: [
                ("repository".to_owned(), "acme/*".to_owned()),
                ("ref".to_owned(), "refs/heads/main".to_owned()),
            ]
            .into(),
        }
    }

    fn good() -> Value {
        json!({ "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:acme/api:ref:refs/heads/main", "aud": "https://as.example",
            "repository": "acme/api", "ref": "refs/heads/main", "run_id": 42,
            "iat": 1_000, "nbf": 1_000, "exp": 1_300 })
    }

    fn with(name: &str, value: Value) -> Map<String, Value> {
        let mut c = good();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(name);
        } else {
            c[name] = value;
        }
        c.as_object().unwrap().clone()
    }

    #[test]
    fn a_github_shaped_token_and_each_refusal() {
        let ok = check_claims(good().as_object().unwrap(), &trust(), 1_010).unwrap();
        assert_eq!(ok.subject, "repo:acme/api:ref:refs/heads/main");
        assert_eq!(
            ok.describe(),
            "sub repo:acme/api:ref:refs/heads/main from https://token.actions.githubusercontent.com (ref=refs/heads/main, repository=acme/api)"
        );
        let reused = check_claims(good().as_object().unwrap(), &trust(), 1_200);
        assert!(reused.is_ok(), "a platform token may be used again");
        assert!(check_claims(
            &with("aud", json!(["x", "https://as.example"])),
            &trust(),
            1_010
        )
        .is_ok());
        for (c, why) in [
            (with("iss", json!("https://gitlab.com")), Refusal::Issuer),
            (with("iss", Value::Null), Refusal::Issuer),
            (
                with("aud", json!("https://other.example")),
                Refusal::Audience,
            ),
            (with("aud", Value::Null), Refusal::Audience),
            (with("exp", Value::Null), Refusal::Expired),
            (with("exp", json!(900)), Refusal::Expired),
            (with("iat", json!(2_000)), Refusal::NotYetValid),
            (with("nbf", json!("soon")), Refusal::NotYetValid),
            (with("exp", json!(1_000 + 2 * 86_400)), Refusal::TooLong),
            (with("sub", json!("")), Refusal::Subject),
            (
                with("repository", json!("evil/api")),
                Refusal::Condition("repository".into()),
            ),
            (
                with("ref", json!("refs/heads/dev")),
                Refusal::Condition("ref".into()),
            ),
            (
                with("ref", json!(["refs/heads/main"])),
                Refusal::Condition("ref".into()),
            ),
            (with("ref", Value::Null), Refusal::Condition("ref".into())),
        ] {
            assert_eq!(check_claims(&c, &trust(), 1_010), Err(why), "{c:?}");
        }
    }

    #[test]
    fn static_keys_without_an_issuer_take_any_iss() {
        let mut t = trust();
        t.issuer = String::new();
        t.conditions = [("run_id".to_owned(), "42".to_owned())].into();
        let c = with("iss", Value::Null);
        let w = check_claims(&c, &t, 1_010).unwrap();
        assert_eq!(w.matched, vec![("run_id".to_owned(), "42".to_owned())]);
    }
}
