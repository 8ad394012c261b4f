//! The protocol guard's response future: the guard kit's [`GuardFuture`],
//! whose asynchronous check is the one read of a POST body and the checks
//! that need its envelope, around an inner call that wraps the handler's body
//! in an [`ObservedBody`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use mcp_guard_core::sse::is_event_stream;
use mcp_guard_core::{
    BoxError, GuardBody, GuardFuture, McpError, PeekFuture, ProtocolVersion, RpcEnvelope, Verdict,
    guard,
};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::body::ObservedBody;
use crate::check::{Config, HeaderVersion};
use crate::param_headers::ParamHeaderRegistry;

pin_project! {
    /// Response future of [`ProtocolGuard`](crate::ProtocolGuard): the
    /// guard's refusal, or the handler's response with its body in an
    /// [`ObservedBody`]. Nothing is boxed: a POST's body read is a named
    /// future, and the inner service is called when it is done.
    pub struct ResponseFuture<S, ReqBody, ResBody>
    where
        S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    {
        #[pin]
        inner: GuardFuture<Observing<S>, GuardBody<ReqBody>, BodyCheck<ReqBody>>,
        // The response body type the inner service's bound names.
        _body: PhantomData<fn() -> ResBody>,
    }
}

impl<S, ReqBody, ResBody> ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
{
    /// The inner service's response to a request passed on at once, its body
    /// passed through unobserved.
    pub(crate) fn pass(future: S::Future) -> Self {
        ResponseFuture::from(GuardFuture::pass(ObservingFuture {
            future,
            watch: None,
        }))
    }

    /// The logged refusal of a `method` request.
    pub(crate) fn refuse(error: McpError, method: &Method) -> Self {
        ResponseFuture::from(GuardFuture::refuse(
            error.rejected_by(guard::PROTOCOL_GUARD),
            method,
        ))
    }

    /// Calls `inner` now with a request the envelope checks passed (its body
    /// was read by a layer outside), watching the answer when the checks
    /// asked for it (a `tools/list`).
    pub(crate) fn observe(inner: &mut S, request: Request<GuardBody<ReqBody>>) -> Self {
        ResponseFuture::from(GuardFuture::pass(Observing::call_on(inner, request)))
    }

    /// Answers now with the envelope checks' refusal.
    pub(crate) fn answer(response: Response<Bytes>) -> Self {
        ResponseFuture::from(GuardFuture::answer(response))
    }

    /// A POST whose body is still to be read: the read and the envelope
    /// checks first, then `inner` (the service that was polled ready).
    pub(crate) fn check(check: BodyCheck<ReqBody>, inner: S) -> Self {
        ResponseFuture::from(GuardFuture::check(check, Observing(inner)))
    }

    fn from(inner: GuardFuture<Observing<S>, GuardBody<ReqBody>, BodyCheck<ReqBody>>) -> Self {
        ResponseFuture {
            inner,
            _body: PhantomData,
        }
    }
}

impl<S, ReqBody, ResBody> fmt::Debug for ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    type Output = Result<Response<GuardBody<ObservedBody<ResBody>>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// Marks a request whose response teaches the guard `x-mcp-header`
/// annotations (a `tools/list` request, with learning on): set by the body
/// check, taken off by [`Observing`] before the handler sees the request.
#[derive(Clone)]
struct WatchToolsList(Arc<ParamHeaderRegistry>);

/// The inner service, wrapping its response body in an [`ObservedBody`]: the
/// step after the kit future's check, which alone knows which requests to
/// observe, and tells through a [`WatchToolsList`] mark.
#[derive(Clone)]
pub(crate) struct Observing<S>(S);

impl<S> Observing<S> {
    /// Calls `inner`, watching its answer when the request asks for it.
    fn call_on<B, ResBody>(inner: &mut S, mut request: Request<B>) -> ObservingFuture<S::Future>
    where
        S: Service<Request<B>, Response = Response<ResBody>>,
    {
        let watch = request.extensions_mut().remove::<WatchToolsList>();
        ObservingFuture {
            future: inner.call(request),
            watch: watch.map(|WatchToolsList(registry)| registry),
        }
    }
}

