//! What the load generator signs for the token-CPU bench: ES256 keys,
//! client assertions (RFC 7523) and DPoP proofs (RFC 9449), signed ahead
//! of each slice ([`Presigned`]) so signing does not slow the load.

use std::cell::RefCell;
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use bytes::Bytes;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};

use crate::http;

pub fn es256_key() -> Result<EcdsaKeyPair, String> {
    let rng = SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|e| e.to_string())?;
    EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).map_err(|e| e.to_string())
}

/// Something to sign ahead of a slice.
pub trait Fill {
    /// Signs `n` fresh ones.
    fn fill(&self, n: usize);
}

/// Values signed ahead of a slice; one is made on the spot only if the
/// pool runs dry.
pub struct Presigned<T> {
    pool: Rc<RefCell<Vec<T>>>,
    make: Rc<dyn Fn() -> T>,
}

impl<T: 'static> Presigned<T> {
    pub fn new(make: impl Fn() -> T + 'static) -> Self {
        Self {
            pool: Rc::default(),
            make: Rc::new(make),
        }
    }

    pub fn taker(&self) -> Rc<dyn Fn() -> T> {
        let (pool, make) = (self.pool.clone(), self.make.clone());
        Rc::new(move || {
            let next = pool.borrow_mut().pop();
            next.unwrap_or_else(|| make())
        })
    }
}

impl<T> Fill for Presigned<T> {
    fn fill(&self, n: usize) {
        let mut pool = self.pool.borrow_mut();
        // Leftovers of an earlier slice may be too old by now.
        pool.clear();
        while pool.len() < n {
            pool.push((self.make)());
        }
    }
}

/// A DPoP proof (RFC 9449 §4.2) by `key` for `method` `url`.
pub fn dpop_proof(key: &EcdsaKeyPair, method: &str, url: &str, token: Option<&str>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let point = key.public_key().as_ref();
    let header = B64URL.encode(format!(
        r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}}}"#,
        B64URL.encode(&point[1..33]),
        B64URL.encode(&point[33..])
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ath = token.map_or(String::new(), |t| {
        format!(
            r#","ath":"{}""#,
            B64URL.encode(ring::digest::digest(&ring::digest::SHA256, t.as_bytes()))
        )
    });
    let claims = B64URL.encode(format!(
        r#"{{"htm":"{method}","htu":"{url}","iat":{now},"jti":"p-{now}-{}"{ath}}}"#,
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let input = format!("{header}.{claims}");
    let sig = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map(|s| B64URL.encode(s.as_ref()))
        .unwrap_or_default();
    format!("{input}.{sig}")
}

/// A token bound to `key` (the secret client, with a DPoP proof).
pub async fn dpop_bound_token(
    addr: &str,
    creds: &http::Creds,
    key: &EcdsaKeyPair,
    token_url: &str,
) -> Result<String, String> {
    use http_body_util::Full;
    let req = hyper::Request::post("/oauth/token")
        .header("host", addr)
        .header("authorization", creds.basic())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("dpop", dpop_proof(key, "POST", token_url, None))
        .body(Full::new(Bytes::from_static(
            b"grant_type=client_credentials&scope=applications%3Aread",
        )))
        .map_err(|e| e.to_string())?;
    let (status, _, body) = http::request(addr, req).await?;
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    match (json["access_token"].as_str(), json["token_type"].as_str()) {
        (Some(t), Some("DPoP")) if status.is_success() => Ok(t.to_owned()),
        _ => Err(format!("/oauth/token with DPoP: {status} {json}")),
    }
}

/// A form with a fresh one-minute assertion (RFC 7523 §3), signed now.
pub fn assertion_body(key: &EcdsaKeyPair, client_id: &str, audience: &str) -> Bytes {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = B64URL.encode(r#"{"alg":"ES256","kid":"bench"}"#);
    let claims = B64URL.encode(format!(
        r#"{{"iss":"{client_id}","sub":"{client_id}","aud":"{audience}","iat":{now},"exp":{},"jti":"bench-{now}-{}"}}"#,
        now + 60,
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let input = format!("{header}.{claims}");
    let sig = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map(|s| B64URL.encode(s.as_ref()))
        .unwrap_or_default();
    Bytes::from(format!(
        "grant_type=client_credentials&scope=applications%3Aread\
         &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
         &client_assertion={input}.{sig}"
    ))
}
