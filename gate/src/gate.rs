//! One API's gate: what it knows (keys, the view, the feed's health) and
//! the checks every call goes through, in one order: feed healthy →
//! signature → time → audience → standing (or introspection while the
//! feed is lost) → bucket.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cache::VerifiedTokens;
use crate::clock::{Clock, Secs, SystemClock};
use crate::dpop_nonce::DpopNonces;
use crate::events::Event;
use crate::limits::{Decision, RateLimiter};
use crate::token::{self, Claims, KeySet, Rejected};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a gate does while it has not heard from the issuer's feed for
/// longer than its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStale {
    /// Refuse every call with 503 until the feed is back (the default).
    FailClosed,
    /// Ask the issuer about each token (RFC 7662 introspection).
    Introspect,
}

/// The issuer, as far as a gate needs to reach it outside the feed.
pub trait Upstream: Send + Sync {
    /// The issuer's JWK Set, fetched again.
    fn jwks(&self) -> BoxFuture<'_, Result<Value, String>>;
    /// Whether the token is active now, by the issuer's own word.
    fn introspect<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, String>>;
}

/// Why the gate turned a call away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The token is not good for this API now.
    Token(Rejected),
    /// The gate cannot decide: no feed yet, or lost for too long (503).
    Unavailable(String),
    /// The project's bucket is empty (429).
    Limited(Decision),
    /// RFC 9449: a bound token without a good proof by its key, or a
    /// proof with an unbound token (`error` is the challenge's code).
    Dpop { error: &'static str, why: String },
    /// RFC 9449 §9: the proof lacks a nonce this gate gave out lately;
    /// the client retries with this one (`use_dpop_nonce`).
    UseDpopNonce(String),
}

impl Refused {
    /// The decision's `result` label.
    pub fn outcome(&self) -> crate::metrics::Outcome {
        use crate::metrics::Outcome;
        match self {
            Refused::Token(_) | Refused::Dpop { .. } | Refused::UseDpopNonce(_) => {
                Outcome::Unauthorized
            }
            Refused::Unavailable(_) => Outcome::Unavailable,
            Refused::Limited(_) => Outcome::RateLimited,
        }
    }
}

/// A DPoP proof sent with a call, and the call it must be for.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    pub proof: &'a str,
    pub method: &'a str,
    /// The URL the client called (see [`Gate::request_url`]).
    pub url: &'a str,
}

fn dpop_refused(error: &'static str, why: impl Into<String>) -> Refused {
    Refused::Dpop {
        error,
        why: why.into(),
    }
}

/// What an admitted call carries: the token's claims and the bucket's
/// state after charging it (none when the gate does not rate-limit).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub claims: Arc<Claims>,
    pub decision: Option<Decision>,
}

/// Who the gate expects tokens from, and for which API.
#[derive(Debug, Clone)]
struct Expect {
    issuer: String,
    audience: String,
}

/// How long an unknown key id waits before the JWKS is fetched again.
const KEY_REFETCH_EVERY: Duration = Duration::from_secs(5);

struct Inner {
    expect: OnceLock<Expect>,
    realm: Arc<str>,
    clock: Arc<dyn Clock>,
    exp_leeway: Secs,
    keys: RwLock<Arc<KeySet>>,
    view: crate::view::View,
    verified: VerifiedTokens,
    limiter: Option<Arc<RateLimiter>>,
    upstream: Option<Arc<dyn Upstream>>,
    on_stale: OnStale,
    /// `None`: the feed is in-process and never stale.
    stale_after: Option<Duration>,
    base: Instant,
    /// Nanoseconds after `base` of the last word from the feed; 0: none yet.
    last_contact: AtomicU64,
    /// Same clock: the last JWKS fetch for an unknown key id.
    last_key_fetch: AtomicU64,
    /// The feed position applied (resume from here).
    position: AtomicI64,
    ready: std::sync::atomic::AtomicBool,
    public_origin: Option<String>,
    /// DPoP proofs seen within their window (RFC 9449 §11.1).
    seen_proofs: crate::dpop::SeenProofs,
    /// Set: every proof must carry one of these (RFC 9449 §9).
    dpop_nonces: Option<DpopNonces>,
    decisions: crate::metrics::Decisions,
}

/// A bearer gate for one API. Cheap to clone; every clone is the same gate.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

