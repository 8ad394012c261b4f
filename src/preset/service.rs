//! The stacked service and the types it is made of, innermost stage first.
//! Each stage is the guard, or its [`Bypass`] when a configuration switches the
//! guard off, or a [`CompiledOut`] pass-through when its Cargo feature is off.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use mcp_guard_core::{Rejection, guard};
use tower::util::Either;
use tower_service::Service;

#[allow(unused_imports)] // which ones are used depends on the features
use super::bypass::{Answering, Bypass, CompiledOut, Peeking};

/// The resumable-SSE stage.
#[cfg(feature = "sse-resume")]
pub type SseResumeStage<S, Es> =
    Either<mcp_sse_resume::SseResume<S, Es>, Bypass<S, super::bypass::SseResumeOff>>;
/// The resumable-SSE stage (feature `sse-resume` off).
#[cfg(not(feature = "sse-resume"))]
pub type SseResumeStage<S, Es> = Bypass<S, CompiledOut<Es>>;

/// The session stage.
#[cfg(feature = "session")]
pub type SessionStage<S, Ss> = Either<mcp_session::SessionGuard<S, Ss>, Bypass<S, Peeking>>;
/// The session stage (feature `session` off).
#[cfg(not(feature = "session"))]
pub type SessionStage<S, Ss> = Bypass<S, CompiledOut<Ss>>;

/// The rate-limit stage.
#[cfg(feature = "rate-limit")]
pub type RateLimitStage<S> = Either<crate::rate_limit::RateLimit<S>, Bypass<S, Answering>>;
/// The rate-limit stage (feature `rate-limit` off).
#[cfg(not(feature = "rate-limit"))]
pub type RateLimitStage<S> = S;

/// The bearer-auth stage.
#[cfg(feature = "bearer-auth")]
pub type BearerAuthStage<S, V> = Either<mcp_bearer_auth::BearerAuth<S, V>, Bypass<S, Peeking>>;
/// The bearer-auth stage (feature `bearer-auth` off).
#[cfg(not(feature = "bearer-auth"))]
pub type BearerAuthStage<S, V> = Bypass<S, CompiledOut<V>>;

/// The protocol-guard stage.
#[cfg(feature = "protocol-guard")]
pub type ProtocolGuardStage<S> =
    Either<mcp_protocol_guard::ProtocolGuard<S>, Bypass<S, super::bypass::ProtocolGuardOff>>;
/// The protocol-guard stage (feature `protocol-guard` off).
#[cfg(not(feature = "protocol-guard"))]
pub type ProtocolGuardStage<S> = S;

/// The CORS stage (CORS does not change body types, so off is the service
/// itself).
#[cfg(feature = "cors")]
pub type CorsStage<S> = Either<mcp_cors_preset::McpCors<S>, S>;
/// The CORS stage (feature `cors` off).
#[cfg(not(feature = "cors"))]
pub type CorsStage<S> = S;

/// The origin-guard stage.
#[cfg(feature = "origin-guard")]
pub type OriginGuardStage<S> = Either<mcp_origin_guard::OriginGuard<S>, Bypass<S, Answering>>;
/// The origin-guard stage (feature `origin-guard` off).
#[cfg(not(feature = "origin-guard"))]
pub type OriginGuardStage<S> = S;

/// The response timeout, outermost: it bounds the wait for response headers,
/// never a streaming body, so live SSE streams are not cut.
pub type TimeoutStage<S> = Either<ResponseTimeout<S>, S>;

/// The response timeout: past its bound on the wait for response headers the
/// request gets `504 Gateway Timeout` with an empty body (as from
/// `tower_http::timeout::Timeout`) and the [`Rejection`] extension every
/// refusal of the stack carries (`response-timeout` / `response_timeout`), so
/// metrics count timeouts with the guards' refusals. A streaming body is never
/// cut.
#[derive(Debug, Clone)]
pub struct ResponseTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S> ResponseTimeout<S> {
    pub(crate) fn new(inner: S, timeout: Duration) -> Self {
        ResponseTimeout { inner, timeout }
    }
}

impl<S, B, R> Service<Request<B>> for ResponseTimeout<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseTimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ResponseTimeoutFuture {
            inner: self.inner.call(request),
            sleep: tokio::time::sleep(self.timeout),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`ResponseTimeout`].
    #[derive(Debug)]
    pub struct ResponseTimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

impl<F, R, E> Future for ResponseTimeoutFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: Default,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        std::task::ready!(this.sleep.poll(cx));
        let mut response = Response::new(R::default());
        *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
        response.extensions_mut().insert(Rejection {
            guard: guard::RESPONSE_TIMEOUT,
            reason: "response_timeout",
        });
        Poll::Ready(Ok(response))
    }
}

/// Every stage, outermost first, around the handler `S`.
pub type Stack<S, V, Ss, Es> = TimeoutStage<
    OriginGuardStage<
        CorsStage<
            ProtocolGuardStage<
                BearerAuthStage<RateLimitStage<SessionStage<SseResumeStage<S, Es>, Ss>>, V>,
            >,
        >,
    >,
>;

/// The service [`McpGuardLayer`](super::McpGuardLayer) wraps a handler in: the
/// guards the configuration turned on, in the order of the request's path.
pub struct McpGuardService<S, V, Ss, Es> {
    pub(crate) stack: Stack<S, V, Ss, Es>,
    /// With an [endpoint](super::McpGuard::endpoint): the same stages all
    /// switched off, for requests to other paths.
    pub(crate) unguarded: Option<(super::endpoint::Endpoint, Stack<S, V, Ss, Es>)>,
}

impl<S, V, Ss, Es> Clone for McpGuardService<S, V, Ss, Es>
where
    Stack<S, V, Ss, Es>: Clone,
{
    fn clone(&self) -> Self {
        McpGuardService {
            stack: self.stack.clone(),
            unguarded: self.unguarded.clone(),
        }
    }
}

impl<S, V, Ss, Es> fmt::Debug for McpGuardService<S, V, Ss, Es>
where
    Stack<S, V, Ss, Es>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpGuardService")
            .field("stack", &self.stack)
            .field("unguarded", &self.unguarded)
            .finish()
    }
}

impl<S, V, Ss, Es, B> Service<Request<B>> for McpGuardService<S, V, Ss, Es>
where
    Stack<S, V, Ss, Es>: Service<Request<B>>,
{
    type Response = <Stack<S, V, Ss, Es> as Service<Request<B>>>::Response;
    type Error = <Stack<S, V, Ss, Es> as Service<Request<B>>>::Error;
    type Future = <Stack<S, V, Ss, Es> as Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Either may take the next request, so both must be ready (as in
        // `tower::steer`).
        std::task::ready!(self.stack.poll_ready(cx))?;
        match &mut self.unguarded {
            Some((_, unguarded)) => unguarded.poll_ready(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match &mut self.unguarded {
            Some((endpoint, unguarded)) if !endpoint.covers(request.uri().path()) => {
                unguarded.call(request)
            }
            _ => self.stack.call(request),
        }
    }
}
