//! `private_key_jwt` client authentication (RFC 7523 §2.2 with the
//! claims of §3, RFC 7521 §4.2): a JWT the client signs with its private
//! key instead of sending a secret.
//!
//! Only what the signature and claims say is checked here; that the `jti`
//! is used once on every node is [`crate::used_once`]'s, and the caller's.

use portcullis_gate::jws::CompactJws;
use serde_json::{Map, Value};

use crate::client_keys::{ClientKeys, Unverified};
use crate::clock::{Epoch, Secs};

/// RFC 7523 §2.2's `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The JWT-SVID assertion type of draft-ietf-oauth-spiffe-client-auth-02
/// (a SPIFFE workload's token), taken for workload identity clients.
pub const JWT_SPIFFE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";

/// Which `client_assertion_type` a request named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionKind {
    /// RFC 7523 §2.2: a key client's own assertion, or a workload's
    /// platform token.
    JwtBearer,
    /// A SPIFFE JWT-SVID, for workload identity clients only.
    Spiffe,
}

impl AssertionKind {
    /// RFC 7521 §4.2: the type names the assertion's format.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            JWT_BEARER => Some(Self::JwtBearer),
            JWT_SPIFFE => Some(Self::Spiffe),
            _ => None,
        }
    }
}

/// An assertion lives at most this long (`exp` − `iat`), so the set of
/// `jti` values remembered stays small.
pub const MAX_LIFETIME_SECS: Secs = 300;

/// How far the client's clock may be ahead of ours (`iat`, `nbf`) or
/// behind (`exp`).
pub const SKEW_SECS: Secs = 30;

/// The longest `jti` remembered.
const JTI_MAX: usize = 256;

/// A checked assertion: its client, and the `jti` and expiry the replay
/// store must see once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asserted {
    pub client_id: String,
    pub jti: String,
    pub exp: Epoch,
}

/// Why an assertion is refused. Logged for the operator; the client only
/// ever hears `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a compact JWS with a JSON payload")]
    Malformed,
    #[error("critical header parameters")]
    Critical,
    #[error("an algorithm other than the client key's")]
    Algorithm,
    #[error("no key of the client verifies the signature")]
    Signature,
    #[error("iss or sub is not the client id")]
    Subject,
    #[error("aud is not this issuer or its token endpoint")]
    Audience,
    #[error("no exp, or expired")]
    Expired,
    #[error("issued or valid only in the future")]
    NotYetValid,
    #[error("lives longer than five minutes")]
    TooLong,
    #[error("no usable jti")]
    Jti,
    #[error("the jti was used before")]
    Replayed,
}

