//! Tokens the way the client-credentials lifecycle intends: mint once,
//! cache, reuse until shortly before expiry, then mint again. A client that
//! mints a token per call costs its owner rate limit and the issuer load;
//! this one mints about once per token lifetime per scope set.
//!
//! - One cached token per scope set (the set, not the order it was asked in).
//! - A fresh token is minted at a random point in the last 10–20 % of the
//!   current one's life, so many instances started together do not all
//!   mint at the same second.
//! - One caller mints; callers asking for the same scope set meanwhile wait
//!   for that token instead of minting their own.
//! - `429` is retried after `Retry-After` (or a backoff), with jitter; a
//!   network error or a `5xx` after a backoff; `400`/`401` are not retried:
//!   they need a person.
//! - With a key instead of a secret ([`TokenSource::with_private_key`]),
//!   each attempt signs a fresh one-minute client assertion (RFC 7523
//!   §2.2): a new `jti` every time, since the issuer takes each once.
//! - With DPoP ([`TokenSource::with_dpop`], RFC 9449) the tokens are bound
//!   to a P-256 key made when the source is, held in memory only: each
//!   token request and each API call carries a fresh proof
//!   ([`TokenSource::authorize`]), so a token copied from a log is useless.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand::Rng;
use serde::Deserialize;

/// Wall-clock time, injectable so tests need not wait an hour.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The issuer refused the request: wrong credentials, a scope the client
    /// does not have, a retired client. Retrying will not help.
    #[error("the token endpoint refused: {status} {body}")]
    Refused { status: u16, body: String },
    #[error("no token after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
}

#[derive(Clone)]
struct Cached {
    token: String,
    refresh_at: SystemTime,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// How the client proves itself at the token endpoint.
enum Credential {
    /// `client_secret_basic`.
    Secret(String),
    /// `private_key_jwt`: the private key signs each assertion.
    PrivateKey {
        key: jsonwebtoken::EncodingKey,
        alg: jsonwebtoken::Algorithm,
        kid: Option<String>,
    },
}

/// A DPoP key (RFC 9449 §4): made here, never stored or sent but as its
/// public JWK in each proof's header.
struct DpopKey {
    signing: jsonwebtoken::EncodingKey,
    public: jsonwebtoken::jwk::Jwk,
}

impl DpopKey {
    fn generate() -> Result<Self, String> {
        use base64::Engine;
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "cannot make a DPoP key".to_owned())?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| "cannot read the DPoP key".to_owned())?;
        // The uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let public = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..]),
        }))
        .map_err(|e| e.to_string())?;
        Ok(Self {
            signing: jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
            public,
        })
    }

    /// A proof (§4.2) for `method` `url` (its query and fragment left out,
    /// §4.3), with `ath` (§4.1) when it goes with an access token.
    fn proof(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        nonce: Option<&str>,
        now: u64,
    ) -> Result<String, String> {
        use base64::Engine;
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let jti: u128 = rand::thread_rng().gen();
        let mut claims = serde_json::json!({
            "htm": method, "htu": htu, "iat": now, "jti": format!("{jti:032x}"),
        });
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        if let Some(t) = token {
            let hash = ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
            claims["ath"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(hash.as_ref())
                .into();
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.public.clone());
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| e.to_string())
    }
}

