//! The response future, and the body read of a layer used without an
//! envelope peek before it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use mcp_guard_core::{
    BoxError, GuardBody, GuardFuture, McpError, PeekFuture, RpcEnvelope, Verdict, guard,
};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::limits::Limits;

pin_project! {
    /// Response future of [`RateLimit`](crate::RateLimit): the handler's
    /// response, or the 429 (`S` is the inner service, `B` the request body
    /// the layer takes).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<GuardBody<B>>>,
    {
        #[pin]
        inner: GuardFuture<S, GuardBody<B>, ToolCheck<B>>,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<GuardBody<B>>>,
{
    pub(crate) fn pass(inner: &mut S, request: Request<GuardBody<B>>) -> Self {
        ResponseFuture {
            inner: GuardFuture::pass(inner.call(request)),
        }
    }

    pub(crate) fn refuse(error: McpError, method: &Method) -> Self {
        ResponseFuture {
            inner: GuardFuture::refuse(error.rejected_by(guard::RATE_LIMIT), method),
        }
    }

    pub(crate) fn answer(response: Response<Bytes>) -> Self {
        ResponseFuture {
            inner: GuardFuture::answer(response),
        }
    }

    /// Reads the body, then checks the per-tool limits; `inner` was polled
    /// ready.
    pub(crate) fn check(check: ToolCheck<B>, inner: S) -> Self {
        ResponseFuture {
            inner: GuardFuture::check(check, inner),
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<GuardBody<B>>, Response = Response<ResBody>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<GuardBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<GuardBody<B>>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .finish()
    }
}

pin_project! {
    /// The body read of a request whose envelope no layer before this one
    /// read, then the per-tool check. Nameable, so the response future is not
    /// boxed.
    pub(crate) struct ToolCheck<B> {
        #[pin]
        read: PeekFuture<B>,
        limits: Arc<Limits>,
        caller: Option<Arc<str>>,
    }
}

impl<B> ToolCheck<B> {
    pub(crate) fn new(read: PeekFuture<B>, limits: Arc<Limits>, caller: Option<Arc<str>>) -> Self {
        ToolCheck {
            read,
            limits,
            caller,
        }
    }
}

impl<B> fmt::Debug for ToolCheck<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCheck").finish_non_exhaustive()
    }
}

impl<B> Future for ToolCheck<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Verdict<GuardBody<B>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let verdict = match ready!(this.read.poll(cx)) {
            Ok(request) => decide(this.limits, this.caller.as_ref(), request),
            // Too large, too slow, broken: the read's own refusal.
            Err(error) => refusal(error),
        };
        Poll::Ready(verdict)
    }
}

/// The per-tool check of a request whose envelope (if any) is in its
/// extensions.
pub(crate) fn decide<B>(
    limits: &Limits,
    caller: Option<&Arc<str>>,
    request: Request<B>,
) -> Verdict<B> {
    let envelope = request.extensions().get::<RpcEnvelope>();
    match limits.check_tools(envelope, caller) {
        Ok(()) => Verdict::Pass(request),
        Err(error) => refusal(error.with_id_from(request.extensions())),
    }
}

fn refusal<B>(error: McpError) -> Verdict<B> {
    Verdict::refuse(error.rejected_by(guard::RATE_LIMIT), &Method::POST)
}
