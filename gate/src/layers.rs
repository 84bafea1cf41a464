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
use portcullis_core::ratelimit::Decision;
use portcullis_core::tokens::Rejected;
use tower::{Layer, Service};

use crate::errors::Refusal;
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

/// The bearer token of a request, or why there is none to check.
fn bearer_token(req: &Request) -> Result<&str, Refusal> {
    let mut values = req.headers().get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => {
            // RFC 6750 §2.3 allows a query parameter; we do not (it leaks
            // into logs), and say so rather than ignore it.
            if req
                .uri()
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
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme is no bearer credential at all (RFC 6750 §3.1).
        return Err(Refusal::NoCredentials);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(Refusal::Malformed("expected Authorization: Bearer <token>"));
    }
    Ok(token)
}

/// Why the gate turned a request away.
enum Turned {
    Refused(Refusal),
    Limited(Decision),
}

impl Gate {
    /// Authenticates and charges the bucket; the admitted request carries
    /// a [`Bearer`] extension.
    async fn admit(&self, req: &mut Request) -> Result<Option<Decision>, Turned> {
        let token = bearer_token(req).map_err(Turned::Refused)?;
        let (claims, project) = self
            .issuer
            .check_for(token, &self.audience)
            .map_err(|why| {
                let text = match why {
                    Rejected::Expired => "the token has expired",
                    Rejected::Revoked => "the token has been revoked",
                    Rejected::WrongAudience => "the token is for another API",
                    Rejected::ClientUnusable => "the token's client or project is no longer active",
                    Rejected::NotYetValid => "the token is not valid yet",
                    Rejected::Malformed | Rejected::BadSignature => {
                        "the token is not a valid access token"
                    }
                };
                Turned::Refused(Refusal::InvalidToken(text.into()))
            })?;
        let decision = if self.rate_limit {
            let d = self.issuer.charge(&project).await;
            if !d.allowed {
                return Err(Turned::Limited(d));
            }
            Some(d)
        } else {
            None
        };
        req.extensions_mut().insert(Bearer {
            claims,
            realm: self.realm.clone(),
        });
        Ok(decision)
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
            match gate.admit(&mut req).await {
                Err(Turned::Refused(r)) => Ok(r.into_response_with_realm(&gate.realm)),
                Err(Turned::Limited(d)) => Ok(ratelimit_headers::too_many(&d)),
                Ok(decision) => {
                    let mut res = inner.call(req).await?;
                    if let Some(d) = decision {
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
            Some(b) => Some((Refusal::InsufficientScope(self.scope), b.realm.clone())),
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
