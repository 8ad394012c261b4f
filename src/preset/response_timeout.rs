//! The preset's response timeout, outermost: it bounds the wait for response
//! headers, never a streaming body, so live SSE streams are not cut.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use mcp_guard_core::{Rejection, guard};
use tower_service::Service;

/// The response timeout: past its bound on the wait for response headers the
/// request gets `504 Gateway Timeout` with an empty body (as from
/// `tower_http::timeout::Timeout`) and the [`Rejection`] extension every
/// refusal of the stack carries (`response-timeout` / `response_timeout`), so
/// metrics count timeouts with the guards' refusals. A streaming body is never
/// cut. Without a bound ([`McpGuard::without_response_timeout`](super::McpGuard::without_response_timeout))
/// it calls the inner service and nothing else.
#[derive(Debug, Clone)]
pub struct ResponseTimeout<S> {
    inner: S,
    timeout: Option<Duration>,
}

impl<S> ResponseTimeout<S> {
    pub(crate) fn new(inner: S, timeout: Option<Duration>) -> Self {
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
            timeout: self.timeout,
            sleep: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`ResponseTimeout`].
    #[derive(Debug)]
    pub struct ResponseTimeoutFuture<F> {
        #[pin]
        inner: F,
        // The limit, until the timer starts.
        timeout: Option<Duration>,
        // Started when the inner future first waits: a response that is
        // ready at once (most JSON answers) never reads the clock or arms a
        // timer.
        #[pin]
        sleep: Option<tokio::time::Sleep>,
    }
}

impl<F, R, E> Future for ResponseTimeoutFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: Default,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        if let Some(timeout) = this.timeout.take() {
            this.sleep.set(Some(tokio::time::sleep(timeout)));
        }
        let Some(sleep) = this.sleep.as_pin_mut() else {
            return Poll::Pending;
        };
        std::task::ready!(sleep.poll(cx));
        let mut response = Response::new(R::default());
        *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
        response.extensions_mut().insert(Rejection {
            guard: guard::RESPONSE_TIMEOUT,
            reason: "response_timeout",
        });
        Poll::Ready(Ok(response))
    }
}
