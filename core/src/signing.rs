//! Token signing keys: generation, the compact JWS form of RFC 7515 and its
//! verification against the published JWK. ES256 is the default; RS256 is
//! there for resource servers that cannot verify ECDSA.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Value};

use crate::catalogue::SigningAlg;
use crate::error::{Error, Result};
use crate::ids::new_id;

const RSA_BITS: usize = 2048;

enum Pair {
    Es(EcdsaKeyPair),
    Rs(RsaKeyPair),
}

/// A private key that signs access tokens.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// base64url of the JOSE header, computed once: every token reuses it.
    header_b64: String,
    pair: Pair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A new key: the signer, its PKCS#8 private key (to be sealed) and its
/// public JWK.
pub struct NewKey {
    pub key: SigningKey,
    pub pkcs8: Vec<u8>,
    pub jwk: Value,
}

impl SigningKey {
    pub fn generate(alg: SigningAlg) -> Result<NewKey> {
        let kid = new_id("key");
        let rng = SystemRandom::new();
        let pkcs8 = match alg {
            SigningAlg::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| Error::Crypto("cannot generate a P-256 key".into()))?
                    .as_ref()
                    .to_vec()
            }
            SigningAlg::RS256 => {
                use rsa::pkcs8::EncodePrivateKey;
                let mut os = argon2::password_hash::rand_core::OsRng;
                rsa::RsaPrivateKey::new(&mut os, RSA_BITS)
                    .and_then(|k| k.to_pkcs8_der().map_err(rsa::Error::from))
                    .map_err(|e| Error::Crypto(format!("cannot generate an RSA key: {e}")))?
                    .as_bytes()
                    .to_vec()
            }
        };
        let key = Self::from_pkcs8(kid, alg, &pkcs8)?;
        let jwk = key.public_jwk()?;
        Ok(NewKey { key, pkcs8, jwk })
    }

    pub fn from_pkcs8(kid: String, alg: SigningAlg, pkcs8: &[u8]) -> Result<Self> {
        let rng = SystemRandom::new();
        let bad = |e: ring::error::KeyRejected| {
            Error::Crypto(format!("signing key {kid} is not a valid {alg:?} key: {e}"))
        };
        let pair = match alg {
            SigningAlg::ES256 => Pair::Es(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(bad)?,
            ),
            SigningAlg::RS256 => Pair::Rs(RsaKeyPair::from_pkcs8(pkcs8).map_err(bad)?),
        };
        let header = json!({ "alg": alg.as_str(), "typ": "at+jwt", "kid": kid });
        Ok(Self {
            header_b64: B64URL.encode(header.to_string()),
            kid,
            alg,
            pair,
            rng,
        })
    }

    fn public_jwk(&self) -> Result<Value> {
        let common = |mut v: Value| {
            v["kid"] = json!(self.kid);
            v["alg"] = json!(self.alg.as_str());
            v["use"] = json!("sig");
            v
        };
        match &self.pair {
            Pair::Es(p) => {
                // Uncompressed point: 0x04 || x || y.
                let point = p.public_key().as_ref();
                Ok(common(json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": B64URL.encode(&point[1..33]),
                    "y": B64URL.encode(&point[33..65]),
                })))
            }
            Pair::Rs(p) => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                use rsa::traits::PublicKeyParts;
                let public = rsa::RsaPublicKey::from_pkcs1_der(p.public_key().as_ref())
                    .map_err(|e| Error::Crypto(format!("RSA public key: {e}")))?;
                Ok(common(json!({
                    "kty": "RSA",
                    "n": B64URL.encode(public.n().to_bytes_be()),
                    "e": B64URL.encode(public.e().to_bytes_be()),
                })))
            }
        }
    }

    /// `header.payload.signature` for the given claims JSON.
    pub fn sign(&self, claims_json: &[u8]) -> Result<String> {
        let mut token =
            String::with_capacity(self.header_b64.len() + claims_json.len() * 4 / 3 + 400);
        token.push_str(&self.header_b64);
        token.push('.');
        B64URL.encode_string(claims_json, &mut token);
        let failed = |_| Error::Crypto(format!("signing with {} failed", self.kid));
        let signature = match &self.pair {
            Pair::Es(p) => p
                .sign(&self.rng, token.as_bytes())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Pair::Rs(p) => {
                let mut sig = vec![0; p.public().modulus_len()];
                p.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    token.as_bytes(),
                    &mut sig,
                )
                .map_err(failed)?;
                sig
            }
        };
        token.push('.');
        B64URL.encode_string(signature, &mut token);
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_gate::token::VerifyingKey;

    fn round_trip(alg: SigningAlg) {
        let new = SigningKey::generate(alg).unwrap();
        let token = new.key.sign(br#"{"a":1}"#).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["kid"], new.key.kid);
        let verifier = VerifyingKey::from_jwk(&new.jwk).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        let sig = B64URL.decode(parts[2]).unwrap();
        assert!(verifier.verify(input.as_bytes(), &sig));
        assert!(!verifier.verify(b"x.y", &sig));
        // The stored private key signs the same way after reloading.
        let again = SigningKey::from_pkcs8(new.key.kid.clone(), alg, &new.pkcs8).unwrap();
        let t2 = again.sign(b"{}").unwrap();
        let p2: Vec<&str> = t2.split('.').collect();
        assert!(verifier.verify(
            format!("{}.{}", p2[0], p2[1]).as_bytes(),
            &B64URL.decode(p2[2]).unwrap()
        ));
    }

    #[test]
    fn es256_signs_and_verifies() {
        round_trip(SigningAlg::ES256);
    }

    #[test]
    fn rs256_signs_and_verifies() {
        round_trip(SigningAlg::RS256);
    }
}
