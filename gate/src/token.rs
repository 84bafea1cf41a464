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
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://issuer.example";

    /// An ES256 key pair and its JWK Set entry.
    fn key(kid: &str) -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({ "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..]) });
        (pair, jwk)
    }

    fn claims() -> Value {
        json!({ "iss": ISSUER, "sub": "pcl_1", "client_id": "pcl_1", "aud": "https://issuer.example/partner/v1",
            "iat": 1_000, "exp": 1_900, "jti": "tok_1", "scope": "applications:read decisions:read",
            "account_id": "acc_1", "project_id": "prj_1" })
    }

    fn sign(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", B64URL.encode(sig.as_ref()))
    }

    fn header(kid: &str) -> Value {
        json!({ "alg": "ES256", "typ": "at+jwt", "kid": kid })
    }

    fn keys(jwks: Value) -> KeySet {
        KeySet::from_jwks(&jwks).unwrap()
    }

    #[test]
    fn a_token_signed_by_a_published_key_verifies() {
        let (pair, jwk) = key("k1");
        let set = keys(json!({ "keys": [jwk] }));
        let c = verify(&sign(&pair, &header("k1"), &claims()), &set, ISSUER).unwrap();
        assert_eq!((c.jti.as_str(), c.exp), ("tok_1", 1_900));
        assert!(c.has_scope("decisions:read"));
        assert!(
            !c.has_scope("decisions"),
            "scopes match whole, never by prefix"
        );
    }

    #[test]
    fn a_critical_header_is_refused() {
        let (pair, jwk) = key("k1");
        let set = keys(json!({ "keys": [jwk] }));
        let mut h = header("k1");
        h["crit"] = json!(["exp"]);
        h["exp"] = json!(1);
        assert_eq!(
            verify(&sign(&pair, &h, &claims()), &set, ISSUER).err(),
            Some(Rejected::Malformed)
        );
    }

    #[test]
    fn what_is_refused_and_why() {
        let (pair, jwk) = key("k1");
        let (other, _) = key("k1");
        let set = keys(json!({ "keys": [jwk] }));
        let good = sign(&pair, &header("k1"), &claims());
        let mut wrong_iss = claims();
        wrong_iss["iss"] = json!("https://elsewhere.example");
        let (h, rest) = good.split_once('.').unwrap();
        let (_, s) = rest.rsplit_once('.').unwrap();
        let mut more = claims();
        more["scope"] = json!("applications:read applications:write");
        let swapped = format!("{h}.{}.{s}", B64URL.encode(more.to_string()));
        for (token, why) in [
            (String::new(), Rejected::Malformed),
            ("a.b".into(), Rejected::Malformed),
            ("a.b.c.d".into(), Rejected::Malformed),
            ("!!.??.##".into(), Rejected::Malformed),
            (swapped, Rejected::BadSignature),
            (
                sign(&other, &header("k1"), &claims()),
                Rejected::BadSignature,
            ),
            (
                sign(&pair, &header("k1"), &wrong_iss),
                Rejected::BadSignature,
            ),
            (
                sign(&pair, &json!({ "alg": "ES256", "kid": "k1" }), &claims()),
                Rejected::BadSignature,
            ),
            (
                sign(
                    &pair,
                    &json!({ "alg": "ES256", "typ": "JWT", "kid": "k1" }),
                    &claims(),
                ),
                Rejected::BadSignature,
            ),
            (
                sign(
                    &pair,
                    &json!({ "alg": "ES256", "typ": "at+jwt" }),
                    &claims(),
                ),
                Rejected::BadSignature,
            ),
            (
                sign(
                    &pair,
                    &json!({ "alg": "none", "typ": "at+jwt", "kid": "k1" }),
                    &claims(),
                ),
                Rejected::BadSignature,
            ),
            (
                sign(
                    &pair,
                    &json!({ "alg": "RS256", "typ": "at+jwt", "kid": "k1" }),
                    &claims(),
                ),
                Rejected::BadSignature,
            ),
            (sign(&pair, &header("k2"), &claims()), Rejected::UnknownKey),
        ] {
            assert_eq!(verify(&token, &set, ISSUER).unwrap_err(), why, "{token}");
        }
    }

    #[test]
    fn time_checks_have_their_leeway_and_no_more() {
        let c: Claims = serde_json::from_value(claims()).unwrap();
        assert_eq!(check_time(&c, 1_899, 0), Ok(()));
        assert_eq!(check_time(&c, 1_900, 0), Err(Rejected::Expired));
        assert_eq!(check_time(&c, 1_904, 5), Ok(()));
        assert_eq!(check_time(&c, 1_905, 5), Err(Rejected::Expired));
        // Issued ahead of this clock: up to the leeway only.
        assert_eq!(check_time(&c, 1_000 - CLOCK_LEEWAY_SECS, 0), Ok(()));
        assert_eq!(
            check_time(&c, 1_000 - CLOCK_LEEWAY_SECS - 1, 0),
            Err(Rejected::NotYetValid)
        );
        let mut later = c.clone();
        later.nbf = Some(1_500);
        assert_eq!(check_time(&later, 1_400, 0), Err(Rejected::NotYetValid));
        assert_eq!(check_time(&later, 1_470, 0), Ok(()));
    }

    #[test]
    fn a_jwk_set_keeps_the_keys_it_can_use() {
        let (_, jwk) = key("k1");
        let set = keys(json!({ "keys": [
            jwk,
            { "kty": "oct", "kid": "sym", "alg": "HS256", "k": "c2VjcmV0" },
            { "kty": "EC", "kid": "no-x", "alg": "ES256", "y": "AA" },
            { "kty": "EC", "alg": "ES256", "x": "AA", "y": "AA" },
        ] }));
        assert_eq!(set.len(), 1);
        // The key's type, curve and use must fit its algorithm.
        let (_, good) = key("k2");
        for (member, value) in [("kty", "RSA"), ("crv", "P-384"), ("use", "enc")] {
            let mut bad = good.clone();
            bad[member] = json!(value);
            assert!(VerifyingKey::from_jwk(&bad).is_err(), "{member}: {value}");
        }
        let mut no_crv = good.clone();
        no_crv.as_object_mut().unwrap().remove("crv");
        assert!(VerifyingKey::from_jwk(&no_crv).is_err());
        assert!(VerifyingKey::from_jwk(&good).is_ok());
        assert!(set.get("k1").is_some_and(|k| k.alg == Alg::ES256));
        assert!(KeySet::from_jwks(&json!({ "key": [] })).is_err());
        assert!(keys(json!({ "keys": [] })).is_empty());
    }
}