/// Settings of a [`Gate`]; [`GateBuilder::build`] makes it.
pub struct GateBuilder {
    expect: Option<Expect>,
    realm: Arc<str>,
    clock: Arc<dyn Clock>,
    exp_leeway: Secs,
    limiter: Option<Arc<RateLimiter>>,
    upstream: Option<Arc<dyn Upstream>>,
    on_stale: OnStale,
    stale_after: Option<Duration>,
    public_origin: Option<String>,
    dpop_nonces: Option<DpopNonces>,
    metrics_labels: Vec<(&'static str, String)>,
}

/// The default bound after which a gate that lost its feed fails closed.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);
/// The default grace on `exp` for a gate in another process (its clock may
/// be behind the issuer's).
pub const DEFAULT_EXP_LEEWAY_SECS: Secs = 5;

impl Default for GateBuilder {
    fn default() -> Self {
        Self {
            expect: None,
            realm: "portcullis".into(),
            clock: Arc::new(SystemClock),
            exp_leeway: DEFAULT_EXP_LEEWAY_SECS,
            limiter: Some(Arc::new(RateLimiter::local())),
            upstream: None,
            on_stale: OnStale::FailClosed,
            stale_after: Some(DEFAULT_STALE_AFTER),
            public_origin: None,
            dpop_nonces: None,
            metrics_labels: Vec::new(),
        }
    }
}

impl GateBuilder {
    /// The issuer and audience, when known up front (in-process gates). A
    /// remote gate learns them from the feed's first snapshot.
    pub fn expect(mut self, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        self.expect = Some(Expect {
            issuer: issuer.into(),
            audience: audience.into(),
        });
        self
    }

    /// The realm named in `WWW-Authenticate` challenges.
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm.into();
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Seconds of grace on `exp`.
    pub fn exp_leeway(mut self, secs: Secs) -> Self {
        self.exp_leeway = secs.max(0);
        self
    }

    /// The limiter that holds the projects' buckets.
    pub fn limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Leave rate limiting to someone else (the buckets stay uncharged).
    pub fn without_rate_limit(mut self) -> Self {
        self.limiter = None;
        self
    }

    pub fn upstream(mut self, upstream: Arc<dyn Upstream>) -> Self {
        self.upstream = Some(upstream);
        self
    }

    /// What to do once the feed has been silent for `after`.
    pub fn when_stale(mut self, after: Duration, then: OnStale) -> Self {
        self.stale_after = Some(after);
        self.on_stale = then;
        self
    }

    /// The origin clients call this API at (`https://api.example.com`),
    /// for the URL a DPoP proof must name. Without it, the origin comes
    /// from the proxy's `X-Forwarded-Proto` and `X-Forwarded-Host` (else
    /// `Host`): set it whenever clients could reach the gate directly.
    pub fn public_origin(mut self, origin: &str) -> Self {
        self.public_origin = Some(origin.trim_end_matches('/').to_owned());
        self
    }

    /// Require a nonce this gate gave out in every DPoP proof (RFC 9449
    /// §9): a proof without a current one is answered `use_dpop_nonce`
    /// with the nonce to use. Replicas that share the nonces' secret take
    /// each other's.
    pub fn dpop_nonces(mut self, nonces: DpopNonces) -> Self {
        self.dpop_nonces = Some(nonces);
        self
    }

    /// A label the gate's decision counter carries (see
    /// [`crate::metrics`]): `("api", id)`, or `("gate", credential id)`.
    /// Bounded values only: never a client, token or address.
    pub fn metrics_label(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.metrics_labels.push((name, value.into()));
        self
    }

    /// The feed is in this process: it cannot be lost.
    pub fn in_process(mut self) -> Self {
        self.stale_after = None;
        self.exp_leeway = 0;
        self
    }

    pub fn build(self) -> Gate {
        let expect = OnceLock::new();
        if let Some(e) = self.expect {
            let _ = expect.set(e);
        }
        Gate {
            inner: Arc::new(Inner {
                expect,
                realm: self.realm,
                clock: self.clock,
                exp_leeway: self.exp_leeway,
                keys: RwLock::default(),
                view: crate::view::View::default(),
                verified: VerifiedTokens::default(),
                limiter: self.limiter,
                upstream: self.upstream,
                on_stale: self.on_stale,
                stale_after: self.stale_after,
                base: Instant::now(),
                last_contact: AtomicU64::new(0),
                last_key_fetch: AtomicU64::new(0),
                position: AtomicI64::new(0),
                ready: std::sync::atomic::AtomicBool::new(false),
                public_origin: self.public_origin,
                seen_proofs: crate::dpop::SeenProofs::default(),
                dpop_nonces: self.dpop_nonces,
                decisions: crate::metrics::Decisions::new(&self.metrics_labels),
            }),
        }
    }
}

impl Gate {
    pub fn builder() -> GateBuilder {
        GateBuilder::default()
    }

