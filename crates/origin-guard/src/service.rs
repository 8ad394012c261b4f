use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use mcp_guard_core::{GuardBody, guard};
use tower_service::Service;

use crate::check::Guard;
use crate::future::{HandlerRefusal, ResponseFuture};

/// Middleware that rejects requests whose `Host` or `Origin` is not allowed.
///
/// Made by [`OriginGuardLayer`](crate::OriginGuardLayer).
///
/// When the handler answers an admitted request with a `403` that no
/// mcp-guard layer made and that is not JSON (what rmcp's own allowed-hosts
/// check answers for a Host it does not know), the guard logs a warning once
/// per layer naming rmcp's `StreamableHttpServerConfig::disable_allowed_hosts()`:
/// two Host checks disagree, and the origin guard is the one to keep. The
/// response passes through unchanged.
#[derive(Debug, Clone)]
pub struct OriginGuard<S> {
    pub(crate) inner: S,
    // `None` when the layer was disabled.
    pub(crate) guard: Option<Arc<Guard>>,
    pub(crate) handler_refusal: Arc<HandlerRefusal>,
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
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(config) = &self.guard else {
            return ResponseFuture::unwatched(self.inner.call(request));
        };
        match config.check(&request) {
            Ok(()) => ResponseFuture::pass(self.inner.call(request), &self.handler_refusal),
            Err(rejection) => {
                // A rebinding probe or a stray browser page: expected (logged
                // at info), nothing for the operator to do.
                let error = rejection
                    .into_error(config.host_rejection)
                    .rejected_by(guard::ORIGIN_GUARD);
                ResponseFuture::refuse(error, request.method())
            }
        }
    }
}
