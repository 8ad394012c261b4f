use tower_layer::Layer;

use super::{EnvelopePeek, InTrailSpan};
use crate::EnvelopeLimits;

/// Reads the JSON-RPC envelope of every POST body once, with one set of
/// [`EnvelopeLimits`], before the guards that need it. See the
/// [module](crate::envelope_peek) documentation.
///
/// The service it makes, [`EnvelopePeek`], hands the request on with its body
/// in a [`GuardBody`](crate::GuardBody) (the bytes it read, unchanged, or the
/// client's body untouched for requests it does not read) and the response
/// with its body in a `GuardBody` too.
///
/// # Example
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
///
/// use bytes::Bytes;
/// use http::{Request, Response, StatusCode};
/// use http_body_util::{BodyExt, Full};
/// use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, GuardBody, Rejection, RpcEnvelope, guard};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let handler = service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
///     // What the guards behind the peek see: the envelope, and the bytes.
///     let method = request.extensions().get::<RpcEnvelope>()
///         .and_then(RpcEnvelope::single)
///         .and_then(|message| message.method())
///         .unwrap_or_default()
///         .to_owned();
///     let body = request.into_body().collect().await.unwrap().to_bytes();
///     assert_eq!(body, r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
///     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(method))))
/// });
/// let limits = EnvelopeLimits::new()
///     .max_body_bytes(1024)
///     .read_timeout(Duration::from_secs(10));
/// let service = ServiceBuilder::new()
///     .layer(EnvelopePeekLayer::new(limits))
///     .service(handler);
///
/// let request = Request::post("/mcp")
///     .body(Full::new(Bytes::from(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)))
///     .unwrap();
/// let response = service.clone().oneshot(request).await.unwrap();
/// assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "tools/list");
///
/// // Too large: refused before the guards and the handler.
/// let request = Request::post("/mcp").body(Full::new(Bytes::from(vec![b' '; 2048]))).unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
/// let rejection = response.extensions().get::<Rejection>().unwrap();
/// assert_eq!((rejection.guard, rejection.reason), (guard::ENVELOPE_PEEK, "body_too_large"));
/// # });
/// ```
///
/// # Off mode
///
/// [`EnvelopePeekLayer::disabled`] reads nothing: every request is handed on
/// with its body untouched in [`GuardBody::new`](crate::GuardBody::new), and
/// nothing is refused or logged. Its service has the same type as an enabled
/// one, so a stack can switch the peek off by configuration (no guard in it
/// needs the body, or a route whose bodies are not MCP) without changing its
/// type.
#[derive(Debug, Clone)]
pub struct EnvelopePeekLayer {
    // `None`: disabled.
    limits: Option<EnvelopeLimits>,
}

impl Default for EnvelopePeekLayer {
    /// A peek with the default [`EnvelopeLimits`].
    fn default() -> Self {
        EnvelopePeekLayer::new(EnvelopeLimits::default())
    }
}

impl EnvelopePeekLayer {
    /// A peek that reads with `limits`.
    pub fn new(limits: EnvelopeLimits) -> Self {
        EnvelopePeekLayer {
            limits: Some(limits),
        }
    }

    /// A peek that reads nothing and passes every request on (see "Off mode").
    pub fn disabled() -> Self {
        EnvelopePeekLayer { limits: None }
    }

    /// Whether it reads bodies (not [`disabled`](EnvelopePeekLayer::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.limits.is_some()
    }

    /// The limits it reads with; `None` when disabled.
    pub fn limits(&self) -> Option<&EnvelopeLimits> {
        self.limits.as_ref()
    }
}

impl<S> Layer<S> for EnvelopePeekLayer {
    type Service = EnvelopePeek<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EnvelopePeek {
            inner: InTrailSpan::new(inner),
            limits: self.limits.clone(),
        }
    }
}
