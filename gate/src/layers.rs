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
        let (scheme, token) = access_token(headers, uri).map_err(refuse)?;
        let proof = match scheme {
            Scheme::Bearer => None,
            Scheme::Dpop => Some(
                self.dpop_proof(headers, method, uri, token)
                    .map_err(refuse)?,
            ),
        };
        let admitted = self.admit(token).await.map_err(|why| match why {
            Refused::Token(r) => {
                Refusal::InvalidToken(r.describe().into()).into_response_with_realm(self.realm())
            }
            Refused::Unavailable(why) => {
                Refusal::Unavailable(why).into_response_with_realm(self.realm())
            }
            Refused::Limited(d) => ratelimit_headers::too_many(&d),
        })?;
        self.check_binding(&admitted.claims, proof)
            .map_err(refuse)?;
        Ok(admitted)
    }

    /// RFC 9449 §7.1: the proof of a `DPoP` request, checked against it.
    fn dpop_proof(
        &self,
        headers: &http::HeaderMap,
        method: &str,
        uri: &http::Uri,
        token: &str,
    ) -> Result<crate::dpop::Proof, Refusal> {
        let mut proofs = headers.get_all("dpop").iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(p), None) => p.to_str().map_err(|_| {
                dpop_refusal(
                    "invalid_dpop_proof",
                    crate::dpop::BadProof::Malformed.to_string(),
                )
            })?,
            (None, _) => {
                return Err(dpop_refusal(
                    "invalid_dpop_proof",
                    "a DPoP request needs a DPoP proof header",
                ))
            }
            _ => {
                return Err(dpop_refusal(
                    "invalid_dpop_proof",
                    crate::dpop::BadProof::Count.to_string(),
                ))
            }
        };
        let url = self.request_url(headers, uri);
        crate::dpop::check(
            proof,
            &crate::dpop::Expect {
                method,
                url: &url,
                access_token: Some(token),
                now: self.now(),
            },
        )
        .map_err(|e| dpop_refusal("invalid_dpop_proof", e.to_string()))
    }

    /// A bound token needs its key's proof (used once); an unbound one
    /// must not come as `DPoP`.
    fn check_binding(
        &self,
        claims: &crate::Claims,
        proof: Option<crate::dpop::Proof>,
    ) -> Result<(), Refusal> {
        match (&claims.cnf, proof) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(dpop_refusal(
                "invalid_token",
                "this token is bound to a key (DPoP): send it as Authorization: DPoP with a DPoP proof",
            )),
            (None, Some(_)) => Err(Refusal::InvalidToken(
                "this token is not bound to a key: send it as Authorization: Bearer".into(),
            )),
            (Some(cnf), Some(proof)) => {
                if proof.jkt != cnf.jkt {
                    return Err(dpop_refusal(
                        "invalid_dpop_proof",
                        crate::dpop::BadProof::Binding.to_string(),
                    ));
                }
                if !self.seen_proofs().first_use(&proof, self.now()) {
                    return Err(dpop_refusal(
                        "invalid_dpop_proof",
                        crate::dpop::BadProof::Replayed.to_string(),
                    ));
                }
                Ok(())
            }
        }
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
                        claims: admitted.claims,
                        realm: gate.realm().clone(),
                    });
                    let mut res = inner.call(req).await?;
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
        let refusal = match req.extensions().get::<Bearer>() {
            Some(b) if b.has_scope(self.scope) => None,
            Some(b) => Some((
                Refusal::InsufficientScope(self.scope.to_owned()),
                b.realm.clone(),
            )),
            None => {
                // Fail closed: a route with a scope but no gate in front.
                tracing::error!(
                    scope = self.scope,
                    "scoped route reached without the bearer gate"
                );
                Some((Refusal::NoCredentials, Arc::from("portcullis")))
            }
        };
        if let Some((r, realm)) = refusal {
            return Box::pin(std::future::ready(Ok(r.into_response_with_realm(&realm))));
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(req))
    }
}
