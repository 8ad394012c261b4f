use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Response};
use http_body::Body;
use mcp_guard_core::well_known::{forget_session, is_metadata_read};
use mcp_guard_core::{BoxError, GuardBody, McpError, ProtocolVersion, RpcEnvelope, guard};
use tower_service::Service;

use crate::body::ObservedBody;
use crate::check::{Config, HeaderVersion, Verdict};
use crate::future::ResponseFuture;

/// Middleware that checks MCP requests of both eras before they reach the
/// handler. Made by [`ProtocolGuardLayer`](crate::ProtocolGuardLayer).
///
/// The handler receives the request with its [`ProtocolVersion`] and
/// [`Era`](mcp_guard_core::Era) in the extensions (and, for a POST, the
/// [`RpcEnvelope`]), and the body byte for byte in a [`GuardBody`].
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
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<GuardBody<ObservedBody<ResBody>>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let Some(config) = &self.config else {
            return ResponseFuture::inner(self.inner.call(request.map(GuardBody::new)));
        };
        if is_metadata_read(&request) {
            // Public OAuth metadata: answered whatever MCP headers come along.
            forget_session(&mut request);
            return ResponseFuture::inner(self.inner.call(request.map(GuardBody::new)));
        }
        let verdict = config.check_headers(request.method(), request.headers());
        match verdict {
            Err(error) => ResponseFuture::rejected(reject(error, request.method())),
            Ok(Verdict::PassThrough) => {
                ResponseFuture::inner(self.inner.call(request.map(GuardBody::new)))
            }
            Ok(Verdict::Decided(version)) => {
                insert_version(&mut request, version);
                ResponseFuture::inner(self.inner.call(request.map(GuardBody::new)))
            }
            Ok(Verdict::NeedsEnvelope(header_version)) => {
                // The inner service was polled ready; take that instance along
                // into the body read and leave a fresh clone behind.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let config = config.clone();
                ResponseFuture::reading_body(Box::pin(read_check_and_call(
                    config,
                    inner,
                    request,
                    header_version,
                )))
            }
        }
    }
}

async fn read_check_and_call<S, ReqBody, ResBody>(
    config: Arc<Config>,
    mut inner: S,
    request: Request<ReqBody>,
    header_version: HeaderVersion,
) -> Result<Response<GuardBody<ObservedBody<ResBody>>>, S::Error>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    let mut request = match config.peek.peek(request).await {
        Ok(request) => request,
        Err(error) => return Ok(reject(error, &Method::POST)),
    };
    let envelope = request
        .extensions()
        .get::<RpcEnvelope>()
        .unwrap_or(&RpcEnvelope::Unparsable);
    let version = match config.check_envelope(request.headers(), envelope, &header_version) {
        Ok(version) => version,
        Err(error) => return Ok(reject(error, &Method::POST)),
    };
    let watches_tools_list = config.learn_from_tools_list
        && envelope
            .single()
            .is_some_and(|message| message.is_request() && message.method() == Some("tools/list"));
    insert_version(&mut request, version);
    let response = inner.call(request).await?;
    if !watches_tools_list || !response.status().is_success() {
        return Ok(response.map(|body| GuardBody::new(ObservedBody::passthrough(body))));
    }
    let is_event_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        });
    let registry = config.registry.clone();
    Ok(
        response
            .map(|body| GuardBody::new(ObservedBody::watching(body, registry, is_event_stream))),
    )
}

fn insert_version<B>(request: &mut Request<B>, version: ProtocolVersion) {
    request.extensions_mut().insert(version);
    request.extensions_mut().insert(version.era());
}

fn reject<B>(error: McpError, method: &Method) -> Response<GuardBody<B>> {
    let error = error.rejected_by(guard::PROTOCOL_GUARD);
    // A client's mistake, not the operator's: info, not warn.
    tracing::info!(
        status = error.status().as_u16(),
        code = error.code(),
        %method,
        reason = error.message(),
        "protocol guard rejected a request"
    );
    error.into_response()
}
