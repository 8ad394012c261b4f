use std::sync::Arc;

use mcp_origin_guard::Allowlist;
use tower_http::cors::CorsLayer;
use tower_layer::Layer;

use crate::config::McpCorsLayerBuilder;
use crate::request_headers::RequestHeaderPolicy;
use crate::service::McpCors;

/// Applies [`McpCors`]: tower-http's [`CorsLayer`] configured for an MCP
/// endpoint, with origins from the same [`Allowlist`] the origin guard enforces,
/// and a public policy for the RFC 9728 metadata document.
///
/// See the [crate documentation](crate) for what is granted and why.
///
/// [`McpCorsLayer::disabled`] switches CORS off: a stack can switch it off by
/// configuration without changing its type.
#[derive(Debug, Clone)]
pub struct McpCorsLayer {
    // `None` when disabled: no CORS headers, no preflight answered here.
    policies: Option<Arc<Policies>>,
}

/// What an enabled layer applies, shared by every copy of its service: a
/// service clone (one per request in axum and hyper) is one reference count,
/// not a copy of tower-http's configuration.
#[derive(Debug)]
pub(crate) struct Policies {
    /// tower-http's CORS configuration for the MCP endpoint.
    pub(crate) mcp: CorsLayer,
    /// The public policy for the OAuth metadata documents.
    pub(crate) metadata: CorsLayer,
    /// Which request headers a preflight may ask for.
    pub(crate) request_headers: RequestHeaderPolicy,
}

impl McpCorsLayer {
    /// The preset for origins `allowlist` admits, with the defaults: no
    /// credentials, preflights cached for [`DEFAULT_MAX_AGE`](crate::DEFAULT_MAX_AGE).
    pub fn new(allowlist: Allowlist) -> Self {
        let builder = McpCorsLayerBuilder::new(allowlist);
        match builder.build() {
            Ok(layer) => layer,
            // The defaults set no credentials and no extra header names, the only
            // inputs `build` can refuse.
            Err(error) => unreachable!("the default CORS preset is valid: {error}"),
        }
    }

    /// The preset for a server on the user's own machine: origins of
    /// [`Allowlist::localhost`], exactly what `OriginGuardLayer::localhost()` admits.
    pub fn localhost() -> Self {
        McpCorsLayer::new(Allowlist::localhost())
    }

    /// CORS switched off: its service has the same type as an enabled one, so
    /// a stack can switch CORS off by configuration without changing its type.
    /// It passes every request and response through untouched: it adds no
    /// CORS headers and answers no preflight (an `OPTIONS` request reaches
    /// the handler).
    ///
    /// ```
    /// use std::convert::Infallible;
    ///
    /// use bytes::Bytes;
    /// use http::{Request, Response, StatusCode};
    /// use http_body_util::Full;
    /// use mcp_cors_preset::McpCorsLayer;
    /// use tower::{Layer, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let handler = tower::service_fn(|_request: Request<Full<Bytes>>| async {
    ///     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
    /// });
    /// let configured_on = false; // from the operator's configuration
    /// let layer = if configured_on { McpCorsLayer::localhost() } else { McpCorsLayer::disabled() };
    /// assert!(!layer.is_enabled());
    ///
    /// let preflight = Request::options("/mcp")
    ///     .header("origin", "http://localhost:5173")
    ///     .header("access-control-request-method", "POST")
    ///     .body(Full::default())?;
    /// let response = layer.layer(handler).oneshot(preflight).await?;
    /// // The handler answered it, without CORS headers.
    /// assert_eq!(response.status(), StatusCode::OK);
    /// assert!(response.headers().get("access-control-allow-origin").is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn disabled() -> Self {
        McpCorsLayer { policies: None }
    }

    /// Whether CORS is applied (`false` for [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.policies.is_some()
    }

    /// Starts a configuration for origins `allowlist` admits.
    pub fn builder(allowlist: Allowlist) -> McpCorsLayerBuilder {
        McpCorsLayerBuilder::new(allowlist)
    }

    pub(crate) fn from_parts(
        mcp: CorsLayer,
        metadata: CorsLayer,
        request_headers: RequestHeaderPolicy,
    ) -> Self {
        McpCorsLayer {
            policies: Some(Arc::new(Policies {
                mcp,
                metadata,
                request_headers,
            })),
        }
    }
}

impl<S> Layer<S> for McpCorsLayer {
    type Service = McpCors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        McpCors {
            inner,
            policies: self.policies.clone(),
        }
    }
}
