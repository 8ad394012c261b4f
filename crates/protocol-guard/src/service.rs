use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use mcp_guard_core::well_known::{forget_session, is_metadata_read};
use mcp_guard_core::{BoxError, GuardBody, PeekStart, Verdict, take_ready};
use tower_service::Service;

use crate::body::ObservedBody;
use crate::check::{Config, HeaderVerdict};
use crate::future::{BodyCheck, ResponseFuture, check_read, insert_version};

/// Middleware that checks MCP requests of both eras before they reach the
/// handler. Made by [`ProtocolGuardLayer`](crate::ProtocolGuardLayer).
///
/// The handler receives the request with its
/// [`ProtocolVersion`](mcp_guard_core::ProtocolVersion) and
/// [`Era`](mcp_guard_core::Era) in the extensions (and, for a POST, the
/// [`RpcEnvelope`](mcp_guard_core::RpcEnvelope)), and the body byte for byte
/// in a [`GuardBody`].
///
/// Its future is the guard kit's [`GuardFuture`](mcp_guard_core::GuardFuture).
/// A POST whose envelope is already in the extensions (behind an envelope
/// peek, as in the presets) is checked in `call` and the inner service is
/// called at once. Otherwise the body read and the envelope checks are the
/// future's check, and the inner service (polled ready, then moved into the
/// future, a clone staying behind) is called once they pass; so the inner
/// service needs `Clone` but neither `Send` nor `'static`, and nothing is
/// boxed.
#[derive(Debug, Clone)]
pub struct ProtocolGuard<S> {
    pub(crate) inner: S,
    // `None` when the layer was disabled.
    pub(crate) config: Option<Arc<Config>>,
}

impl<S> ProtocolGuard<S> {
    /// A reference to the wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the guard, returning the wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ProtocolGuard<S>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<GuardBody<ObservedBody<ResBody>>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let Some(config) = &self.config else {
            return ResponseFuture::pass(self.inner.call(request.map(GuardBody::new)));
        };
        if is_metadata_read(&request) {
            // Public OAuth metadata: answered whatever MCP headers come along.
            forget_session(&mut request);
            return ResponseFuture::pass(self.inner.call(request.map(GuardBody::new)));
        }
        match config.check_headers(request.method(), request.headers()) {
            Err(error) => ResponseFuture::refuse(error, request.method()),
            Ok(HeaderVerdict::PassThrough) => {
                ResponseFuture::pass(self.inner.call(request.map(GuardBody::new)))
            }
            Ok(HeaderVerdict::Decided(version)) => {
                insert_version(&mut request, version);
                ResponseFuture::pass(self.inner.call(request.map(GuardBody::new)))
            }
            Ok(HeaderVerdict::NeedsEnvelope(header_version)) => {
                match config.envelope_limits.start_peek(request) {
                    // Read already (the presets' envelope peek), or refused
                    // for its declared length: decided now, with no check
                    // state and no clone of the inner service.
                    PeekStart::Ready(read) => match check_read(config, read, &header_version) {
                        Verdict::Pass(request) => ResponseFuture::observe(&mut self.inner, request),
                        Verdict::Answer(response) => ResponseFuture::answer(response),
                    },
                    PeekStart::Reading(read) => {
                        let check = BodyCheck::new(config.clone(), read, header_version);
                        // The polled-ready service waits in the future, to be
                        // called once the body passed.
                        ResponseFuture::check(check, take_ready(&mut self.inner))
                    }
                }
            }
        }
    }
}
