use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use mcp_guard_core::{GuardBody, GuardFuture, Principal, Verdict};
use pin_project_lite::pin_project;
use tower_service::Service;
use tracing::Instrument;
use tracing::instrument::Instrumented;

/// The asynchronous part of a request's check: reading the body when no
/// envelope peek ran before, and verifying a token the cache does not know
/// (the verifier's future cannot be named). Only the check is boxed; the
/// inner service and its future are not.
pub(crate) type Check<B> = Pin<Box<dyn Future<Output = Verdict<GuardBody<B>>> + Send>>;

pin_project! {
    /// Response future of [`BearerAuth`](crate::BearerAuth).
    ///
    /// A request decided on the spot (the metadata document, malformed or
    /// missing credentials, a public call, a token in the verified-token
    /// cache with the envelope already read, a switched-off layer) allocates
    /// nothing here: the future answers, or polls the inner service's
    /// future. Only a request that must wait — its body read (the layer used
    /// alone), or its token verified (JWKS, introspection) — boxes that
    /// check; the inner service is called once it passes.
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<GuardBody<ReqBody>>>,
    {
        #[pin]
        inner: GuardFuture<InPrincipalSpan<S>, GuardBody<ReqBody>, Check<ReqBody>>,
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<GuardBody<ReqBody>>>,
{
    /// Calls `inner` now, the call instrumented with `span`.
    pub(crate) fn pass(
        inner: &mut S,
        request: Request<GuardBody<ReqBody>>,
        span: tracing::Span,
    ) -> Self {
        ResponseFuture {
            inner: GuardFuture::pass(inner.call(request).instrument(span)),
        }
    }

    /// Calls `inner` now, in the span of the request's principal.
    pub(crate) fn pass_as_principal(inner: &mut S, request: Request<GuardBody<ReqBody>>) -> Self {
        let span = principal_span(request.extensions().get::<Principal>());
        ResponseFuture::pass(inner, request, span)
    }

    /// Answers now with the layer's own bytes.
    pub(crate) fn answer(response: Response<bytes::Bytes>) -> Self {
        ResponseFuture {
            inner: GuardFuture::answer(response),
        }
    }

    /// Awaits `check`, then calls `inner` (the polled-ready service) when it
    /// passes.
    pub(crate) fn check(check: Check<ReqBody>, inner: S) -> Self {
        ResponseFuture {
            inner: GuardFuture::check(check, InPrincipalSpan { inner }),
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<GuardBody<ReqBody>>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
{
    type Output = Result<Response<GuardBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// The inner service, its calls instrumented with the span of the request's
/// principal: handler logs name the caller (never the token). The guard
/// future calls the inner service itself once the check passes, so the span
/// is made here, from the principal the check put in the extensions.
pub(crate) struct InPrincipalSpan<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for InPrincipalSpan<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let span = principal_span(request.extensions().get::<Principal>());
        self.inner.call(request).instrument(span)
    }
}

/// The span naming who calls: subject and client id. None without a
/// principal (a public call without a token).
///
/// At `DEBUG`, as tower-http's `TraceLayer` makes its request span: at
/// `INFO`, under the example server's default log filter, creating it,
/// entering it on every poll of the handler (and of the tasks the handler
/// spawns in it) and closing it cost about 4 µs of CPU per request in a
/// `perf` profile under load, twice what the whole guard decision costs.
/// Turn on `mcp_bearer_auth=debug` to have every line inside a request name
/// its caller; the audit events of `mcp-observe` name it at any level.
fn principal_span(principal: Option<&Principal>) -> tracing::Span {
    match principal {
        Some(principal) => tracing::debug_span!(
            "mcp_principal",
            subject = principal.subject().unwrap_or_default(),
            client_id = principal.client_id().unwrap_or_default()
        ),
        None => tracing::Span::none(),
    }
}
