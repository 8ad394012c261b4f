use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use mcp_guard_core::{BoxError, GuardBody, PeekStart, Principal, Verdict};
use tower_service::Service;

use crate::ResponseFuture;
use crate::future::{Decided, ToolCheck, decide};
use crate::limits::Limits;

/// The per-principal and per-tool rate limit. See the [crate docs](crate).
#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    /// `None`: switched off, every request passes.
    limits: Option<Arc<Limits>>,
}

impl<S> RateLimit<S> {
    pub(crate) fn new(inner: S, limits: Option<Arc<Limits>>) -> Self {
        RateLimit { inner, limits }
    }
}

impl<S: fmt::Debug> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("limits", &self.limits)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(limits) = &self.limits else {
            return ResponseFuture::pass(&mut self.inner, request.map(GuardBody::new));
        };
        // The caller's bucket (`Principal::caller_key`, computed once when
        // the principal was built): a refcount bump, no formatting.
        let caller = request
            .extensions()
            .get::<Principal>()
            .map(|principal| principal.caller_key().clone());
        // The caller's own limit first: a request it refuses spends nothing
        // of a tool's budget (the tool's calls are the scarcer ones).
        if let Err(error) = limits.check_caller(caller.as_ref()) {
            let error = error.with_id_from(request.extensions());
            return ResponseFuture::refuse(error, request.method());
        }
        if limits.tools.is_empty() {
            return ResponseFuture::pass(&mut self.inner, request.map(GuardBody::new));
        }
        // Behind an envelope peek (or for a request that is not a POST) the
        // envelope is at hand: decide now. Used alone, read the body first:
        // per-tool limits never silently stop counting.
        match limits.envelope_limits.start_peek(request) {
            PeekStart::Ready(Ok(request)) => match decide(limits, caller.as_ref(), request) {
                Decided::Now(Verdict::Pass(request)) => {
                    ResponseFuture::pass(&mut self.inner, request)
                }
                Decided::Now(Verdict::Answer(response)) => ResponseFuture::answer(response),
                Decided::Later(count, request) => {
                    let check = ToolCheck::counting(count, request, limits.clone());
                    self.check(check)
                }
            },
            PeekStart::Ready(Err(error)) => ResponseFuture::refuse(error, &http::Method::POST),
            PeekStart::Reading(read) => {
                let check = ToolCheck::read(read, limits.clone(), caller);
                self.check(check)
            }
        }
    }
}

impl<S: Clone> RateLimit<S> {
    /// The future awaiting `check`. The polled-ready service goes into it (it
    /// calls the service when the check passes); a fresh clone stays here
    /// (tower's advice on cloning services).
    fn check<B>(&mut self, check: ToolCheck<B>) -> ResponseFuture<S, B>
    where
        S: Service<Request<GuardBody<B>>>,
    {
        ResponseFuture::check(check, mcp_guard_core::take_ready(&mut self.inner))
    }
}