/// The `sub` (else `iss`) of an assertion, unverified: which client's keys
/// to check it with when the request names no `client_id`.
pub fn claimed_client(assertion: &str) -> Option<String> {
    let jws = CompactJws::parse(assertion).ok()?;
    let claims = jws.claims().ok()?;
    claims
        .get("sub")
        .or_else(|| claims.get("iss"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Checks `assertion` for `client_id` against the client's `keys`:
/// signature by one of them with its own algorithm, `iss` = `sub` = the
/// client, `aud` one of `audiences`, `exp` present and ahead, at most
/// [`MAX_LIFETIME_SECS`] of life, `iat`/`nbf` not ahead by more than
/// [`SKEW_SECS`], and a `jti`.
pub fn check(
    assertion: &str,
    client_id: &str,
    keys: &ClientKeys,
    audiences: &[&str],
    now: Epoch,
) -> Result<Asserted, Refusal> {
    let claims = keys.verified_claims(assertion).map_err(|e| match e {
        Unverified::Malformed => Refusal::Malformed,
        Unverified::Critical => Refusal::Critical,
        Unverified::Algorithm => Refusal::Algorithm,
        Unverified::Signature => Refusal::Signature,
    })?;
    check_claims(&claims, client_id, audiences, now)
}

fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    audiences: &[&str],
    now: Epoch,
) -> Result<Asserted, Refusal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    // §3 items 1 and 2: for client authentication, iss and sub are both
    // the client id.
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(Refusal::Subject);
    }
    // §3 item 3: aud names this server. One string only, as
    // draft-ietf-oauth-rfc7523bis §4 requires: an assertion that names
    // several audiences is one another server could have asked for.
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        _ => false,
    };
    if !aud_ok {
        return Err(Refusal::Audience);
    }
    // §3 item 4: exp is required and must be ahead of us.
    let exp = time("exp").ok_or(Refusal::Expired)?;
    if exp.saturating_add(SKEW_SECS) <= now {
        return Err(Refusal::Expired);
    }
    // §3 items 5 and 6: not before nbf, not issued in the future.
    for name in ["nbf", "iat"] {
        match claims.get(name) {
            None => {}
            Some(v) => match v.as_i64() {
                Some(t) if t <= now + SKEW_SECS => {}
                _ => return Err(Refusal::NotYetValid),
            },
        }
    }
    // A short life keeps the remembered jti values few: with iat, exp
    // is at most five minutes after it; without, at most five from now.
    let start = time("iat").unwrap_or(now);
    if exp.saturating_sub(start) > MAX_LIFETIME_SECS || exp > now + MAX_LIFETIME_SECS + SKEW_SECS {
        return Err(Refusal::TooLong);
    }
    // §3 item 7: a jti, which the caller records as used.
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= JTI_MAX)
        .ok_or(Refusal::Jti)?;
    Ok(Asserted {
        client_id: client_id.to_owned(),
        jti: jti.to_owned(),
        exp: exp + SKEW_SECS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUD: &[&str] = &["https://as.example", "https://as.example/oauth/token"];

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn good() -> Value {
        json!({ "iss": "pcl_1", "sub": "pcl_1", "aud": "https://as.example",
            "iat": 1_000, "exp": 1_060, "jti": "j-1" })
    }

    #[test]
    fn the_claims_of_rfc_7523_section_3() {
        let ok = check_claims(&claims(good()), "pcl_1", AUD, 1_010).unwrap();
        assert_eq!((ok.jti.as_str(), ok.exp), ("j-1", 1_060 + SKEW_SECS));
        let mut endpoint = good();
        endpoint["aud"] = json!("https://as.example/oauth/token");
        assert!(check_claims(&claims(endpoint), "pcl_1", AUD, 1_010).is_ok());

        let with = |name: &str, value: Value| {
            let mut c = good();
            if value.is_null() {
                c.as_object_mut().unwrap().remove(name);
            } else {
                c[name] = value;
            }
            claims(c)
        };
        for (c, now, why) in [
            (with("iss", json!("pcl_2")), 1_010, Refusal::Subject),
            (with("sub", Value::Null), 1_010, Refusal::Subject),
            (
                with("aud", json!("https://as.example/")),
                1_010,
                Refusal::Audience,
            ),
            (with("aud", json!(["x"])), 1_010, Refusal::Audience),
            (
                with("aud", json!(["https://as.example"])),
                1_010,
                Refusal::Audience,
            ),
            (with("exp", json!(i64::MAX)), 1_010, Refusal::TooLong),
            (
                with("iat", json!(i64::MIN)).tap_exp(1_060),
                1_010,
                Refusal::TooLong,
            ),
            (with("aud", Value::Null), 1_010, Refusal::Audience),
            (with("exp", Value::Null), 1_010, Refusal::Expired),
            (
                good().as_object().unwrap().clone(),
                1_060 + SKEW_SECS,
                Refusal::Expired,
            ),
            (with("iat", json!(1_100)), 1_010, Refusal::NotYetValid),
            (with("nbf", json!("soon")), 1_010, Refusal::NotYetValid),
            (with("exp", json!(1_301)), 1_010, Refusal::TooLong),
            (
                with("iat", Value::Null).tap_exp(2_000),
                1_010,
                Refusal::TooLong,
            ),
            (with("jti", Value::Null), 1_010, Refusal::Jti),
            (with("jti", json!("x".repeat(300))), 1_010, Refusal::Jti),
        ] {
            assert_eq!(check_claims(&c, "pcl_1", AUD, now), Err(why), "{c:?}");
        }
    }

    trait TapExp {
        fn tap_exp(self, exp: i64) -> Self;
    }
    impl TapExp for Map<String, Value> {
        fn tap_exp(mut self, exp: i64) -> Self {
            self.insert("exp".into(), json!(exp));
            self
        }
    }
}
