//! A guard that is switched off, as a service of the same type shape as the
//! guard: requests and responses pass through untouched, only re-wrapped in the
//! types the guard would have produced. That is what lets [`McpGuardLayer`]
//! keep one concrete service type whichever guards a configuration turns on,
//! without boxing anything.
//!
//! [`McpGuardLayer`]: super::McpGuardLayer

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use futures_util::TryFutureExt;
use futures_util::future::MapOk;
use http::{Request, Response};
use tower_service::Service;

/// How a switched-off guard re-wraps what passes through it.
pub trait Passthrough {
    /// The request body the guard would hand on.
    type RequestBody<B>;
    /// The response body the guard would hand back.
    type GuardBody<R>;

    /// Re-wraps a request on its way in.
    fn request<B>(request: Request<B>) -> Request<Self::RequestBody<B>>;

    /// Re-wraps the handler's response on its way out.
    fn response<R>(response: Response<R>) -> Response<Self::GuardBody<R>>;
}

/// A switched-off guard: calls the inner service directly, with the
/// [`Passthrough`] `P` re-wrapping request and response.
pub struct Bypass<S, P> {
    inner: S,
    _passthrough: PhantomData<fn() -> P>,
}

impl<S, P> Bypass<S, P> {
    pub(crate) fn new(inner: S) -> Self {
        Bypass {
            inner,
            _passthrough: PhantomData,
        }
    }
}

impl<S: Clone, P> Clone for Bypass<S, P> {
    fn clone(&self) -> Self {
        Bypass::new(self.inner.clone())
    }
}

impl<S: fmt::Debug, P> fmt::Debug for Bypass<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bypass")
            .field("inner", &self.inner)
            .finish()
    }
}

/// The function a [`Bypass`] maps the handler's response with.
pub type MapResponse<P, R> = fn(Response<R>) -> Response<<P as Passthrough>::GuardBody<R>>;

impl<S, P, B, R> Service<Request<B>> for Bypass<S, P>
where
    P: Passthrough,
    S: Service<Request<P::RequestBody<B>>, Response = Response<R>>,
{
    type Response = Response<P::GuardBody<R>>;
    type Error = S::Error;
    type Future = MapOk<S::Future, MapResponse<P, R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let map: MapResponse<P, R> = P::response;
        self.inner.call(P::request(request)).map_ok(map)
    }
}

/// Guards that answer some requests themselves: the body becomes a
/// [`GuardBody`](mcp_guard_core::GuardBody) (origin guard, rate limit).
#[derive(Debug)]
pub enum Answering {}

impl Passthrough for Answering {
    type RequestBody<B> = B;
    type GuardBody<R> = mcp_guard_core::GuardBody<R>;

    fn request<B>(request: Request<B>) -> Request<B> {
        request
    }

    fn response<R>(response: Response<R>) -> Response<Self::GuardBody<R>> {
        response.map(mcp_guard_core::GuardBody::new)
    }
}

/// Guards that also read the request's JSON-RPC envelope: the request body
/// becomes a [`GuardBody`](mcp_guard_core::GuardBody) (bearer auth, session).
#[derive(Debug)]
pub enum Peeking {}

impl Passthrough for Peeking {
    type RequestBody<B> = mcp_guard_core::GuardBody<B>;
    type GuardBody<R> = mcp_guard_core::GuardBody<R>;

    fn request<B>(request: Request<B>) -> Request<Self::RequestBody<B>> {
        request.map(mcp_guard_core::GuardBody::new)
    }

    fn response<R>(response: Response<R>) -> Response<Self::GuardBody<R>> {
        response.map(mcp_guard_core::GuardBody::new)
    }
}

/// The protocol guard: it peeks the envelope and observes `tools/list` results.
#[cfg(feature = "protocol-guard")]
#[derive(Debug)]
pub enum ProtocolGuardOff {}

#[cfg(feature = "protocol-guard")]
impl Passthrough for ProtocolGuardOff {
    type RequestBody<B> = mcp_guard_core::GuardBody<B>;
    type GuardBody<R> = mcp_guard_core::GuardBody<mcp_protocol_guard::ObservedBody<R>>;

    fn request<B>(request: Request<B>) -> Request<Self::RequestBody<B>> {
        request.map(mcp_guard_core::GuardBody::new)
    }

    fn response<R>(response: Response<R>) -> Response<Self::GuardBody<R>> {
        response.map(|body| {
            mcp_guard_core::GuardBody::new(mcp_protocol_guard::ObservedBody::passthrough(body))
        })
    }
}

/// The resumable-SSE layer: its body type carries replayed streams.
#[cfg(feature = "sse-resume")]
#[derive(Debug)]
pub enum SseResumeOff {}

#[cfg(feature = "sse-resume")]
impl Passthrough for SseResumeOff {
    type RequestBody<B> = B;
    type GuardBody<R> = mcp_sse_resume::ResumeBody<R>;

    fn request<B>(request: Request<B>) -> Request<B> {
        request
    }

    fn response<R>(response: Response<R>) -> Response<Self::GuardBody<R>> {
        response.map(mcp_sse_resume::ResumeBody::passthrough)
    }
}

/// A guard whose Cargo feature is off: nothing to re-wrap. `T` is the type the
/// guard would have been configured with, kept so the stack's type parameters
/// stay the same under every feature set.
#[derive(Debug)]
pub struct CompiledOut<T>(PhantomData<fn() -> T>);

impl<T> Passthrough for CompiledOut<T> {
    type RequestBody<B> = B;
    type GuardBody<R> = R;

    fn request<B>(request: Request<B>) -> Request<B> {
        request
    }

    fn response<R>(response: Response<R>) -> Response<R> {
        response
    }
}
