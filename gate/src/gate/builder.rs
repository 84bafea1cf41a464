//! [`GateBuilder`]: a gate's settings, and the gate it builds.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::cache::VerifiedTokens;
use crate::clock::{Clock, Secs, SystemClock};
use crate::dpop_nonce::DpopNonces;
use crate::limits::RateLimiter;

use super::{Expect, Gate, Inner, OnStale, ProjectSource, Upstream};

/// Settings of a [`Gate`]; [`GateBuilder::build`] makes it.
pub struct GateBuilder {
    expect: Option<Expect>,
    realm: Arc<str>,
    clock: Arc<dyn Clock>,
    exp_leeway: Secs,
    limiter: Option<Arc<RateLimiter>>,
    upstream: Option<Arc<dyn Upstream>>,
    projects: Option<Arc<dyn ProjectSource>>,
    on_stale: OnStale,
    stale_after: Option<Duration>,
    public_origin: Option<String>,
    dpop_nonces: Option<DpopNonces>,
    metrics_labels: Vec<(&'static str, String)>,
    usage: Option<Arc<crate::usage::Tally>>,
}

/// The default bound after which a gate that lost its feed fails closed.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);
/// The default grace on `exp` for a gate in another process (its clock may
/// be behind the issuer's).
pub const DEFAULT_EXP_LEEWAY_SECS: Secs = 5;
/// The most grace on `exp` a gate takes: a refused client is remembered
/// for a token's longest life plus more than this
/// ([`crate::events::REFUSAL_KEPT_SECS`]).
pub const EXP_LEEWAY_MAX_SECS: Secs = 120;

impl Default for GateBuilder {
    fn default() -> Self {
        Self {
            expect: None,
            realm: "portcullis".into(),
            clock: Arc::new(SystemClock),
            exp_leeway: DEFAULT_EXP_LEEWAY_SECS,
            limiter: Some(Arc::new(RateLimiter::local())),
            upstream: None,
            projects: None,
            on_stale: OnStale::FailClosed,
            stale_after: Some(DEFAULT_STALE_AFTER),
            public_origin: None,
            dpop_nonces: None,
            metrics_labels: Vec::new(),
            usage: None,
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

    /// Seconds of grace on `exp`, at most [`EXP_LEEWAY_MAX_SECS`].
    pub fn exp_leeway(mut self, secs: Secs) -> Self {
        self.exp_leeway = secs.clamp(0, EXP_LEEWAY_MAX_SECS);
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

    /// Where the gate asks about projects it has not seen (without one,
    /// it knows only the projects its feed's snapshot held).
    pub fn project_source(mut self, source: Arc<dyn ProjectSource>) -> Self {
        self.projects = Some(source);
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

    /// Counts each decision with a project (let through, refused, rate
    /// limited) in `tally`, for the issuer's usage totals (see
    /// [`crate::usage`]). A gate following a feed from another process
    /// gets one, reported to the issuer, from [`Gate::follow`](crate::Gate).
    pub fn usage(mut self, tally: Arc<crate::usage::Tally>) -> Self {
        self.usage = Some(tally);
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
                projects: self.projects,
                asking: Default::default(),
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
                usage: self.usage,
            }),
        }
    }
}
