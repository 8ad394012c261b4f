use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use mcp_guard_core::ResponseBody;
use tower_service::Service;

use crate::check::Guard;
use crate::future::ResponseFuture;

/// Middleware that rejects requests whose `Host` or `Origin` is not allowed.
///
/// Made by [`OriginGuardLayer`](crate::OriginGuardLayer).
#[derive(Debug, Clone)]
pub struct OriginGuard<S> {
    pub(crate) inner: S,
    pub(crate) guard: Arc<Guard>,
}

impl<S> OriginGuard<S> {
    /// A reference to the wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the guard, returning the wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OriginGuard<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.guard.check(&request) {
            Ok(()) => ResponseFuture::pass(self.inner.call(request)),
            Err(rejection) => {
                let error = rejection.into_error(self.guard.host_rejection);
                tracing::warn!(
                    status = error.status().as_u16(),
                    method = %request.method(),
                    reason = error.message(),
                    "origin guard rejected a request"
                );
                ResponseFuture::answer(error.into_response())
            }
        }
    }
}
