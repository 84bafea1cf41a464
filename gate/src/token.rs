//! Access tokens as the issuer mints them (RFC 9068 JWTs in the compact JWS
//! form of RFC 7515) and their verification against the published keys.
//! Only the key decides the algorithm: a token's header cannot choose one.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::signature;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::{Epoch, Secs};

/// The signature algorithms the issuer signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum Alg {
    ES256,
    RS256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Alg::ES256),
            "RS256" => Some(Alg::RS256),
            _ => None,
        }
    }
}

/// The claims of every access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    pub aud: String,
    pub iat: Epoch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<Epoch>,
    pub exp: Epoch,
    pub jti: String,
    pub scope: String,
    pub account_id: String,
    pub project_id: String,
    /// RFC 9449 §6.1: the key a DPoP-bound token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 §3.1's `cnf`, with the member RFC 9449 §6.1 defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the client's DPoP key.
    pub jkt: String,
}

impl Claims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Why a presented token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature, type or issuer is not ours")]
    BadSignature,
    /// Signed with a key id the verifier does not know (yet).
    #[error("the token's signing key is unknown")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued in the future")]
    NotYetValid,
    #[error("the token has been revoked")]
    Revoked,
    #[error("the token's client can no longer be used")]
    ClientUnusable,
    #[error("the token is for another API")]
    WrongAudience,
}

impl Rejected {
    /// What a resource server tells the caller (RFC 6750 `error_description`).
    pub fn describe(self) -> &'static str {
        match self {
            Rejected::Expired => "the token has expired",
            Rejected::Revoked => "the token has been revoked",
            Rejected::WrongAudience => "the token is for another API",
            Rejected::ClientUnusable => "the token's client or project is no longer active",
            Rejected::NotYetValid => "the token is not valid yet",
            Rejected::Malformed | Rejected::BadSignature | Rejected::UnknownKey => {
                "the token is not a valid access token"
            }
        }
    }
}

/// A public key as published in the issuer's JWK Set.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub alg: Alg,
    public: Public,
}

#[derive(Debug, Clone)]
enum Public {
    Ec(Vec<u8>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// A JWK that cannot be used to verify our tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable public JWK: {0}")]
pub struct BadKey(String);

impl VerifyingKey {
    pub fn from_jwk(jwk: &Value) -> Result<Self, BadKey> {
        let bad = |what: &str| BadKey(format!("{what} in {jwk}"));
        let field = |name: &str| -> Result<Vec<u8>, BadKey> {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(|s| B64URL.decode(s).ok())
                .ok_or_else(|| bad(&format!("no base64url {name:?}")))
        };
        let kid = jwk
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no kid"))?;
        let alg = jwk
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
            .ok_or_else(|| bad("no ES256 or RS256 alg"))?;
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        // RFC 7518 §6: the key's type (and curve) must be the algorithm's;
        // RFC 7517 §4.2: a key published for encryption does not sign.
        let typed = match alg {
            Alg::ES256 => text("kty") == Some("EC") && text("crv") == Some("P-256"),
            Alg::RS256 => text("kty") == Some("RSA"),
        };
        if !typed {
            return Err(bad("a kty or crv that is not the alg's"));
        }
        if text("use").is_some_and(|u| u != "sig") {
            return Err(bad("a key not for signatures"));
        }
        let public = match alg {
            Alg::ES256 => {
                let mut point = vec![4u8];
                point.extend(field("x")?);
                point.extend(field("y")?);
                Public::Ec(point)
            }
            Alg::RS256 => Public::Rsa {
                n: field("n")?,
                e: field("e")?,
            },
        };
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            public,
        })
    }

    /// Checks the signature of `signing_input` (`header.payload`).
    pub fn verify(&self, signing_input: &[u8], sig: &[u8]) -> bool {
        match &self.public {
            Public::Ec(point) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(signing_input, sig)
                    .is_ok()
            }
            Public::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signing_input, sig)
                .is_ok(),
        }
    }
}

/// The keys of one JWK Set, by key id.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

impl KeySet {
    /// Every usable key of a JWK Set document (`{"keys": [...]}`). Keys of
    /// other types are skipped; a document without a key list is an error.
    pub fn from_jwks(jwks: &Value) -> Result<Self, BadKey> {
        let list = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| BadKey("a JWK Set needs a \"keys\" array".into()))?;
        let mut set = Self::default();
        for jwk in list {
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => set.insert(key),
                Err(e) => tracing::warn!(error = %e, "skipped a key of the JWK Set"),
            }
        }
        Ok(set)
    }

    pub fn insert(&mut self, key: VerifyingKey) {
        self.keys.insert(key.kid.clone(), key);
    }

    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Checks header (`typ` = `at+jwt`, a known `kid`, the key's own `alg`),
/// signature and issuer; returns what the token says. Time, audience and
/// revocation are the caller's to check.
pub fn verify(token: &str, keys: &KeySet, issuer: &str) -> Result<Claims, Rejected> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        typ: Option<String>,
        kid: Option<String>,
        crit: Option<Value>,
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejected::Malformed);
    };
    let decode = |part: &str| B64URL.decode(part).map_err(|_| Rejected::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| Rejected::Malformed)?;
    if !header.typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) {
        return Err(Rejected::BadSignature);
    }
    // RFC 7515 §4.1.11: we understand no extension, so none may be critical.
    if header.crit.is_some() {
        return Err(Rejected::Malformed);
    }
    let kid = header.kid.ok_or(Rejected::BadSignature)?;
    let key = keys.get(&kid).ok_or(Rejected::UnknownKey)?;
    // The key fixes the algorithm: a header cannot talk us into another.
    if header.alg != key.alg.as_str() {
        return Err(Rejected::BadSignature);
    }
    let signing_input = &token[..h.len() + 1 + p.len()];
    if !key.verify(signing_input.as_bytes(), &decode(s)?) {
        return Err(Rejected::BadSignature);
    }
    let claims: Claims = serde_json::from_slice(&decode(p)?).map_err(|_| Rejected::Malformed)?;
    if claims.iss != issuer {
        return Err(Rejected::BadSignature);
    }
    Ok(claims)
}

/// How far a token's `iat` or `nbf` may be ahead of the verifier's clock.
pub const CLOCK_LEEWAY_SECS: Secs = 30;

/// The time checks: `exp` (with `exp_leeway` seconds of grace for a
/// verifier whose clock runs behind the issuer's) and `iat`/`nbf` (with
/// [`CLOCK_LEEWAY_SECS`]).
pub fn check_time(claims: &Claims, now: Epoch, exp_leeway: Secs) -> Result<(), Rejected> {
    if claims.exp + exp_leeway <= now {
        return Err(Rejected::Expired);
    }
    let not_before = claims.nbf.map_or(claims.iat, |nbf| nbf.max(claims.iat));
    if not_before > now + CLOCK_LEEWAY_SECS {
        return Err(Rejected::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
