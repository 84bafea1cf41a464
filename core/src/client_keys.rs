//! The public keys of a `private_key_jwt` client (RFC 7523 §2.2): what a
//! partner pastes (a JWK, a JWK Set or PEM public keys), checked and kept
//! as a JWK Set of one or two keys. Two keys let a partner rotate without
//! downtime: add the new key, move the workload to it, remove the old one.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use portcullis_gate::jws::{BadJws, CompactJws, JwsAlg, PublicJwk};
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

/// Keys a client holds at once: the one in use and its successor.
pub const KEYS_PER_CLIENT_MAX: usize = 2;

/// Keys read from a partner's `jwks_uri` at most (others are ignored).
pub const REMOTE_KEYS_MAX: usize = 10;

/// The longest paste read (two 8192-bit RSA keys as PEM fit easily).
const INPUT_MAX: usize = 16 * 1024;

const FIELD: &str = "public_keys";

/// What proves a client that holds no secret: its keys, pasted or at a
/// URL the partner hosts, or a workload identity trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeysInput<'a> {
    Pasted(&'a str),
    JwksUri(&'a str),
    Workload(&'a crate::workload_identity::TrustInput),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKeys {
    keys: Vec<PublicJwk>,
}

/// Why a JWS is not verified by a set of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// Not a compact JWS with a JSON payload.
    Malformed,
    /// It has critical header parameters.
    Critical,
    /// No key of the set has its algorithm.
    Algorithm,
    /// No key of the set verifies the signature.
    Signature,
}

/// One key as the console and the management API show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeySummary {
    pub kid: String,
    pub alg: String,
    /// RFC 7638 SHA-256 thumbprint.
    pub thumbprint: String,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(FIELD, message)
}

impl ClientKeys {
    /// Reads what a partner pasted: a JWK, a JWK Set (`{"keys": [...]}`),
    /// a JSON array of JWKs, or one or two PEM public keys
    /// (`BEGIN PUBLIC KEY`, or `BEGIN RSA PUBLIC KEY`). A key without a
    /// `kid` is named by its thumbprint.
    pub fn parse(input: &str) -> Result<Self> {
        let input = input.trim();
        if input.is_empty() {
            return Err(invalid(
                "paste a public key: a JWK, a JWK Set or a PEM public key",
            ));
        }
        if input.len() > INPUT_MAX {
            return Err(invalid("that is too long for one or two public keys"));
        }
        let jwks: Vec<Value> = if input.starts_with("-----BEGIN") {
            pem_blocks(input)?
                .into_iter()
                .map(|(label, der)| pem_to_jwk(&label, &der))
                .collect::<Result<_>>()?
        } else {
            let value: Value = serde_json::from_str(input).map_err(|_| {
                invalid("this is neither JSON (a JWK or JWK Set) nor a PEM public key")
            })?;
            match value {
                Value::Array(list) => list,
                Value::Object(ref o) if o.contains_key("keys") => match value.get("keys") {
                    Some(Value::Array(list)) => list.clone(),
                    _ => return Err(invalid("a JWK Set's \"keys\" must be an array")),
                },
                other => vec![other],
            }
        };
        let keys = Self::from_jwks(&jwks)?;
        for (i, key) in keys.keys.iter().enumerate() {
            key.check_usable().map_err(|e| match keys.keys.len() {
                1 => invalid(e.0),
                _ => invalid(format!("key {}: {}", i + 1, e.0)),
            })?;
        }
        Ok(keys)
    }