impl<S, B, ResBody> Service<Request<B>> for Observing<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = ObservingFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        Observing::call_on(&mut self.0, request)
    }
}

pin_project! {
    /// The handler's response, its body observed when it is a successful
    /// answer to a watched `tools/list` request.
    pub(crate) struct ObservingFuture<F> {
        #[pin]
        future: F,
        watch: Option<Arc<ParamHeaderRegistry>>,
    }
}

impl<F, ResBody, E> Future for ObservingFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ObservedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.future.poll(cx))?;
        let response = match this.watch.take() {
            Some(registry) if response.status().is_success() => {
                let is_event_stream = is_event_stream(&response);
                response.map(|body| ObservedBody::watching(body, registry, is_event_stream))
            }
            _ => response.map(ObservedBody::passthrough),
        };
        Poll::Ready(Ok(response))
    }
}

pin_project! {
    /// The protocol guard's asynchronous check of a POST whose body is still
    /// to be read: the one bounded read of its body, then the checks that
    /// need the envelope (see [`check_read`]). A body read already (an
    /// envelope-peek layer outside) is checked in `call`, without this.
    pub(crate) struct BodyCheck<B> {
        #[pin]
        read: PeekFuture<B>,
        config: Arc<Config>,
        header_version: HeaderVersion,
    }
}

impl<B> BodyCheck<B> {
    pub(crate) fn new(
        config: Arc<Config>,
        read: PeekFuture<B>,
        header_version: HeaderVersion,
    ) -> Self {
        BodyCheck {
            read,
            config,
            header_version,
        }
    }
}

impl<B> Future for BodyCheck<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Verdict<GuardBody<B>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let read = ready!(this.read.poll(cx));
        Poll::Ready(check_read(this.config, read, this.header_version))
    }
}

/// The envelope checks of a POST whose body read ended in `read`: passes
/// the request on with its [`ProtocolVersion`] and
/// [`Era`](mcp_guard_core::Era), or refuses it.
pub(crate) fn check_read<B>(
    config: &Arc<Config>,
    read: Result<Request<GuardBody<B>>, McpError>,
    header_version: &HeaderVersion,
) -> Verdict<GuardBody<B>> {
    match read {
        Ok(request) => check_envelope(config, request, header_version),
        Err(error) => refuse(error),
    }
}

/// The checks that need the envelope, on a request whose body was read.
fn check_envelope<B>(
    config: &Arc<Config>,
    mut request: Request<GuardBody<B>>,
    header_version: &HeaderVersion,
) -> Verdict<GuardBody<B>> {
    let envelope = request
        .extensions()
        .get::<RpcEnvelope>()
        .unwrap_or(&RpcEnvelope::Unparsable);
    let version = match config.check_envelope(request.headers(), envelope, header_version) {
        Ok(version) => version,
        Err(error) => return refuse(error),
    };
    let watches_tools_list = config.learn_from_tools_list
        && envelope
            .single()
            .is_some_and(|message| message.is_request() && message.method() == Some("tools/list"));
    insert_version(&mut request, version);
    if watches_tools_list {
        let registry = config.registry.clone();
        request.extensions_mut().insert(WatchToolsList(registry));
    }
    Verdict::Pass(request)
}

/// The logged refusal of a POST.
fn refuse<B>(error: McpError) -> Verdict<B> {
    Verdict::refuse(error.rejected_by(guard::PROTOCOL_GUARD), &Method::POST)
}

/// Tells the layers after this one which revision the request speaks; its
/// era follows from it ([`Era::of`](mcp_guard_core::Era::of)), not a second
/// extension (a box each).
pub(crate) fn insert_version<B>(request: &mut Request<B>, version: ProtocolVersion) {
    request.extensions_mut().insert(version);
}
