use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response, header::ORIGIN};
use mcp_guard_core::well_known::is_metadata_document;
use tower_layer::Layer;
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::layer::Policies;

/// Middleware adding CORS headers for an MCP endpoint and answering its
/// preflights. Made by [`McpCorsLayer`](crate::McpCorsLayer).
///
/// Like tower-http's `Cors`, it answers every `OPTIONS` request itself (the
/// handler never sees one) and needs a response body with a `Default` (empty)
/// value for those answers. A preflight that is not granted what it asks for
/// (the browser will then not send the request) carries a
/// [`Rejection`](mcp_guard_core::Rejection) extension with the guard `cors`
/// and the reason `origin_not_allowed`, `method_not_allowed` or
/// `header_not_allowed` (the crate logs nothing: a layer outside counts them).
///
/// Made by [`McpCorsLayer::disabled`](crate::McpCorsLayer::disabled), it
/// calls the inner service with every request, `OPTIONS` included, and hands
/// its response on as is.
#[derive(Debug, Clone)]
pub struct McpCors<S> {
    pub(crate) inner: S,
    // `None` when the layer was disabled.
    pub(crate) policies: Option<Arc<Policies>>,
}

impl<S> McpCors<S> {
    /// A reference to the wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the middleware, returning the wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for McpCors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let Some(policies) = &self.policies else {
            return ResponseFuture::not_cors(self.inner.call(request));
        };
        // tower-http's `Cors` is built around a borrow of the inner service
        // for this one call (its future owns nothing of the service): the
        // configuration is cloned only for a request CORS has work on, never
        // when the service is cloned.
        if is_metadata_document(request.uri().path()) {
            return ResponseFuture::new(policies.metadata.layer(&mut self.inner).call(request));
        }
        if request.method() == Method::OPTIONS {
            let refusal = policies
                .request_headers
                .restrict_preflight(request.headers_mut());
            return ResponseFuture::new(policies.mcp.layer(&mut self.inner).call(request))
                .refused(refusal);
        }
        if is_never_cors(&request) {
            return ResponseFuture::not_cors(self.inner.call(request));
        }
        ResponseFuture::new(policies.mcp.layer(&mut self.inner).call(request))
    }
}

/// A POST or DELETE without `Origin` did not come from a browser's CORS
/// machinery, and its response is never cached, so CORS headers (`Vary`,
/// `Access-Control-Expose-Headers`) would tell nobody anything: it skips
/// tower-http's `Cors` and its per-request header work. Everything else (GET,
/// whose responses a cache may keep, and every request with `Origin`) goes
/// through it.
fn is_never_cors<B>(request: &Request<B>) -> bool {
    matches!(*request.method(), Method::POST | Method::DELETE)
        && !request.headers().contains_key(ORIGIN)
}