/// Access tokens for one client, cached per scope set.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    credential: Credential,
    dpop: Option<DpopKey>,
    /// The token endpoint's latest DPoP nonce (RFC 9449 §8), if it sends
    /// them.
    dpop_nonce: Mutex<Option<String>>,
    clock: Clock,
    max_attempts: u32,
    /// One slot per scope set; its lock is held while that set mints.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
    minted: AtomicU64,
    attempts: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("credential", &"..")
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    pub fn new(token_url: &str, client_id: &str, client_secret: &str) -> Self {
        Self::with_credential(
            token_url,
            client_id,
            Credential::Secret(client_secret.to_owned()),
        )
    }

    /// A key client: `private_key_pem` is its PKCS#8 private key (ES256 or
    /// EdDSA) or an RSA key (RS256), `alg` says which; `kid` names the key
    /// registered with the client, if it has one.
    pub fn with_private_key(
        token_url: &str,
        client_id: &str,
        private_key_pem: &[u8],
        alg: jsonwebtoken::Algorithm,
        kid: Option<&str>,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        use jsonwebtoken::{Algorithm, EncodingKey};
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(private_key_pem)?,
            Algorithm::EdDSA => EncodingKey::from_ed_pem(private_key_pem)?,
            Algorithm::RS256 => EncodingKey::from_rsa_pem(private_key_pem)?,
            _ => return Err(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into()),
        };
        Ok(Self::with_credential(
            token_url,
            client_id,
            Credential::PrivateKey {
                key,
                alg,
                kid: kid.map(str::to_owned),
            },
        ))
    }

    fn with_credential(token_url: &str, client_id: &str, credential: Credential) -> Self {
        Self {
            http: reqwest::Client::new(),
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            credential,
            dpop: None,
            dpop_nonce: Mutex::new(None),
            clock: Arc::new(SystemTime::now),
            max_attempts: 6,
            slots: Mutex::new(HashMap::new()),
            minted: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Binds every token to a DPoP key made now (RFC 9449): the token
    /// endpoint answers `token_type: DPoP`, and calls go through
    /// [`TokenSource::authorize`].
    pub fn with_dpop(mut self) -> Result<Self, String> {
        self.dpop = Some(DpopKey::generate()?);
        Ok(self)
    }

    fn now_secs(&self) -> u64 {
        (self.clock)()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Puts `token` on a call to `method` `url`: `Authorization: Bearer`,
    /// or with DPoP `Authorization: DPoP` and a fresh proof for this very
    /// call (RFC 9449 §7.1).
    pub fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        url: &str,
        token: &str,
    ) -> Result<reqwest::RequestBuilder, Error> {
        match &self.dpop {
            None => Ok(request.bearer_auth(token)),
            Some(key) => {
                let proof = key
                    .proof(method, url, Some(token), None, self.now_secs())
                    .map_err(|e| Error::Refused {
                        status: 0,
                        body: format!("cannot sign a DPoP proof: {e}"),
                    })?;
                Ok(request
                    .header("authorization", format!("DPoP {token}"))
                    .header("dpop", proof))
            }
        }
    }

    /// Tokens minted so far (each a successful call to the token endpoint).
    pub fn minted(&self) -> u64 {
        self.minted.load(Ordering::Relaxed)
    }

    /// Calls made to the token endpoint, retries included.
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// A token carrying exactly `scopes`: the cached one while it is fresh.
    pub async fn token(&self, scopes: &[&str]) -> Result<String, Error> {
        let key = scopes
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(" ");
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(key.clone()).or_default().clone()
        };
        // Whoever holds the slot mints; the others wait here and then find
        // its token fresh.
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref() {
            if (self.clock)() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        let fresh = self.mint(&key).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn mint(&self, scope: &str) -> Result<Cached, Error> {
        let mut last = String::new();
        for attempt in 1..=self.max_attempts {
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let mut form = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("scope", scope.to_owned()),
            ];
            let mut request = self.http.post(&self.token_url);
            match &self.credential {
                Credential::Secret(secret) => {
                    request = request.basic_auth(&self.client_id, Some(secret));
                }
                Credential::PrivateKey { key, alg, kid } => {
                    let assertion =
                        self.assertion(key, *alg, kid.clone())
                            .map_err(|e| Error::Refused {
                                status: 0,
                                body: format!("cannot sign a client assertion: {e}"),
                            })?;
                    form.push((
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ));
                    form.push(("client_assertion", assertion));
                }
            }
            if let Some(key) = &self.dpop {
                let nonce = self
                    .dpop_nonce
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let proof = key
                    .proof(
                        "POST",
                        &self.token_url,
                        None,
                        nonce.as_deref(),
                        self.now_secs(),
                    )
                    .map_err(|e| Error::Refused {
                        status: 0,
                        body: format!("cannot sign a DPoP proof: {e}"),
                    })?;
                request = request.header("dpop", proof);
            }
            let sent = request.form(&form).send().await;
            if let Ok(res) = &sent {
                self.remember_nonce(res.headers());
            }
            let wait = match sent {
                // §8: the server wants its nonce in the proof; the nonce is
                // remembered above, so the next attempt (now) carries it.
                Ok(res)
                    if res.status().as_u16() == 400
                        && res.headers().contains_key("dpop-nonce")
                        && self.dpop.is_some() =>
                {
                    last = "use_dpop_nonce".into();
                    Duration::ZERO
                }
                Ok(res) if res.status().is_success() => {
                    let answer: TokenAnswer = res.json().await.map_err(|e| Error::GaveUp {
                        attempts: attempt,
                        last: format!("an unreadable token answer: {e}"),
                    })?;
                    self.minted.fetch_add(1, Ordering::Relaxed);
                    return Ok(self.cache_entry(answer));
                }
                Ok(res) if res.status().as_u16() == 429 => {
                    let retry_after = res
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    last = format!("429, Retry-After {retry_after:?}");
                    retry_after.map_or_else(|| backoff(attempt), Duration::from_secs)
                }
                Ok(res) if res.status().is_server_error() => {
                    last = format!("{}", res.status());
                    backoff(attempt)
                }
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body = res.text().await.unwrap_or_default();
                    return Err(Error::Refused { status, body });
                }
                Err(e) => {
                    last = e.to_string();
                    backoff(attempt)
                }
            };
            if attempt < self.max_attempts && !wait.is_zero() {
                tokio::time::sleep(wait + jitter()).await;
            }
        }
        Err(Error::GaveUp {
            attempts: self.max_attempts,
            last,
        })
    }

    /// Keeps the `DPoP-Nonce` an answer carries, for the next proof.
    fn remember_nonce(&self, headers: &reqwest::header::HeaderMap) {
        if let Some(n) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            *self.dpop_nonce.lock().unwrap_or_else(|p| p.into_inner()) = Some(n.to_owned());
        }
    }

    /// RFC 7523 §3: `iss` = `sub` = the client id, `aud` the token
    /// endpoint, one minute of life, a random 128-bit `jti`.
    fn assertion(
        &self,
        key: &jsonwebtoken::EncodingKey,
        alg: jsonwebtoken::Algorithm,
        kid: Option<String>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = self.now_secs();
        let jti: u128 = rand::thread_rng().gen();
        let claims = serde_json::json!({
            "iss": self.client_id, "sub": self.client_id, "aud": self.token_url,
            "iat": now, "exp": now + 60, "jti": format!("{jti:032x}"),
        });
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = kid;
        jsonwebtoken::encode(&header, &claims, key)
    }

    /// Refresh at a random point 80–90 % into the token's life.
    fn cache_entry(&self, answer: TokenAnswer) -> Cached {
        let share = rand::thread_rng().gen_range(0.80..0.90);
        let refresh_in = Duration::from_secs_f64(answer.expires_in as f64 * share);
        Cached {
            token: answer.access_token,
            refresh_at: (self.clock)() + refresh_in,
        }
    }
}

/// 0.5 s, 1 s, 2 s … up to 30 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((500u64 << attempt.min(6)).min(30_000))
}

/// Up to a quarter second, so retrying instances spread out.
fn jitter() -> Duration {
    Duration::from_millis(rand::thread_rng().gen_range(0..250))
}

#[cfg(test)]
mod tests;
