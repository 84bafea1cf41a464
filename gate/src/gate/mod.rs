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
use crate::clock::{Clock, Secs};
use crate::dpop_nonce::DpopNonces;
use crate::events::{Event, ProjectAnswer};
use crate::limits::{Decision, RateLimiter};
use crate::token::{Claims, KeySet, Rejected};

mod admit;
mod builder;
#[cfg(test)]
mod tests;

pub use builder::{GateBuilder, DEFAULT_EXP_LEEWAY_SECS, DEFAULT_STALE_AFTER, EXP_LEEWAY_MAX_SECS};

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

/// Where a gate learns about a project it has not seen yet: the issuer's
/// registry for a gate in its process, `GET /gate/v1/project` for one in
/// another. Asked once per project (the feed keeps it current after).
pub trait ProjectSource: Send + Sync {
    fn project<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ProjectAnswer, String>>;
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
    projects: Option<Arc<dyn ProjectSource>>,
    /// Projects being asked about now: one ask per project however many
    /// calls arrive for it at once (the others wait for its answer).
    asking: crate::gate::admit::InFlight,
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
    usage: Option<Arc<crate::usage::Tally>>,
}

/// A bearer gate for one API. Cheap to clone; every clone is the same gate.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
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
                self.inner.view.apply(seq, self.inner.clock.now(), event);
                self.inner.ready.store(true, Ordering::Release);
            }
            Event::Keys { jwks } => self.set_keys(jwks),
            other => self.inner.view.apply(seq, self.inner.clock.now(), other),
        }
        self.inner.position.store(seq, Ordering::Release);
        self.touch();
    }

    /// The feed has moved on to `seq` with nothing for this gate's API.
    pub fn advance(&self, seq: i64) {
        self.inner.position.fetch_max(seq, Ordering::AcqRel);
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
}
