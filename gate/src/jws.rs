//! Signatures by keys that callers hold, not the issuer: a
//! `private_key_jwt` client's public keys (RFC 7523 §2.2) and the key a
//! DPoP proof carries in its header (RFC 9449 §4.2).
//!
//! Hand-written on `ring`, which the gate already uses for its own tokens:
//! three algorithms and the JWK members they need are a few dozen lines,
//! where a JOSE crate would bring a second crypto stack into every resource
//! server. The integration tests sign with `jsonwebtoken` and Python's
//! authlib, so this code is checked against independent implementations.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::signature;
use serde_json::{Map, Value};

/// The asymmetric algorithms a caller's key may use (RFC 7518 §3.1,
/// RFC 8037 §3.1). Never `none`, never HMAC: a shared key is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlg {
    ES256,
    RS256,
    EdDSA,
}

impl JwsAlg {
    pub const ALL: [JwsAlg; 3] = [JwsAlg::ES256, JwsAlg::RS256, JwsAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlg::ES256 => "ES256",
            JwsAlg::RS256 => "RS256",
            JwsAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Why a JWK is not accepted, in words a partner can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadJwk(pub String);

/// Members that only private or symmetric keys have.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// RSA moduli accepted: 2048 to 8192 bits (what `ring` verifies).
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 1024;

/// A public signing key from a JWK (RFC 7517), checked: the key type and
/// curve fix the algorithm, and a stated `alg` must agree with them.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    alg: JwsAlg,
    kid: Option<String>,
    material: Material,
    /// The JWK members that define the key, as given (base64url strings).
    members: Vec<(&'static str, String)>,
    thumbprint: String,
}

#[derive(Clone, PartialEq, Eq)]
enum Material {
    /// Uncompressed P-256 point: 0x04 || x || y.
    Ec(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519(Vec<u8>),
}

impl std::fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicJwk")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

impl PublicJwk {
    pub fn from_jwk(jwk: &Value) -> Result<Self, BadJwk> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| BadJwk("a JWK must be a JSON object".into()))?;
        if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
            return Err(BadJwk(
                "this JWK holds a private or symmetric key: give the public key only (never share the private key)".into(),
            ));
        }
        let text = |name: &str| obj.get(name).and_then(Value::as_str);
        let member = |name: &'static str| -> Result<(Vec<u8>, String), BadJwk> {
            let s = text(name).ok_or_else(|| BadJwk(format!("the JWK has no {name:?} member")))?;
            let bytes = B64URL
                .decode(s)
                .map_err(|_| BadJwk(format!("the JWK's {name:?} is not base64url")))?;
            Ok((bytes, s.to_owned()))
        };
        let kty = text("kty").ok_or_else(|| BadJwk("the JWK has no \"kty\"".into()))?;
        let (alg, material, members) = match kty {
            "EC" => {
                if text("crv") != Some("P-256") {
                    return Err(BadJwk(
                        "only EC keys on the P-256 curve (ES256) are accepted".into(),
                    ));
                }
                let (x, xs) = member("x")?;
                let (y, ys) = member("y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(BadJwk("a P-256 key's x and y are 32 bytes each".into()));
                }
                let mut point = vec![4u8];
                point.extend(x);
                point.extend(y);
                let members = vec![("crv", "P-256".to_owned()), ("x", xs), ("y", ys)];
                (JwsAlg::ES256, Material::Ec(point), members)
            }
            "RSA" => {
                let (n, ns) = member("n")?;
                let (e, es) = member("e")?;
                // RFC 7518 §6.3.1.1: no leading zero octet; 2048 bits or
                // more means a full top byte.
                if n.first().is_none_or(|b| *b < 0x80)
                    || !(RSA_MIN_BYTES..=RSA_MAX_BYTES).contains(&n.len())
                {
                    return Err(BadJwk("RSA keys must have 2048 to 8192 bits".into()));
                }
                if e.is_empty() || e.len() > 4 {
                    return Err(BadJwk("the RSA exponent is not usable".into()));
                }
                let members = vec![("e", es), ("n", ns)];
                (JwsAlg::RS256, Material::Rsa { n, e }, members)
            }
            "OKP" => {
                if text("crv") != Some("Ed25519") {
                    return Err(BadJwk(
                        "only OKP keys on Ed25519 (EdDSA) are accepted".into(),
                    ));
                }
                let (x, xs) = member("x")?;
                if x.len() != 32 {
                    return Err(BadJwk("an Ed25519 key's x is 32 bytes".into()));
                }
                let members = vec![("crv", "Ed25519".to_owned()), ("x", xs)];
                (JwsAlg::EdDSA, Material::Ed25519(x), members)
            }
            "oct" => {
                return Err(BadJwk(
                    "symmetric keys are secrets: use an EC, RSA or Ed25519 public key".into(),
                ))
            }
            other => return Err(BadJwk(format!("key type {other:?} is not supported"))),
        };
        if let Some(stated) = obj.get("alg") {
            if stated.as_str() != Some(alg.as_str()) {
                return Err(BadJwk(format!(
                    "the JWK says alg {stated}, but a {kty} key signs with {}",
                    alg.as_str()
                )));
            }
        }
        if obj.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
            return Err(BadJwk("the JWK's \"use\" must be \"sig\"".into()));
        }
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(k)) if !k.is_empty() && k.len() <= 128 => Some(k.clone()),
            Some(_) => {
                return Err(BadJwk(
                    "the JWK's \"kid\" must be 1 to 128 characters".into(),
                ))
            }
        };
        let mut key = Self {
            alg,
            kid,
            material,
            members,
            thumbprint: String::new(),
        };
        key.thumbprint = key.compute_thumbprint(kty);
        Ok(key)
    }

    /// RFC 7638 §3: SHA-256 over the required members, in lexicographic
    /// order, without whitespace; base64url.
    fn compute_thumbprint(&self, kty: &str) -> String {
        let mut ordered: Vec<(&str, &str)> = self
            .members
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain([("kty", kty)])
            .collect();
        ordered.sort_by_key(|(k, _)| *k);
        let mut json = String::from("{");
        for (i, (k, v)) in ordered.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            // Members are base64url or fixed names: nothing to escape.
            json.push_str(&format!("\"{k}\":\"{v}\""));
        }
        json.push('}');
        B64URL.encode(ring::digest::digest(&ring::digest::SHA256, json.as_bytes()))
    }

    /// A P-256 point off the curve is caught when the key is pasted, not
    /// at the first sign-in (costs one ECDH: not for keys already stored).
    pub fn check_usable(&self) -> Result<(), BadJwk> {
        if let Material::Ec(point) = &self.material {
            let rng = ring::rand::SystemRandom::new();
            let mine =
                ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &rng)
                    .map_err(|_| BadJwk("no randomness to check the key".into()))?;
            let theirs =
                ring::agreement::UnparsedPublicKey::new(&ring::agreement::ECDH_P256, point);
            ring::agreement::agree_ephemeral(mine, &theirs, |_| ())
                .map_err(|_| BadJwk("the EC key's point is not on the P-256 curve".into()))?;
        }
        Ok(())
    }

    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Names the key when it has no `kid`.
    pub fn set_kid(&mut self, kid: String) {
        self.kid = Some(kid);
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public JWK with only what defines it, its `kid`, `alg` and `use`.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        let kty = match self.material {
            Material::Ec(_) => "EC",
            Material::Rsa { .. } => "RSA",
            Material::Ed25519(_) => "OKP",
        };
        obj.insert("kty".into(), kty.into());
        for (k, v) in &self.members {
            obj.insert((*k).into(), v.clone().into());
        }
        if let Some(kid) = &self.kid {
            obj.insert("kid".into(), kid.clone().into());
        }
        obj.insert("alg".into(), self.alg.as_str().into());
        obj.insert("use".into(), "sig".into());
        Value::Object(obj)
    }

    /// Checks `sig` over `input` with this key's own algorithm.
    pub fn verify(&self, input: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Ec(point) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input, sig)
                    .is_ok()
            }
            Material::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, sig)
                .is_ok(),
            Material::Ed25519(x) => signature::UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(input, sig)
                .is_ok(),
        }
    }
}

