use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use tower_service::Service;

use super::{EnvelopeCheck, InTrailSpan};
use crate::{BoxError, EnvelopeLimits, GuardBody, GuardFuture, PeekStart, guard};

/// Reads the JSON-RPC envelope of a POST body once into the request
/// extensions. Made by [`EnvelopePeekLayer`](super::EnvelopePeekLayer).
#[derive(Debug, Clone)]
pub struct EnvelopePeek<S> {
    pub(super) inner: InTrailSpan<S>,
    // `None`: disabled, everything passes unread.
    pub(super) limits: Option<EnvelopeLimits>,
}

impl<S> EnvelopePeek<S> {
    /// A reference to the wrapped service.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }

    /// Consumes the peek, returning the wrapped service.
    pub fn into_inner(self) -> S {
        self.inner.into_inner()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EnvelopePeek<S>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardFuture<InTrailSpan<S>, GuardBody<ReqBody>, EnvelopeCheck<ReqBody>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(limits) = &self.limits else {
            return GuardFuture::pass(self.inner.call(request.map(GuardBody::new)));
        };
        match limits.start_peek(request) {
            PeekStart::Ready(Ok(request)) => GuardFuture::pass(self.inner.call(request)),
            PeekStart::Ready(Err(error)) => {
                GuardFuture::refuse(error.rejected_by(guard::ENVELOPE_PEEK), &Method::POST)
            }
            PeekStart::Reading(read) => {
                // The polled-ready service waits in the future for the body.
                let inner = crate::take_ready(&mut self.inner);
                GuardFuture::check(EnvelopeCheck::new(read), inner)
            }
        }
    }
}
