use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response, header::ORIGIN};
use mcp_guard_core::well_known::is_metadata_document;
use tower_http::cors::Cors;
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::request_headers::RequestHeaderPolicy;

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
    pub(crate) mcp: Cors<S>,
    pub(crate) metadata: Cors<S>,
    // `None` when the layer was disabled.
    pub(crate) policy: Option<Arc<RequestHeaderPolicy>>,
}

impl<S> McpCors<S> {
    /// A reference to the wrapped service.
    pub fn get_ref(&self) -> &S {
        self.mcp.get_ref()
    }

    /// Consumes the middleware, returning the wrapped service.
    pub fn into_inner(self) -> S {
        self.mcp.into_inner()
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
        self.mcp.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let Some(policy) = &self.policy else {
            return ResponseFuture::not_cors(self.mcp.get_mut().call(request));
        };
        if is_metadata_document(request.uri().path()) {
            if request.method() != Method::OPTIONS {
                // Only the MCP policy's copy of the inner service was polled
                // ready: hand that copy to the metadata policy, which calls it.
                // (A preflight is answered without calling the inner service.)
                std::mem::swap(self.mcp.get_mut(), self.metadata.get_mut());
            }
            return ResponseFuture::new(self.metadata.call(request));
        }
        if request.method() == Method::OPTIONS {
            let refusal = policy.restrict_preflight(request.headers_mut());
            return ResponseFuture::new(self.mcp.call(request)).refused(refusal);
        }
        if is_never_cors(&request) {
            return ResponseFuture::not_cors(self.mcp.get_mut().call(request));
        }
        ResponseFuture::new(self.mcp.call(request))
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
