//! Admission: every check of one call, in the order of the module
//! comment, then the bucket; DPoP binding and the JWKS refetch.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::token::{self, Claims, Rejected};

/// How many times, at most, a gate asks about a project whose answers
/// keep being older than the feed's changes.
const PROJECT_ASKS: usize = 3;
/// The pause before the second ask (twice that before the third).
const PROJECT_ASK_PAUSE: Duration = Duration::from_millis(20);

use super::{
    dpop_refused, Admitted, Gate, OnStale, ProjectSource, ProofRequest, Refused, KEY_REFETCH_EVERY,
};

impl Gate {
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
    /// whoever checks the route's scope after it counts the rest with
    /// [`Gate::settle`].
    pub fn count(&self, outcome: crate::metrics::Outcome) {
        self.inner.decisions.count(outcome);
    }

    /// How an admitted call ended once the route's own checks ran:
    /// [`Outcome::Allowed`](crate::metrics::Outcome) or `Forbidden` (the
    /// layers and the forward-auth service call this). Counted in the
    /// metrics and, for the token's project, in the usage tally.
    pub fn settle(&self, admitted: &Admitted, outcome: crate::metrics::Outcome) {
        self.count(outcome);
        let event = match outcome {
            crate::metrics::Outcome::Allowed => crate::usage::Event::Gated,
            _ => crate::usage::Event::Refused,
        };
        self.tally(&admitted.claims.project_id, event);
    }

    fn tally(&self, project_id: &str, event: crate::usage::Event) {
        if let Some(t) = &self.inner.usage {
            t.count(project_id, "", event, self.inner.clock.now());
        }
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
        // From here the token names its project: a refusal counts for it.
        let decided = self
            .admit_verified(&claims, token, dpop, introspect, expect)
            .await;
        match decided {
            Ok(decision) => Ok(Admitted { claims, decision }),
            Err(why) => {
                // Not counted: the gate's own trouble, a nonce challenge
                // (part of a DPoP client's normal exchange) and a token for
                // another API (the project is not this API's).
                let event = match why {
                    Refused::Limited(_) => Some(crate::usage::Event::Limited),
                    Refused::Unavailable(_)
                    | Refused::UseDpopNonce(_)
                    | Refused::Token(Rejected::WrongAudience) => None,
                    _ => Some(crate::usage::Event::Refused),
                };
                if let Some(event) = event {
                    self.tally(&claims.project_id, event);
                }
                Err(why)
            }
        }
    }

    /// The checks after the signature: time, audience, binding, standing,
    /// then the bucket and the proof's first use.
    async fn admit_verified(
        &self,
        claims: &Claims,
        token: &str,
        dpop: Option<ProofRequest<'_>>,
        introspect: Option<Arc<dyn super::Upstream>>,
        expect: &super::Expect,
    ) -> Result<Option<crate::limits::Decision>, Refused> {
        let now = self.inner.clock.now();
        token::check_time(claims, now, self.inner.exp_leeway).map_err(Refused::Token)?;
        if claims.aud != expect.audience {
            return Err(Refused::Token(Rejected::WrongAudience));
        }
        let proof = self.binding(claims, token, dpop, now)?;
        let project = match introspect {
            None => {
                self.inner
                    .view
                    .refusal(claims, now)
                    .map_err(Refused::Token)?;
                let known = self.project(&claims.project_id).await?;
                Some(crate::view::usable(known, claims).map_err(Refused::Token)?)
            }
            Some(up) => match up.introspect(token).await {
                // Charged to its bucket if the project can be learnt.
                Ok(true) => self.project(&claims.project_id).await.ok().flatten(),
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
        Ok(decision)
    }

    /// The project as the gate knows it, asking the issuer the first time
    /// (an answer that may predate a change the feed already brought is
    /// asked again; past a few asks the call is refused with 503). Calls
    /// that arrive together for one unseen project share one ask and its
    /// outcome, a refusal included.
    async fn project(&self, id: &str) -> Result<crate::view::Known, Refused> {
        if let Some(known) = self.inner.view.project(id) {
            return Ok(known);
        }
        let Some(source) = &self.inner.projects else {
            return Ok(None);
        };
        let seat = self.inner.asking.join(id);
        seat.outcome
            .get_or_init(|| async {
                // An ask that ended just before this call joined may have
                // taught the view already.
                match self.inner.view.project(id) {
                    Some(known) => Ok(known),
                    None => self.ask(source.as_ref(), id).await,
                }
            })
            .await
            .clone()
    }

    async fn ask(
        &self,
        source: &dyn ProjectSource,
        id: &str,
    ) -> Result<crate::view::Known, Refused> {
        let unreachable = |e: String| {
            Refused::Unavailable(format!(
                "the gate cannot learn the token's project from the issuer: {e}"
            ))
        };
        for ask in 0..PROJECT_ASKS {
            if ask > 0 {
                // The answering node catches up within moments.
                tokio::time::sleep(PROJECT_ASK_PAUSE * ask as u32).await;
            }
            let answer = source.project(id).await.map_err(unreachable)?;
            if let Some(known) = self.inner.view.learn(id, answer) {
                return Ok(known);
            }
        }
        // The issuer answering is behind the feed (another node, lagging):
        // an older answer could let an archived project's token through.
        Err(Refused::Unavailable(
            "the issuer's answers about the token's project are behind its feed; retry shortly"
                .into(),
        ))
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

/// One ask's outcome, shared by the calls waiting for it.
type Outcome = tokio::sync::OnceCell<Result<crate::view::Known, Refused>>;

/// The projects a gate is asking the issuer about now, each with the
/// outcome its callers share and how many wait for it. An entry lives
/// while a call waits (a call given up on leaves too; if the asking call
/// is given up on, a waiting one asks), so the map is as large as the
/// unseen projects being called at once, and a failed ask is not
/// remembered past its callers.
#[derive(Default)]
pub(crate) struct InFlight(std::sync::Mutex<HashMap<String, (Arc<Outcome>, usize)>>);

impl InFlight {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    /// A place among the calls waiting for `id`'s ask.
    fn join(&self, id: &str) -> Seat<'_> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (outcome, waiting) = map.entry(id.to_owned()).or_default();
        *waiting += 1;
        Seat {
            flights: self,
            id: id.to_owned(),
            outcome: outcome.clone(),
        }
    }
}

/// One call's place; the entry goes with the last to leave.
struct Seat<'a> {
    flights: &'a InFlight,
    id: String,
    outcome: Arc<Outcome>,
}

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        let mut map = self.flights.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, waiting)) = map.get_mut(&self.id) {
            *waiting -= 1;
            if *waiting == 0 {
                map.remove(&self.id);
            }
        }
    }
}
