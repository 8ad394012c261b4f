use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Request, Response};
use http_body::Body;
use mcp_guard_core::well_known::{forget_session, is_metadata_read};
use mcp_guard_core::{BoxError, GuardBody, PeekStart, Verdict};
use tower_service::Service;

use crate::future::{Check, ResponseFuture};
use crate::guard::{Decision, Guard, refuse_unread};
use crate::verifier::TokenVerifier;

/// Middleware that authenticates MCP requests with bearer tokens. Made by
/// [`BearerAuthLayer`](crate::BearerAuthLayer).
pub struct BearerAuth<S, V> {
    pub(crate) inner: S,
    /// `None`: switched off, every request passes untouched.
    pub(crate) guard: Option<Arc<Guard<V>>>,
}

impl<S: Clone, V> Clone for BearerAuth<S, V> {
    fn clone(&self) -> Self {
        BearerAuth {
            inner: self.inner.clone(),
            guard: self.guard.clone(),
        }
    }
}

impl<S: std::fmt::Debug, V> std::fmt::Debug for BearerAuth<S, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("inner", &self.inner)
            .field("enabled", &self.guard.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, V, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuth<S, V>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    V: TokenVerifier,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(guard) = &self.guard else {
            let request = request.map(GuardBody::new);
            return ResponseFuture::pass(&mut self.inner, request, tracing::Span::none());
        };
        if let Some(document) = guard.metadata_document(&request) {
            return ResponseFuture::answer(document);
        }
        if is_metadata_read(&request) {
            // Another public metadata document (the authorization server's,
            // when this app serves it too): no token needed to read it, and no
            // session reached through it.
            let mut request = request.map(GuardBody::new);
            forget_session(&mut request);
            if !guard.settings.keep_authorization {
                // No token passthrough, not even to a metadata handler.
                request.headers_mut().remove(AUTHORIZATION);
            }
            return ResponseFuture::pass(&mut self.inner, request, tracing::Span::none());
        }
        // Behind an envelope peek (or for a request without a body to read)
        // the envelope is at hand: decide now.
        let request = match guard.settings.envelope_limits.start_peek(request) {
            PeekStart::Ready(Ok(request)) => request,
            PeekStart::Ready(Err(error)) => return ResponseFuture::answer(refuse_unread(error)),
            PeekStart::Reading(read) => {
                let guard = guard.clone();
                let check: Check<ReqBody> = Box::pin(async move {
                    match read.await {
                        Ok(request) => match guard.decide(request) {
                            Decision::Done(verdict) => verdict,
                            Decision::Verify(unverified) => guard.verify(unverified).await,
                        },
                        Err(error) => Verdict::Answer(refuse_unread(error)),
                    }
                });
                return self.check(check);
            }
        };
        match guard.decide(request) {
            Decision::Done(Verdict::Pass(request)) => {
                ResponseFuture::pass_as_principal(&mut self.inner, request)
            }
            Decision::Done(Verdict::Answer(response)) => ResponseFuture::answer(response),
            Decision::Verify(unverified) => {
                let check = Box::pin(guard.clone().verify(unverified));
                self.check(check)
            }
        }
    }
}

impl<S: Clone, V> BearerAuth<S, V> {
    /// The future awaiting `check`. The polled-ready service goes into it (it
    /// calls the service when the check passes); a fresh clone stays here.
    fn check<ReqBody>(&mut self, check: Check<ReqBody>) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<GuardBody<ReqBody>>>,
    {
        ResponseFuture::check(check, mcp_guard_core::take_ready(&mut self.inner))
    }
}
