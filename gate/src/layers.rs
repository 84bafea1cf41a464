//! The two tower layers: [`GateLayer`] (authenticate, rate limit) for a
//! whole API, and [`ScopeLayer`] for one route.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use http::header;
use tower::{Layer, Service};

use crate::errors::Refusal;
use crate::gate::Refused;
use crate::metrics::Outcome;
use crate::ratelimit_headers;
use crate::{Bearer, Gate};

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

#[derive(Clone)]
pub struct GateLayer {
    pub(crate) gate: Gate,
}

impl<S> Layer<S> for GateLayer {
    type Service = GateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GateService {
            inner,
            gate: self.gate.clone(),
        }
    }
}

#[derive(Clone)]
pub struct GateService<S> {
    inner: S,
    gate: Gate,
}

/// How the token was sent: RFC 6750's `Bearer` or RFC 9449's `DPoP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Dpop,
}

/// The bearer token of a request, or why there is none to check.
pub fn bearer_token<'a>(headers: &'a http::HeaderMap, uri: &http::Uri) -> Result<&'a str, Refusal> {
    match access_token(headers, uri)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::Dpop, _) => Err(Refusal::NoCredentials),
    }
}

/// The access token of a request and its scheme, or why there is none.
pub fn access_token<'a>(
    headers: &'a http::HeaderMap,
    uri: &http::Uri,
) -> Result<(Scheme, &'a str), Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => {
            // RFC 6750 §2.3 allows a query parameter; we do not (it leaks
            // into logs), and say so rather than ignore it.
            if uri
                .query()
                .is_some_and(|q| q.split('&').any(|p| p.starts_with("access_token=")))
            {
                return Err(Refusal::Malformed(
                    "send the token in the Authorization header, not the query string",
                ));
            }
            return Err(Refusal::NoCredentials);
        }
        (Some(_), Some(_)) => return Err(Refusal::Malformed("send one Authorization header")),
        (Some(v), None) => v,
    };
    let value = value
        .to_str()
        .map_err(|_| Refusal::Malformed("the Authorization header is not text"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        // Another scheme is no credential of ours (RFC 6750 §3.1).
        return Err(Refusal::NoCredentials);
    };
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(Refusal::Malformed("expected Authorization: Bearer <token>"));
    }
    Ok((scheme, token))
}

fn dpop_refusal(error: &'static str, why: impl Into<String>) -> Refusal {
    Refusal::Dpop {
        error,
        why: why.into(),
    }
}

impl Gate {
    /// Everything the gate checks for one HTTP request: the header, a
    /// DPoP proof when one is sent (checked before the bucket is charged),
    /// then [`Gate::admit`], then the token's binding. The answer to send
    /// back when it is refused.
    pub async fn admit_request(
        &self,
        headers: &http::HeaderMap,
        method: &str,
        uri: &http::Uri,
    ) -> Result<crate::Admitted, Response> {
        let refuse = |r: Refusal| r.into_response_with_realm(self.realm());
        // Refused before `admit` (which counts its own): counted here.
        let unheard = |r: Refusal| {
            self.count(r.outcome());
            refuse(r)
        };
        let (scheme, token) = access_token(headers, uri).map_err(unheard)?;
        let admitted = match scheme {
            Scheme::Bearer => self.admit(token).await,
            Scheme::Dpop => {
                let proof = single_proof(headers).map_err(unheard)?;
                let url = self.request_url(headers, uri);
                let request = crate::ProofRequest {
                    proof,
                    method,
                    url: &url,
                };
                self.admit_dpop(token, request).await
            }
        };
        admitted.map_err(|why| match why {
            Refused::Token(r) => refuse(Refusal::InvalidToken(r.describe().into())),
            Refused::Unavailable(why) => refuse(Refusal::Unavailable(why)),
            Refused::Dpop { error, why } => refuse(Refusal::Dpop { error, why }),
            Refused::UseDpopNonce(nonce) => refuse(Refusal::UseDpopNonce(nonce)),
            Refused::Limited(d) => ratelimit_headers::too_many(&d),
        })
    }
}