    fn from_jwks(list: &[Value]) -> Result<Self> {
        if list.is_empty() {
            return Err(invalid("give at least one public key"));
        }
        if list.len() > KEYS_PER_CLIENT_MAX {
            return Err(invalid(format!(
                "a client holds at most {KEYS_PER_CLIENT_MAX} keys: the one in use and its successor"
            )));
        }
        let mut keys: Vec<PublicJwk> = Vec::with_capacity(list.len());
        for (i, jwk) in list.iter().enumerate() {
            let mut key = PublicJwk::from_jwk(jwk).map_err(|e| match list.len() {
                1 => invalid(e.0),
                _ => invalid(format!("key {}: {}", i + 1, e.0)),
            })?;
            if key.kid().is_none() {
                key.set_kid(key.thumbprint().to_owned());
            }
            if keys.iter().any(|k| k.thumbprint() == key.thumbprint()) {
                return Err(invalid("the same key is given twice"));
            }
            if keys.iter().any(|k| k.kid() == key.kid()) {
                return Err(invalid("two keys have the same kid: give each its own"));
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// The signing keys of a JWK Set a partner hosts: keys this server
    /// cannot use (encryption keys, other curves) are skipped, as a JWKS
    /// may hold keys for other parties; at least one must be usable.
    pub fn from_remote(text: &str) -> Result<Self> {
        let bad = |m: &str| Error::invalid("jwks_uri", m.to_owned());
        if text.len() > 64 * 1024 {
            return Err(bad("the JWK Set at that URL is larger than 64 KiB"));
        }
        let set: Value =
            serde_json::from_str(text).map_err(|_| bad("that URL does not answer JSON"))?;
        let list = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("that URL does not answer a JWK Set ({\"keys\": [...]})"))?;
        let keys = signing_keys(list);
        if keys.is_empty() {
            return Err(bad(
                "the JWK Set at that URL holds no EC P-256, RSA (2048+) or Ed25519 signing key",
            ));
        }
        Ok(Self { keys })
    }

    /// A JWK Set pasted or stored for a workload trust (a cluster's or a
    /// trust domain's signing keys): as [`ClientKeys::from_remote`], up to
    /// [`REMOTE_KEYS_MAX`] usable keys, errors named for `field`.
    pub fn from_set(text: &str, field: crate::error::Field) -> Result<Self> {
        let bad = |m: &str| Error::invalid(field, m.to_owned());
        if text.len() > 64 * 1024 {
            return Err(bad("Paste a JWK Set of at most 64 KiB."));
        }
        let set: Value = serde_json::from_str(text.trim())
            .map_err(|_| bad("Paste a JWK Set as JSON ({\"keys\": [...]})."))?;
        let list = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("Paste a JWK Set: {\"keys\": [...]}."))?;
        // A SPIFFE trust bundle marks its JWT-SVID keys `"use":
        // "jwt-svid"` (SPIFFE Trust Domain and Bundle §4.2.2): signing
        // keys, as `sig` is.
        let list: Vec<Value> = list
            .iter()
            .map(|jwk| {
                let mut jwk = jwk.clone();
                if jwk.get("use").and_then(Value::as_str) == Some("jwt-svid") {
                    jwk["use"] = Value::from("sig");
                }
                jwk
            })
            .collect();
        let keys = signing_keys(&list);
        if keys.is_empty() {
            return Err(bad(
                "That JWK Set holds no EC P-256, RSA (2048+) or Ed25519 signing key.",
            ));
        }
        Ok(Self { keys })
    }

    /// No key at all: what a client with unreadable stored keys holds, so
    /// that it cannot authenticate.
    pub fn none() -> Self {
        Self { keys: Vec::new() }
    }

    /// Keys as stored (the JSON of [`ClientKeys::to_json`]).
    pub fn from_stored(json: &str) -> Result<Self> {
        let set: Value =
            serde_json::from_str(json).map_err(|_| invalid("stored keys are not JSON"))?;
        match set.get("keys") {
            Some(Value::Array(list)) => Self::from_jwks(list),
            _ => Err(invalid("stored keys are not a JWK Set")),
        }
    }

    /// A JWK Set of the public keys, as stored and shown.
    pub fn to_json(&self) -> String {
        json!({ "keys": self.keys.iter().map(PublicJwk::to_json).collect::<Vec<_>>() }).to_string()
    }

    pub fn summaries(&self) -> Vec<KeySummary> {
        self.keys
            .iter()
            .map(|k| KeySummary {
                kid: k.kid().unwrap_or_default().to_owned(),
                alg: k.alg().as_str().to_owned(),
                thumbprint: k.thumbprint().to_owned(),
            })
            .collect()
    }

    /// The claims of `token`, a compact JWS signed by one of these keys
    /// with that key's own algorithm (the header cannot choose another;
    /// `crit` is refused).
    pub fn verified_claims(
        &self,
        token: &str,
    ) -> std::result::Result<Map<String, Value>, Unverified> {
        let jws = CompactJws::parse(token).map_err(|e| match e {
            BadJws::Critical => Unverified::Critical,
            _ => Unverified::Malformed,
        })?;
        let alg = jws.alg().map_err(|_| Unverified::Algorithm)?;
        let mut candidates = self.candidates(jws.header_str("kid"), alg).peekable();
        if candidates.peek().is_none() {
            return Err(Unverified::Algorithm);
        }
        if !candidates.any(|key| jws.verified_by(key)) {
            return Err(Unverified::Signature);
        }
        jws.claims().map_err(|_| Unverified::Malformed)
    }

    /// The keys that may have signed a JWS with this header: the one named
    /// by `kid`; else (no `kid`, or one no key has, as when a key pasted
    /// as PEM was named by its thumbprint) every key of the header's
    /// algorithm. There are at most two, and each must still verify.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: JwsAlg,
    ) -> impl Iterator<Item = &'a PublicJwk> + 'a {
        let named = kid.filter(|kid| self.keys.iter().any(|k| k.kid() == Some(*kid)));
        self.keys
            .iter()
            .filter(move |k| k.alg() == alg && named.is_none_or(|kid| k.kid() == Some(kid)))
    }
}

