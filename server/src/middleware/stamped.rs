//! The answer future of the outer layers that set headers on every
//! response (request id, security headers): the inner service's future,
//! then one change to the answer's headers. Typed, so a layer adds no box.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{HeaderMap, Response};

/// What a layer writes into the answer's headers.
pub trait Stamp {
    fn stamp(self, headers: &mut HeaderMap);
}

pin_project_lite::pin_project! {
    /// `inner`'s answer, once `stamp` has written its headers.
    pub struct Stamped<F, S> {
        #[pin]
        inner: F,
        stamp: Option<S>,
    }
}

impl<F, S> Stamped<F, S> {
    pub fn new(inner: F, stamp: S) -> Self {
        Self {
            inner,
            stamp: Some(stamp),
        }
    }
}

impl<F, S, R, E> Future for Stamped<F, S>
where
    F: Future<Output = Result<Response<R>, E>>,
    S: Stamp,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some(stamp) = this.stamp.take() {
            stamp.stamp(res.headers_mut());
        }
        Poll::Ready(Ok(res))
    }
}