/// RFC 9449 §4.3 item 1: exactly one `DPoP` header, as text.
fn single_proof(headers: &http::HeaderMap) -> Result<&str, Refusal> {
    use crate::dpop::BadProof;
    let bad = |e: BadProof| dpop_refusal("invalid_dpop_proof", e.to_string());
    let mut proofs = headers.get_all("dpop").iter();
    match (proofs.next(), proofs.next()) {
        (Some(p), None) => p.to_str().map_err(|_| bad(BadProof::Malformed)),
        (None, _) => Err(dpop_refusal(
            "invalid_dpop_proof",
            "a DPoP request needs a DPoP proof header",
        )),
        _ => Err(bad(BadProof::Count)),
    }
}

impl<S> Service<Request> for GateService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The ready service handles this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let method = req.method().as_str().to_owned();
            // Under `Router::nest` the URI has lost its prefix; a DPoP
            // proof names the whole URL.
            let uri = req
                .extensions()
                .get::<axum::extract::OriginalUri>()
                .map_or_else(|| req.uri().clone(), |o| o.0.clone());
            match gate.admit_request(req.headers(), &method, &uri).await {
                Err(refused) => Ok(refused),
                Ok(admitted) => {
                    req.extensions_mut().insert(Bearer {
                        claims: admitted.claims.clone(),
                        realm: gate.realm().clone(),
                    });
                    let mut res = inner.call(req).await?;
                    // A guard behind (scope, binding) says if it refused.
                    gate.settle(
                        &admitted,
                        res.extensions()
                            .get::<GuardRefused>()
                            .map_or(Outcome::Allowed, |g| g.0),
                    );
                    if let Some(d) = admitted.decision {
                        ratelimit_headers::apply(res.headers_mut(), &d);
                    }
                    Ok(res)
                }
            }
        })
    }
}

/// Requires `name` on the route it wraps (behind a [`GateLayer`]).
pub fn scope(name: &'static str) -> ScopeLayer {
    ScopeLayer { scope: name }
}

#[derive(Clone, Copy)]
pub struct ScopeLayer {
    scope: &'static str,
}

impl ScopeLayer {
    pub fn name(&self) -> &'static str {
        self.scope
    }
}

impl<S> Layer<S> for ScopeLayer {
    type Service = ScopeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ScopeService {
            inner,
            scope: self.scope,
        }
    }
}

#[derive(Clone)]
pub struct ScopeService<S> {
    inner: S,
    scope: &'static str,
}

impl<S> Service<Request> for ScopeService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let scope = self.scope;
        guarded(&mut self.inner, req, |b| {
            (!b.has_scope(scope)).then(|| Refusal::InsufficientScope(scope.to_owned()))
        })
    }
}

/// Set on the answer of a guard that refused an admitted caller, so the
/// [`GateService`] in front counts the call as that, not as allowed.
#[derive(Clone, Copy)]
struct GuardRefused(Outcome);

/// A route's own requirement of the admitted caller (a scope, a bound
/// token): `check` says why the caller does not meet it, if it does not.
/// A route reached without the [`GateLayer`] in front fails closed.
pub(crate) fn guarded<S>(
    inner: &mut S,
    req: Request,
    check: impl FnOnce(&Bearer) -> Option<Refusal>,
) -> BoxFuture
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let refusal = match req.extensions().get::<Bearer>() {
        Some(b) => check(b).map(|r| (r, b.realm.clone())),
        None => {
            tracing::error!(path = %req.uri().path(), "a guarded route reached without the bearer gate");
            Some((Refusal::NoCredentials, Arc::from("portcullis")))
        }
    };
    if let Some((r, realm)) = refusal {
        let outcome = r.outcome();
        let mut res = r.into_response_with_realm(&realm);
        res.extensions_mut().insert(GuardRefused(outcome));
        return Box::pin(std::future::ready(Ok(res)));
    }
    let clone = inner.clone();
    let mut inner = std::mem::replace(inner, clone);
    Box::pin(inner.call(req))
}
