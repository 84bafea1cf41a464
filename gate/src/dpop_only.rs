//! A route that takes only DPoP-bound tokens (RFC 9449 §7.1): behind a
//! [`crate::GateLayer`], which has already checked the token and, for a
//! bound one, its proof. A Bearer token that is not bound is refused with
//! a `DPoP` challenge, so a token copied from a log cannot call it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};

use crate::errors::Refusal;
use crate::layers::guarded;

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// Requires a DPoP-bound token on the route it wraps.
pub fn dpop_only() -> DpopOnlyLayer {
    DpopOnlyLayer
}

#[derive(Clone, Copy, Default)]
pub struct DpopOnlyLayer;

impl<S> Layer<S> for DpopOnlyLayer {
    type Service = DpopOnlyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DpopOnlyService { inner }
    }
}

#[derive(Clone)]
pub struct DpopOnlyService<S> {
    inner: S,
}

impl<S> Service<Request> for DpopOnlyService<S>
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
        guarded(&mut self.inner, req, |b| {
            b.claims.cnf.is_none().then(|| Refusal::Dpop {
                error: "invalid_token",
                why: "this route takes only DPoP-bound tokens: ask the token endpoint with a DPoP proof"
                    .into(),
            })
        })
    }
}