/// A compact JWS (RFC 7515 §7.1), split and decoded, not yet verified.
pub struct CompactJws<'a> {
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Why a compact JWS is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadJws {
    #[error("not a compact JWS")]
    Malformed,
    /// RFC 7515 §4.1.11: we understand no extension, so none may be critical.
    #[error("the JWS has critical header parameters")]
    Critical,
    #[error("the JWS header names no usable algorithm")]
    Algorithm,
}

/// The longest JWS read: assertions and proofs are a few hundred bytes.
pub const JWS_MAX_LEN: usize = 8 * 1024;

impl<'a> CompactJws<'a> {
    pub fn parse(token: &'a str) -> Result<Self, BadJws> {
        if token.len() > JWS_MAX_LEN {
            return Err(BadJws::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BadJws::Malformed);
        };
        let decode = |part: &str| B64URL.decode(part).map_err(|_| BadJws::Malformed);
        let header: Map<String, Value> =
            serde_json::from_slice(&decode(h)?).map_err(|_| BadJws::Malformed)?;
        if header.contains_key("crit") {
            return Err(BadJws::Critical);
        }
        Ok(Self {
            header,
            payload: decode(p)?,
            signing_input: &token[..h.len() + 1 + p.len()],
            signature: decode(s)?,
        })
    }

    /// The header's `alg`, if it is one we accept.
    pub fn alg(&self) -> Result<JwsAlg, BadJws> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(JwsAlg::parse)
            .ok_or(BadJws::Algorithm)
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// True when `key` signed this, with the algorithm the key fixes: a
    /// header naming another algorithm never verifies.
    pub fn verified_by(&self, key: &PublicJwk) -> bool {
        self.alg() == Ok(key.alg()) && key.verify(self.signing_input.as_bytes(), &self.signature)
    }

    /// The payload as a JSON object.
    pub fn claims(&self) -> Result<Map<String, Value>, BadJws> {
        serde_json::from_slice(&self.payload).map_err(|_| BadJws::Malformed)
    }
}

#[cfg(test)]
mod tests;
