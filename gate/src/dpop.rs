//! DPoP (RFC 9449): tokens bound to a key the client holds. The token
//! endpoint binds a token to the key of the proof sent with the token
//! request (`cnf.jkt`, its RFC 7638 thumbprint); every gate then takes
//! that token only with a fresh proof by the same key for the very call
//! (method, URL and a hash of the token), so a token copied out of a log is
//! worthless without the private key.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::Value;

use crate::clock::{Epoch, Secs};
use crate::jws::{CompactJws, JwsAlg, PublicJwk};

/// RFC 9449 §4.2: the proof's `typ`.
pub const PROOF_TYP: &str = "dpop+jwt";

/// A proof is good this long after its `iat` (§11.1 leaves the window to
/// the server; a minute covers a slow network without keeping many jti).
pub const PROOF_MAX_AGE_SECS: Secs = 60;
/// And may be this far ahead of the verifier's clock.
pub const PROOF_SKEW_SECS: Secs = 5;

/// The `algs` of the `WWW-Authenticate: DPoP` challenge (§7.1) and of
/// the metadata's `dpop_signing_alg_values_supported` (§5.1).
pub fn algs() -> String {
    JwsAlg::ALL.map(JwsAlg::as_str).join(" ")
}

/// A checked proof: the key's thumbprint (the token's `cnf.jkt`), its
/// `jti` and until when that `jti` must not be seen again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub jkt: String,
    pub jti: String,
    pub remember_until: Epoch,
    /// The server-provided nonce it carries, if any (§8, §9): whoever gave
    /// it out checks it.
    pub nonce: Option<String>,
}

/// Why a proof is refused (`invalid_dpop_proof`); the description is
/// safe to send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadProof {
    #[error("the DPoP proof is not a signed JWT")]
    Malformed,
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Typ,
    #[error("the DPoP proof's alg must be ES256, RS256 or EdDSA")]
    Algorithm,
    #[error("the DPoP proof's jwk must be a public EC P-256, RSA or Ed25519 key")]
    Key,
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
    #[error("the DPoP proof's htm is not this request's method")]
    Method,
    #[error("the DPoP proof's htu is not this request's URL")]
    Url,
    #[error("the DPoP proof's iat is outside the accepted window")]
    Time,
    #[error("the DPoP proof has no usable jti")]
    Jti,
    #[error("the DPoP proof's jti was used before")]
    Replayed,
    #[error("the DPoP proof's ath does not match the access token")]
    Ath,
    #[error("the DPoP proof's key is not the one the token is bound to")]
    Binding,
    #[error("send exactly one DPoP header")]
    Count,
}

/// What the proof must say of the request it came with.
pub struct Expect<'a> {
    pub method: &'a str,
    /// The request's URL as the client addressed it (query and fragment
    /// are ignored, §4.3 item 9).
    pub url: &'a str,
    /// Set at a resource server: the access token the proof must hash.
    pub access_token: Option<&'a str>,
    pub now: Epoch,
}

/// `ath` (§4.2): base64url of the SHA-256 of the access token.
pub fn ath(access_token: &str) -> String {
    B64URL.encode(ring::digest::digest(
        &ring::digest::SHA256,
        access_token.as_bytes(),
    ))
}

