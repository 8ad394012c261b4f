use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::ACCEPT_ENCODING;
use http::{Method, Request, Response};
use http_body::Body;
use mcp_guard_core::{Era, Principal, RpcEnvelope};
use tower_service::Service;

use super::body::{DiscoveryBody, Filtering};
use super::filter::Target;
use super::future::ResponseFuture;
use super::layer::Settings;

/// Middleware that shows each caller only the tools, prompts and resources
/// its scopes allow. Made by [`DiscoveryFilterLayer`](super::DiscoveryFilterLayer);
/// see the [module docs](super).
#[derive(Clone)]
pub struct DiscoveryFilter<S> {
    pub(crate) inner: S,
    /// `None`: switched off.
    pub(crate) settings: Option<Arc<Settings>>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for DiscoveryFilter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoveryFilter")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for DiscoveryFilter<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<DiscoveryBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let filtering = match &self.settings {
            Some(settings) if request.method() == Method::POST => {
                // Read from the envelope the body read in front put there
                // (an envelope peek, or bearer auth itself); without one
                // nothing tells a list request apart, and the request passes.
                request
                    .extensions()
                    .get::<RpcEnvelope>()
                    .and_then(|envelope| {
                        let scopes = request
                            .extensions()
                            .get::<Principal>()
                            .map(Principal::scopes);
                        Target::of(envelope, scopes, Era::of(&request), settings)
                    })
                    .map(Filtering::boxed)
            }
            _ => None,
        };
        if filtering.is_some() {
            // A list answer must reach the filter readable: a compression
            // layer behind it (or the handler) answers uncompressed when the
            // client's `Accept-Encoding` is not passed on. A compression
            // layer in front compresses the filtered answer.
            request.headers_mut().remove(ACCEPT_ENCODING);
        }
        ResponseFuture {
            inner: self.inner.call(request),
            filtering,
        }
    }
}
