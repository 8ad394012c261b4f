//! The response future, and the body read of a layer used without an
//! envelope peek before it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use mcp_guard_core::{
    BoxError, GuardBody, GuardFuture, McpError, PeekFuture, RpcEnvelope, Verdict, error_code, guard,
};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::limits::{Counted, Limits, RemoteCount};

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
    /// The per-tool check that cannot decide at once: the body read of a
    /// request whose envelope no layer before this one read, and the count
    /// in a shared store. Nameable, so the response future is not boxed on
    /// the in-memory path (a shared store's count is one boxed future).
    pub(crate) struct ToolCheck<B> {
        #[pin]
        step: Step<B>,
        limits: Arc<Limits>,
        caller: Option<Arc<str>>,
    }
}

pin_project! {
    #[project = StepProj]
    enum Step<B> {
        Reading { #[pin] read: PeekFuture<B> },
        // The request waits here while the store counts its calls.
        Counting { count: RemoteCount, request: Option<Request<GuardBody<B>>> },
    }
}

impl<B> ToolCheck<B> {
    /// Reads the body, then counts.
    pub(crate) fn read(read: PeekFuture<B>, limits: Arc<Limits>, caller: Option<Arc<str>>) -> Self {
        ToolCheck {
            step: Step::Reading { read },
            limits,
            caller,
        }
    }

    /// The envelope is at hand; the store counts.
    pub(crate) fn counting(
        count: RemoteCount,
        request: Request<GuardBody<B>>,
        limits: Arc<Limits>,
    ) -> Self {
        ToolCheck {
            step: Step::Counting {
                count,
                request: Some(request),
            },
            limits,
            caller: None,
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
        let mut this = self.project();
        loop {
            match this.step.as_mut().project() {
                StepProj::Reading { read } => {
                    let request = match ready!(read.poll(cx)) {
                        Ok(request) => request,
                        // Too large, too slow, broken: the read's own refusal.
                        Err(error) => return Poll::Ready(refusal(error)),
                    };
                    match decide(this.limits, this.caller.as_ref(), request) {
                        Decided::Now(verdict) => return Poll::Ready(verdict),
                        Decided::Later(count, request) => this.step.set(Step::Counting {
                            count,
                            request: Some(request),
                        }),
                    }
                }
                StepProj::Counting { count, request } => {
                    let counted = ready!(count.as_mut().poll(cx));
                    let Some(request) = request.take() else {
                        panic!("the rate limit's tool check polled after completion");
                    };
                    return Poll::Ready(match counted {
                        Ok(()) => Verdict::Pass(request),
                        Err(error) => refusal(error.with_id_from(request.extensions())),
                    });
                }
            }
        }
    }
}

/// What the per-tool limits decided about a request whose envelope (if any)
/// is in its extensions.
pub(crate) enum Decided<B> {
    Now(Verdict<B>),
    /// A shared store counts; the request waits.
    Later(RemoteCount, Request<B>),
}

pub(crate) fn decide<B>(
    limits: &Limits,
    caller: Option<&Arc<str>>,
    request: Request<B>,
) -> Decided<B> {
    let envelope = request.extensions().get::<RpcEnvelope>();
    if envelope == Some(&RpcEnvelope::Unparsable) {
        // No tool the limits could count, yet a handler may still read one
        // (the last of two `"name"` members, say) and run it: passing it
        // would let any caller call a limited tool without limit.
        return Decided::Now(refusal(unreadable_body()));
    }
    match limits.count(envelope, caller) {
        Counted::Now(Ok(())) => Decided::Now(Verdict::Pass(request)),
        Counted::Now(Err(error)) => Decided::Now(refusal(error.with_id_from(request.extensions()))),
        Counted::Later(count) => Decided::Later(count, request),
    }
}

/// The refusal of a body core's parser could not read: the same code and
/// reason as the protocol guard's for it, and the id `null` (none could be
/// read).
fn unreadable_body() -> McpError {
    McpError::new(
        StatusCode::BAD_REQUEST,
        error_code::PARSE_ERROR,
        "the body is not a JSON-RPC message this server can read (invalid JSON, a duplicated member, a member of the wrong type, a null id, or a mix of request and response), so its tool calls cannot be counted against the per-tool rate limits; send one well-formed JSON-RPC object or batch",
    )
    .with_reason("parse_error")
}

fn refusal<B>(error: McpError) -> Verdict<B> {
    Verdict::refuse(error.rejected_by(guard::RATE_LIMIT), &Method::POST)
}
