use tower_layer::Layer;

use super::EnvelopePeek;
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
#[derive(Debug, Clone, Default)]
pub struct EnvelopePeekLayer {
    limits: EnvelopeLimits,
}

impl EnvelopePeekLayer {
    /// A peek that reads with `limits`.
    pub fn new(limits: EnvelopeLimits) -> Self {
        EnvelopePeekLayer { limits }
    }

    /// The limits it reads with.
    pub fn limits(&self) -> &EnvelopeLimits {
        &self.limits
    }
}

impl<S> Layer<S> for EnvelopePeekLayer {
    type Service = EnvelopePeek<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EnvelopePeek {
            inner,
            limits: self.limits.clone(),
        }
    }
}