/// Checks a proof as RFC 9449 §4.3 lists, but for the `jti` replay check,
/// which is the caller's (with [`SeenProofs`] or a shared store).
pub fn check(proof: &str, expect: &Expect<'_>) -> Result<Proof, BadProof> {
    let jws = CompactJws::parse(proof).map_err(|_| BadProof::Malformed)?;
    if jws.header_str("typ") != Some(PROOF_TYP) {
        return Err(BadProof::Typ);
    }
    jws.alg().map_err(|_| BadProof::Algorithm)?;
    let jwk = jws.header.get("jwk").ok_or(BadProof::Key)?;
    let key = PublicJwk::from_jwk(jwk).map_err(|_| BadProof::Key)?;
    if !jws.verified_by(&key) {
        return Err(BadProof::Signature);
    }
    let claims = jws.claims().map_err(|_| BadProof::Malformed)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("htm") != Some(expect.method) {
        return Err(BadProof::Method);
    }
    if !same_url(text("htu").ok_or(BadProof::Url)?, expect.url) {
        return Err(BadProof::Url);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(BadProof::Time)?;
    if iat > expect.now + PROOF_SKEW_SECS || iat + PROOF_MAX_AGE_SECS < expect.now {
        return Err(BadProof::Time);
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(BadProof::Jti)?;
    if let Some(token) = expect.access_token {
        if text("ath") != Some(ath(token).as_str()) {
            return Err(BadProof::Ath);
        }
    }
    Ok(Proof {
        jkt: key.thumbprint().to_owned(),
        jti: jti.to_owned(),
        remember_until: iat + PROOF_MAX_AGE_SECS,
        nonce: text("nonce")
            .filter(|n| !n.is_empty() && n.len() <= 256)
            .map(str::to_owned),
    })
}

/// §4.3 item 9: the URLs match without query and fragment, after the
/// normalization of RFC 3986 §6.2.2 and §6.2.3 that `url` performs
/// (case of scheme and host, default port, percent-encoding, dot segments).
fn same_url(htu: &str, expected: &str) -> bool {
    // The usual proof names the URL exactly as the request was made: equal
    // text is an equal URL, if it is a URL at all, with one parse instead
    // of two (parsing was a quarter of a proof check's work besides the
    // signature, `make bench` profiles).
    fn bare(s: &str) -> &str {
        s.split(['?', '#']).next().unwrap_or(s)
    }
    if bare(htu) == bare(expected) {
        return url::Url::parse(expected).is_ok();
    }
    let strip = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    match (strip(htu), strip(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Proof `jti`s seen in the last [`PROOF_MAX_AGE_SECS`], per key: a proof
/// is good once. Each proof is remembered as 16 bytes of the digest of
/// (key, `jti`) until its window ends, and forgotten in the order it came
/// (a queue), a little at every use: no sweep of the whole set and no
/// two strings a proof. Bounded: when every entry is still live a new
/// proof is refused for now rather than a live one forgotten (that would
/// let it be replayed).
pub struct SeenProofs {
    seen: Mutex<Seen>,
    capacity: usize,
}

type ProofId = [u8; 16];

#[derive(Default)]
struct Seen {
    until: HashMap<ProofId, Epoch>,
    /// What `until` holds, oldest first. Windows are about as long for
    /// every proof, so the front is (nearly) the first to end; one that
    /// ends earlier than the front waits for it, at most a window longer.
    arrived: VecDeque<(ProofId, Epoch)>,
}

impl Seen {
    fn forget_ended(&mut self, now: Epoch) {
        while let Some(&(id, until)) = self.arrived.front() {
            if until >= now {
                break;
            }
            self.arrived.pop_front();
            if self.until.get(&id) == Some(&until) {
                self.until.remove(&id);
            }
        }
    }
}

/// What [`SeenProofs::first_use`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    First,
    Replayed,
    /// Too many live proofs to remember one more: refuse for now.
    Full,
}

impl Default for SeenProofs {
    fn default() -> Self {
        Self::with_capacity(1_000_000)
    }
}

impl SeenProofs {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: Mutex::default(),
            capacity,
        }
    }

    fn id(proof: &Proof) -> ProofId {
        let digest = crate::limits::once_digest(&["seen-proof", &proof.jkt, &proof.jti]);
        let mut id = ProofId::default();
        id.copy_from_slice(&digest[..16]);
        id
    }

    /// True when this proof was seen and is still in its window.
    pub fn contains(&self, proof: &Proof, now: Epoch) -> bool {
        let id = Self::id(proof);
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.until.get(&id).is_some_and(|until| *until >= now)
    }

    /// Records the proof; [`Use::First`] only the first time.
    pub fn first_use(&self, proof: &Proof, now: Epoch) -> Use {
        let id = Self::id(proof);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.forget_ended(now);
        if seen.until.get(&id).is_some_and(|until| *until >= now) {
            return Use::Replayed;
        }
        if seen.until.len() >= self.capacity {
            return Use::Full;
        }
        seen.until.insert(id, proof.remember_until);
        seen.arrived.push_back((id, proof.remember_until));
        Use::First
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    fn key() -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let p = pair.public_key().as_ref();
        let jwk = json!({ "kty": "EC", "crv": "P-256",
            "x": B64URL.encode(&p[1..33]), "y": B64URL.encode(&p[33..]) });
        (pair, jwk)
    }

    fn proof(pair: &EcdsaKeyPair, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", B64URL.encode(sig.as_ref()))
    }

    const URL: &str = "https://api.example/partner/v1/applications";

    fn expect(now: Epoch) -> Expect<'static> {
        Expect {
            method: "GET",
            url: URL,
            access_token: Some("tok"),
            now,
        }
    }

    #[test]
    fn the_checks_of_rfc_9449_section_4_3() {
        let (pair, jwk) = key();
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
        let claims = json!({ "htm": "GET", "htu": "https://API.example:443/partner/v1/applications?x=1",
            "iat": 1_000, "jti": "p-1", "ath": ath("tok") });
        let ok = check(
            &proof(&pair, header.clone(), claims.clone()),
            &expect(1_010),
        )
        .unwrap();
        assert_eq!(ok.jkt, PublicJwk::from_jwk(&jwk).unwrap().thumbprint());
        let with = |name: &str, v: Value| {
            let mut c = claims.clone();
            c[name] = v;
            proof(&pair, header.clone(), c)
        };
        let (other, _) = key();
        let mut typ = header.clone();
        typ["typ"] = json!("JWT");
        let mut private = header.clone();
        private["jwk"]["d"] = json!("AAAA");
        for (p, now, why) in [
            (with("htm", json!("POST")), 1_010, BadProof::Method),
            (
                with("htu", json!("https://api.example/partner/v1/other")),
                1_010,
                BadProof::Url,
            ),
            (
                with("htu", json!("http://api.example/partner/v1/applications")),
                1_010,
                BadProof::Url,
            ),
            (with("ath", json!(ath("another"))), 1_010, BadProof::Ath),
            (with("jti", json!("")), 1_010, BadProof::Jti),
            (
                proof(&pair, header.clone(), claims.clone()),
                1_061,
                BadProof::Time,
            ),
            (
                proof(&pair, header.clone(), claims.clone()),
                994,
                BadProof::Time,
            ),
            (
                proof(&other, header.clone(), claims.clone()),
                1_010,
                BadProof::Signature,
            ),
            (proof(&pair, typ, claims.clone()), 1_010, BadProof::Typ),
            (proof(&pair, private, claims.clone()), 1_010, BadProof::Key),
        ] {
            assert_eq!(check(&p, &expect(now)), Err(why));
        }
    }

    /// A checked proof by key "k" with `jti`, remembered until `until`.
    fn seen_proof(jti: &str, until: Epoch) -> Proof {
        Proof {
            jkt: "k".into(),
            jti: jti.into(),
            remember_until: until,
            nonce: None,
        }
    }

    #[test]
    fn a_proof_is_good_once_and_a_full_memory_refuses_rather_than_forgets() {
        let seen = SeenProofs::with_capacity(3);
        let p = seen_proof;
        assert_eq!(seen.first_use(&p("a", 100), 50), Use::First);
        assert!(seen.contains(&p("a", 100), 60));
        assert_eq!(seen.first_use(&p("a", 100), 60), Use::Replayed);
        assert_eq!(seen.first_use(&p("b", 101), 60), Use::First);
        assert_eq!(seen.first_use(&p("c", 102), 60), Use::First);
        // Full of live proofs: a new one waits, and none is forgotten.
        assert_eq!(seen.first_use(&p("d", 103), 60), Use::Full);
        assert_eq!(seen.first_use(&p("a", 100), 60), Use::Replayed);
        // Once a's window is over, it makes room.
        assert_eq!(seen.first_use(&p("d", 103), 101), Use::First);
    }

    #[test]
    fn proofs_are_forgotten_as_their_windows_end_whatever_order_they_came_in() {
        let seen = SeenProofs::with_capacity(10);
        let p = seen_proof;
        // "late" ends after "early" but came first.
        assert_eq!(seen.first_use(&p("late", 200), 100), Use::First);
        assert_eq!(seen.first_use(&p("early", 150), 100), Use::First);
        // Live ones stay refused, however they are queued.
        assert_eq!(seen.first_use(&p("early", 150), 150), Use::Replayed);
        assert_eq!(seen.first_use(&p("late", 200), 199), Use::Replayed);
        // After its window a jti is forgotten: a new proof may take it.
        assert_eq!(seen.first_use(&p("early", 260), 201), Use::First);
        assert_eq!(seen.first_use(&p("early", 260), 201), Use::Replayed);
        let held = seen.seen.lock().unwrap();
        assert_eq!((held.until.len(), held.arrived.len()), (1, 1));
    }
}