/// The keys of a JWK Set this server can verify with: keys it cannot use
/// (encryption keys, other curves) are skipped, as a set may hold keys for
/// other parties; at most [`REMOTE_KEYS_MAX`], each `kid` once.
fn signing_keys(list: &[Value]) -> Vec<PublicJwk> {
    let mut keys: Vec<PublicJwk> = Vec::new();
    for jwk in list {
        let Ok(mut key) = PublicJwk::from_jwk(jwk) else {
            continue;
        };
        if key.kid().is_none() {
            key.set_kid(key.thumbprint().to_owned());
        }
        if keys.len() < REMOTE_KEYS_MAX && keys.iter().all(|k| k.kid() != key.kid()) {
            keys.push(key);
        }
    }
    keys
}

/// The base64 bodies of the PEM blocks in `text`, with their labels.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| invalid("a PEM block's BEGIN line is not closed"))?;
        let label = after[..label_end].to_owned();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_start
            .find(&end_marker)
            .ok_or_else(|| invalid(format!("the PEM block {label} has no END line")))?;
        let body: String = body_start[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = B64
            .decode(body)
            .map_err(|_| invalid(format!("the PEM block {label} is not base64")))?;
        blocks.push((label, der));
        rest = &body_start[end + end_marker.len()..];
    }
    if blocks.is_empty() {
        return Err(invalid("no PEM block found"));
    }
    Ok(blocks)
}

/// Object identifiers of the SubjectPublicKeyInfo algorithms we read.
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";

/// A PEM public key as a JWK (RFC 7518 §6.2, §6.3; RFC 8037 §2).
fn pem_to_jwk(label: &str, der: &[u8]) -> Result<Value> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::der::Decode;
    use rsa::pkcs8::spki::SubjectPublicKeyInfoRef;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let rsa_jwk = |key: rsa::RsaPublicKey| json!({ "kty": "RSA", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()) });
    match label {
        "RSA PUBLIC KEY" => {
            let key = rsa::RsaPublicKey::from_pkcs1_der(der)
                .map_err(|_| invalid("the RSA PUBLIC KEY block is not a PKCS#1 public key"))?;
            Ok(rsa_jwk(key))
        }
        "PUBLIC KEY" => {
            let spki = SubjectPublicKeyInfoRef::from_der(der)
                .map_err(|_| invalid("the PUBLIC KEY block is not a SubjectPublicKeyInfo"))?;
            let key_bytes = spki.subject_public_key.raw_bytes();
            match spki.algorithm.oid.to_string().as_str() {
                OID_EC_PUBLIC_KEY => {
                    let curve = spki
                        .algorithm
                        .parameters_oid()
                        .map(|o| o.to_string())
                        .unwrap_or_default();
                    if curve != OID_P256 {
                        return Err(invalid(
                            "only EC keys on the P-256 curve (ES256) are accepted",
                        ));
                    }
                    match key_bytes {
                        [4, point @ ..] if point.len() == 64 => Ok(json!({ "kty": "EC",
                            "crv": "P-256", "x": b64(&point[..32]), "y": b64(&point[32..]) })),
                        _ => Err(invalid("give the EC key's point uncompressed")),
                    }
                }
                OID_RSA => {
                    let key = rsa::RsaPublicKey::from_public_key_der(der)
                        .map_err(|_| invalid("the RSA public key cannot be read"))?;
                    Ok(rsa_jwk(key))
                }
                OID_ED25519 => Ok(json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(key_bytes) })),
                _ => Err(invalid(
                    "the PEM key is not an EC P-256, RSA or Ed25519 public key",
                )),
            }
        }
        "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
            Err(invalid(
                "this is a private key: give the public key only (never share the private key)",
            ))
        }
        other => Err(invalid(format!(
            "a PEM block {other:?} is not a public key; give BEGIN PUBLIC KEY"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl genpkey -algorithm ed25519 | openssl pkey -pubout`, and the
    /// same key as a JWK (x = the last 32 bytes of the DER).
    const ED25519_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";

    #[test]
    fn pem_jwk_and_jwk_set_give_the_same_key() {
        let from_pem = ClientKeys::parse(ED25519_PEM).unwrap();
        let jwk =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let from_jwk = ClientKeys::parse(jwk).unwrap();
        let from_set = ClientKeys::parse(&format!("{{\"keys\":[{jwk}]}}")).unwrap();
        assert_eq!(from_pem, from_jwk);
        assert_eq!(from_jwk, from_set);
        let s = &from_pem.summaries()[0];
        assert_eq!(s.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(s.alg, "EdDSA");
        // What is stored reads back as the same keys.
        assert_eq!(
            ClientKeys::from_stored(&from_pem.to_json()).unwrap(),
            from_pem
        );
    }

    #[test]
    fn bad_pastes_are_refused_with_a_reason() {
        let jwk =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        for (bad, says) in [
            ("", "paste a public key"),
            ("hello", "neither JSON"),
            (&format!("[{jwk},{jwk}]") as &str, "same key"),
            (&format!("[{jwk},{jwk},{jwk}]"), "at most 2"),
            ("[]", "at least one"),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                "private key",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                "SubjectPublicKeyInfo",
            ),
            ("-----BEGIN PUBLIC KEY-----\nMCow", "no END"),
        ] {
            let err = ClientKeys::parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }
}