    /// The URL the client called, without query, for a DPoP proof's
    /// `htu`: the public origin when one is set (see
    /// [`GateBuilder::public_origin`]; nothing the client sends can change
    /// it), else the request's own absolute URI, else the proxy's
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` (or `Host`); and the path.
    pub fn request_url(&self, headers: &http::HeaderMap, uri: &http::Uri) -> String {
        let origin = match (&self.inner.public_origin, uri.scheme_str(), uri.authority()) {
            (Some(o), ..) => o.clone(),
            (None, Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            (None, ..) => {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.split(',').next())
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                };
                let proto = header("x-forwarded-proto").unwrap_or("http");
                let host = header("x-forwarded-host")
                    .or_else(|| header("host"))
                    .unwrap_or_default();
                format!("{proto}://{host}")
            }
        };
        format!("{origin}{}", uri.path())
    }

    pub fn realm(&self) -> &Arc<str> {
        &self.inner.realm
    }

    /// The limiter this gate charges, if it rate-limits.
    pub fn limiter(&self) -> Option<&Arc<RateLimiter>> {
        self.inner.limiter.as_ref()
    }

    /// The `aud` this gate accepts, once known.
    pub fn audience(&self) -> Option<&str> {
        self.inner.expect.get().map(|e| e.audience.as_str())
    }

    /// The `iss` this gate accepts, once known.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.expect.get().map(|e| e.issuer.as_str())
    }

    /// The newest feed position applied (0 before the first event).
    pub fn position(&self) -> i64 {
        self.inner.position.load(Ordering::Acquire)
    }

    /// Whether the gate has what it needs to decide (a snapshot and keys).
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    fn nanos(&self) -> u64 {
        // Never 0, which means "no contact yet".
        (self.inner.base.elapsed().as_nanos() as u64).max(1)
    }

    /// The feed said something (an event or a keep-alive).
    pub fn touch(&self) {
        self.inner
            .last_contact
            .store(self.nanos(), Ordering::Release);
    }

    /// How long since the feed last said something (`None`: never).
    pub fn silent_for(&self) -> Option<Duration> {
        match self.inner.last_contact.load(Ordering::Acquire) {
            0 => None,
            at => Some(Duration::from_nanos(self.nanos().saturating_sub(at))),
        }
    }

    /// Applies one feed event at position `seq`, in feed order.
    pub fn apply(&self, seq: i64, event: &Event) {
        match event {
            Event::Snapshot(s) => {
                let _ = self.inner.expect.set(Expect {
                    issuer: s.issuer.clone(),
                    audience: s.audience.clone(),
                });
                #[cfg(feature = "redis")]
                if let Some(b) = self.inner.limiter.as_ref().and_then(|l| l.shared_buckets()) {
                    b.set_issuer(&s.issuer);
                }
                self.set_keys(&s.jwks);
                self.inner.view.apply(event);
                self.inner.ready.store(true, Ordering::Release);
            }
            Event::Keys { jwks } => self.set_keys(jwks),
            other => self.inner.view.apply(other),
        }
        self.inner.position.store(seq, Ordering::Release);
        self.touch();
    }

    fn set_keys(&self, jwks: &Value) {
        match KeySet::from_jwks(jwks) {
            Ok(keys) => {
                *self.inner.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
                // A withdrawn key's tokens must not pass from the cache.
                self.inner.verified.clear();
            }
            Err(e) => {
                tracing::error!(error = %e, "the issuer sent an unusable JWK Set; keeping the keys we have")
            }
        }
    }

    /// Drops revocations of tokens that have expired anyway (call now and
    /// then; the remote follower does).
    pub fn prune(&self) {
        self.inner.view.prune(self.inner.clock.now());
    }

    fn keys(&self) -> Arc<KeySet> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Has the gate read the feed's snapshot, and heard from the issuer
    /// within its bound (`when_stale`)? What a readiness probe asks.
    pub fn is_current(&self) -> bool {
        self.is_ready() && self.stale().is_none()
    }

    /// Is the feed lost for longer than the bound?
    fn stale(&self) -> Option<Duration> {
        let bound = self.inner.stale_after?;
        match self.silent_for() {
            Some(silent) if silent <= bound => None,
            Some(silent) => Some(silent),
            None => Some(Duration::MAX),
        }
    }

    /// Every check of one call, then the bucket. `token` is the bearer
    /// token as sent; a DPoP-bound token is refused here (it needs
    /// [`Gate::admit_dpop`]).
    pub async fn admit(&self, token: &str) -> Result<Admitted, Refused> {
        self.counted(self.admit_checked(token, None).await)
    }

    /// [`Gate::admit`] for `Authorization: DPoP` (RFC 9449 §7.1): the
    /// token must be bound to the key of `proof`, which must be for this
    /// call and new. All of it is checked before the bucket is charged,
    /// so a token without its key cannot drain the project's bucket.
    pub async fn admit_dpop(
        &self,
        token: &str,
        proof: ProofRequest<'_>,
    ) -> Result<Admitted, Refused> {
        self.counted(self.admit_checked(token, Some(proof)).await)
    }

    /// Counts a decision in `portcullis_gate_decisions_total` (see
    /// [`crate::metrics`]). [`Gate::admit`] counts its refusals itself;
    /// whoever checks the route's scope after it counts the rest:
    /// [`Outcome::Allowed`](crate::metrics::Outcome) or `Forbidden` (the
    /// layers and the forward-auth service do).
    pub fn count(&self, outcome: crate::metrics::Outcome) {
        self.inner.decisions.count(outcome);
    }

    fn counted(&self, admitted: Result<Admitted, Refused>) -> Result<Admitted, Refused> {
        if let Err(why) = &admitted {
            self.count(why.outcome());
        }
        admitted
    }

    async fn admit_checked(
        &self,
        token: &str,
        dpop: Option<ProofRequest<'_>>,
    ) -> Result<Admitted, Refused> {
        let Some(expect) = self.inner.expect.get() else {
            return Err(Refused::Unavailable(
                "the gate is starting: it has not yet heard from the issuer".into(),
            ));
        };
        let stale = self.stale();
        let introspect = match (stale, self.inner.on_stale, &self.inner.upstream) {
            (None, ..) => None,
            (Some(_), OnStale::Introspect, Some(up)) if self.is_ready() => Some(up.clone()),
            (Some(silent), ..) => {
                let why = if silent == Duration::MAX || !self.is_ready() {
                    "the gate has not yet read the issuer's revocation feed".to_owned()
                } else {
                    format!(
                        "the gate has not heard from the issuer's revocation feed for {} s; calls are refused until it is back",
                        silent.as_secs()
                    )
                };
                return Err(Refused::Unavailable(why));
            }
        };
        let claims = self.verify(token, &expect.issuer).await?;
        let now = self.inner.clock.now();
        token::check_time(&claims, now, self.inner.exp_leeway).map_err(Refused::Token)?;
        if claims.aud != expect.audience {
            return Err(Refused::Token(Rejected::WrongAudience));
        }
        let proof = self.binding(&claims, token, dpop, now)?;
        let project = match introspect {
            None => Some(
                self.inner
                    .view
                    .standing(&claims, now)
                    .map_err(Refused::Token)?,
            ),
            Some(up) => match up.introspect(token).await {
                Ok(true) => self.inner.view.project(&claims.project_id),
                Ok(false) => return Err(Refused::Token(Rejected::Revoked)),
                Err(e) => {
                    return Err(Refused::Unavailable(format!(
                        "the gate has lost the issuer's feed and cannot reach its introspection endpoint: {e}"
                    )))
                }
            },
        };
        let decision = match (&self.inner.limiter, project) {
            (Some(limiter), Some(project)) => {
                let d = limiter
                    .charge(&project.id, project.limit(), Instant::now(), now)
                    .await;
                if !d.allowed {
                    return Err(Refused::Limited(d));
                }
                Some(d)
            }
            _ => None,
        };
        if let Some(proof) = proof {
            let seen = match self.inner.seen_proofs.first_use(&proof, now) {
                // RFC 9449 §11.1 across replicas: gates sharing Redis
                // take each proof once between them.
                crate::dpop::Use::First if !self.first_use_shared(&proof, now).await => {
                    crate::dpop::Use::Replayed
                }
                seen => seen,
            };
            match seen {
                crate::dpop::Use::First => {}
                crate::dpop::Use::Replayed => {
                    return Err(dpop_refused(
                        "invalid_dpop_proof",
                        crate::dpop::BadProof::Replayed.to_string(),
                    ))
                }
                crate::dpop::Use::Full => {
                    return Err(Refused::Unavailable(
                        "the gate holds as many DPoP proofs as it can remember; retry shortly"
                            .into(),
                    ))
                }
            }
        }
        Ok(Admitted { claims, decision })
    }

    /// False when another gate or node sharing this gate's Redis took
    /// the proof first (see [`RateLimiter::first_use_shared`]).
    async fn first_use_shared(&self, proof: &crate::dpop::Proof, now: crate::clock::Epoch) -> bool {
        let Some(limiter) = &self.inner.limiter else {
            return true;
        };
        let key = || {
            let digest = crate::limits::once_digest(&["gate-dpop-proof", &proof.jkt, &proof.jti]);
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest)
        };
        limiter
            .first_use_shared(key, proof.remember_until - now, now)
            .await
    }

    /// The token's binding (RFC 9449 §7.1): none and no proof, or a proof
    /// for this call by the key in `cnf.jkt` that was not used before.
    fn binding(
        &self,
        claims: &Claims,
        token: &str,
        dpop: Option<ProofRequest<'_>>,
        now: crate::clock::Epoch,
    ) -> Result<Option<crate::dpop::Proof>, Refused> {
        use crate::dpop::{check, BadProof, Expect};
        let bad = |e: BadProof| dpop_refused("invalid_dpop_proof", e.to_string());
        match (&claims.cnf, dpop) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(dpop_refused(
                "invalid_token",
                "this token is bound to a key (DPoP): send it as Authorization: DPoP with a DPoP proof",
            )),
            (None, Some(_)) => Err(dpop_refused(
                "invalid_token",
                "this token is not bound to a key: send it as Authorization: Bearer",
            )),
            (Some(cnf), Some(req)) => {
                let expect = Expect {
                    method: req.method,
                    url: req.url,
                    access_token: Some(token),
                    now,
                };
                let proof = check(req.proof, &expect).map_err(bad)?;
                if proof.jkt != cnf.jkt {
                    return Err(bad(BadProof::Binding));
                }
                if let Some(nonces) = &self.inner.dpop_nonces {
                    if !proof.nonce.as_deref().is_some_and(|n| nonces.valid(n, now)) {
                        return Err(Refused::UseDpopNonce(nonces.current(now)));
                    }
                }
                if self.inner.seen_proofs.contains(&proof, now) {
                    return Err(bad(BadProof::Replayed));
                }
                Ok(Some(proof))
            }
        }
    }

    /// The claims of a token signed by one of the issuer's keys; a token
    /// signed with a key we do not know yet fetches the JWKS again (at most
    /// once every few seconds).
    async fn verify(&self, token: &str, issuer: &str) -> Result<Arc<Claims>, Refused> {
        if let Some(claims) = self.inner.verified.get(token) {
            return Ok(claims);
        }
        let claims = match token::verify(token, &self.keys(), issuer) {
            Err(Rejected::UnknownKey) if self.may_refetch_keys() => {
                self.refetch_keys().await;
                token::verify(token, &self.keys(), issuer)
            }
            other => other,
        }
        .map_err(Refused::Token)?;
        let claims = Arc::new(claims);
        self.inner.verified.insert(token, claims.clone());
        Ok(claims)
    }

    fn may_refetch_keys(&self) -> bool {
        if self.inner.upstream.is_none() {
            return false;
        }
        let now = self.nanos();
        let last = self.inner.last_key_fetch.load(Ordering::Acquire);
        let due = last == 0 || now.saturating_sub(last) >= KEY_REFETCH_EVERY.as_nanos() as u64;
        due && self
            .inner
            .last_key_fetch
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    async fn refetch_keys(&self) {
        let Some(up) = &self.inner.upstream else {
            return;
        };
        match up.jwks().await {
            Ok(jwks) => self.set_keys(&jwks),
            Err(e) => tracing::warn!(error = %e, "could not fetch the issuer's JWK Set"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::atomic::AtomicUsize;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    use super::*;
    use crate::clock::ManualClock;
    use crate::events::{ClientState, ProjectState, RevokedToken, Snapshot};

    const ISS: &str = "https://issuer.test";
    const AUD: &str = "https://issuer.test/api";

    struct Key {
        kid: String,
        pair: EcdsaKeyPair,
    }

    impl Key {
        fn new(kid: &str) -> Self {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            Self {
                kid: kid.into(),
                pair,
            }
        }

        fn jwk(&self) -> Value {
            let point = self.pair.public_key().as_ref();
            json!({ "kty": "EC", "crv": "P-256", "kid": self.kid, "alg": "ES256", "use": "sig",
                    "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..65]) })
        }

        fn sign(&self, header: Value, claims: &Claims) -> String {
            let input = format!(
                "{}.{}",
                B64URL.encode(header.to_string()),
                B64URL.encode(serde_json::to_vec(claims).unwrap())
            );
            let sig = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap();
            format!("{input}.{}", B64URL.encode(sig.as_ref()))
        }

        fn token(&self, claims: &Claims) -> String {
            self.sign(
                json!({ "alg": "ES256", "typ": "at+jwt", "kid": self.kid }),
                claims,
            )
        }
    }

    fn claims(now: crate::clock::Epoch) -> Claims {
        Claims {
            iss: ISS.into(),
            sub: "pcl_1".into(),
            client_id: "pcl_1".into(),
            aud: AUD.into(),
            iat: now,
            nbf: None,
            exp: now + 300,
            jti: "j1".into(),
            scope: "a:read".into(),
            account_id: "acc_1".into(),
            project_id: "prj_1".into(),
            cnf: None,
        }
    }

    fn snapshot(keys: &[&Key]) -> Event {
        Event::Snapshot(Snapshot {
            issuer: ISS.into(),
            audience: AUD.into(),
            api_id: "api".into(),
            clients: vec![ClientState {
                id: "pcl_1".into(),
                account_id: "acc_1".into(),
                project_id: "prj_1".into(),
                disabled: false,
                expires_at: None,
                retire_at: None,
                revoked_before: None,
            }],
            projects: vec![ProjectState {
                id: "prj_1".into(),
                account_id: "acc_1".into(),
                archived: false,
                rate_per_sec: 1000,
                rate_burst: 1000,
            }],
            revoked: vec![],
            jwks: json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }),
        })
    }

    /// An issuer whose JWKS holds `keys`, counting the fetches.
    struct FakeIssuer {
        jwks: Value,
        fetches: AtomicUsize,
        active: bool,
    }

    impl Upstream for FakeIssuer {
        fn jwks(&self) -> BoxFuture<'_, Result<Value, String>> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let jwks = self.jwks.clone();
            Box::pin(async move { Ok(jwks) })
        }
        fn introspect<'a>(&'a self, _token: &'a str) -> BoxFuture<'a, Result<bool, String>> {
            let active = self.active;
            Box::pin(async move { Ok(active) })
        }
    }

    fn rejected(r: Result<Admitted, Refused>) -> Rejected {
        match r {
            Err(Refused::Token(why)) => why,
            other => panic!("expected a token refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn every_check_in_order() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let key = Key::new("k1");
        let gate = Gate::builder().clock(clock.clone()).in_process().build();
        let good = key.token(&claims(clock.now()));
        assert!(
            matches!(gate.admit(&good).await, Err(Refused::Unavailable(_))),
            "no snapshot yet"
        );
        gate.apply(1, &snapshot(&[&key]));
        let admitted = gate.admit(&good).await.unwrap();
        assert_eq!(admitted.claims.client_id, "pcl_1");
        assert_eq!(admitted.decision.unwrap().limit.burst, 1000);

        // Header: the key decides the algorithm; typ must be at+jwt.
        let c = claims(clock.now());
        let none_alg = key.sign(json!({ "alg": "RS256", "typ": "at+jwt", "kid": "k1" }), &c);
        assert_eq!(
            rejected(gate.admit(&none_alg).await),
            Rejected::BadSignature
        );
        let id_token = key.sign(json!({ "alg": "ES256", "typ": "JWT", "kid": "k1" }), &c);
        assert_eq!(
            rejected(gate.admit(&id_token).await),
            Rejected::BadSignature
        );
        let stranger = Key::new("k1").token(&c);
        assert_eq!(
            rejected(gate.admit(&stranger).await),
            Rejected::BadSignature
        );
        // Claims: issuer, audience, time.
        let mut other = claims(clock.now());
        other.iss = "https://evil.test".into();
        assert_eq!(
            rejected(gate.admit(&key.token(&other)).await),
            Rejected::BadSignature
        );
        let mut other = claims(clock.now());
        other.aud = "https://issuer.test/other".into();
        assert_eq!(
            rejected(gate.admit(&key.token(&other)).await),
            Rejected::WrongAudience
        );
        let mut other = claims(clock.now());
        other.nbf = Some(clock.now() + 31);
        assert_eq!(
            rejected(gate.admit(&key.token(&other)).await),
            Rejected::NotYetValid
        );
        clock.advance(300);
        assert_eq!(
            rejected(gate.admit(&good).await),
            Rejected::Expired,
            "in-process: no grace"
        );
        clock.advance(-300);

        // Standing, from events.
        gate.apply(
            2,
            &Event::Revoked(RevokedToken {
                jti: "j1".into(),
                exp: clock.now() + 300,
            }),
        );
        assert_eq!(rejected(gate.admit(&good).await), Rejected::Revoked);
        assert_eq!(gate.position(), 2);
    }

    #[tokio::test]
    async fn a_remote_gate_has_exp_grace_and_fails_closed_when_the_feed_is_silent() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let key = Key::new("k1");
        let gate = Gate::builder()
            .clock(clock.clone())
            .when_stale(Duration::from_millis(50), OnStale::FailClosed)
            .build();
        gate.apply(1, &snapshot(&[&key]));
        let token = key.token(&claims(clock.now()));
        clock.advance(300 + DEFAULT_EXP_LEEWAY_SECS - 1);
        assert!(gate.admit(&token).await.is_ok(), "within the grace");
        clock.advance(1);
        assert_eq!(rejected(gate.admit(&token).await), Rejected::Expired);
        clock.advance(-300 - DEFAULT_EXP_LEEWAY_SECS);
        tokio::time::sleep(Duration::from_millis(80)).await;
        match gate.admit(&token).await {
            Err(Refused::Unavailable(why)) => assert!(why.contains("feed"), "{why}"),
            other => panic!("expected 503, got {other:?}"),
        }
        gate.touch();
        assert!(
            gate.admit(&token).await.is_ok(),
            "back once the feed speaks"
        );
    }

    #[tokio::test]
    async fn an_unknown_key_fetches_the_jwks_again_at_most_every_few_seconds() {
        let old = Key::new("old");
        let new = Key::new("new");
        let issuer = Arc::new(FakeIssuer {
            jwks: json!({ "keys": [old.jwk(), new.jwk()] }),
            fetches: AtomicUsize::new(0),
            active: true,
        });
        let gate = Gate::builder().upstream(issuer.clone()).build();
        gate.apply(1, &snapshot(&[&old]));
        let c = claims(crate::clock::SystemClock.now());
        assert!(gate.admit(&new.token(&c)).await.is_ok());
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
        let unknown = Key::new("unknown").token(&c);
        assert_eq!(rejected(gate.admit(&unknown).await), Rejected::UnknownKey);
        assert_eq!(
            issuer.fetches.load(Ordering::SeqCst),
            1,
            "not again within 5 s"
        );
    }

    #[tokio::test]
    async fn a_stale_gate_set_to_introspect_asks_the_issuer() {
        let key = Key::new("k1");
        for active in [true, false] {
            let issuer = Arc::new(FakeIssuer {
                jwks: json!({ "keys": [] }),
                fetches: AtomicUsize::new(0),
                active,
            });
            let gate = Gate::builder()
                .upstream(issuer)
                .when_stale(Duration::from_millis(20), OnStale::Introspect)
                .build();
            gate.apply(1, &snapshot(&[&key]));
            // Revoked meanwhile, but the feed cannot say so: the issuer can.
            tokio::time::sleep(Duration::from_millis(40)).await;
            let token = key.token(&claims(crate::clock::SystemClock.now()));
            assert_eq!(gate.admit(&token).await.is_ok(), active);
        }
    }
}
