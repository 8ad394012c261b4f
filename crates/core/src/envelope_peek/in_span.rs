use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Request;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::Trail;

/// The service behind the [`EnvelopePeek`](super::EnvelopePeek): calls and
/// polls it inside the request's span when the request's [`Trail`] carries
/// one ([`Trail::with_span`]), so that the layers behind the peek and the
/// handler run inside a span named after the envelope. Without one it costs
/// an extensions lookup.
#[derive(Debug, Clone)]
pub struct InTrailSpan<S> {
    inner: S,
}

impl<S> InTrailSpan<S> {
    pub(super) fn new(inner: S) -> Self {
        InTrailSpan { inner }
    }

    /// A reference to the wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for InTrailSpan<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = InTrailSpanFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let span = request
            .extensions()
            .get::<Trail>()
            .and_then(Trail::span)
            .cloned();
        let _entered = span.as_ref().map(tracing::Span::enter);
        let inner = self.inner.call(request);
        drop(_entered);
        InTrailSpanFuture { inner, span }
    }
}

pin_project! {
    /// The response future of [`InTrailSpan`]: polls inside the request's span.
    #[derive(Debug)]
    pub struct InTrailSpanFuture<F> {
        #[pin]
        inner: F,
        span: Option<tracing::Span>,
    }
}

impl<F: Future> Future for InTrailSpanFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.as_ref().map(tracing::Span::enter);
        this.inner.poll(cx)
    }
}
