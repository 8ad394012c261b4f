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
#[derive(Debug, Clone)]
pub struct McpCorsLayer {
    mcp: CorsLayer,
    metadata: CorsLayer,
    policy: Arc<RequestHeaderPolicy>,
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

    /// Starts a configuration for origins `allowlist` admits.
    pub fn builder(allowlist: Allowlist) -> McpCorsLayerBuilder {
        McpCorsLayerBuilder::new(allowlist)
    }

    pub(crate) fn from_parts(
        mcp: CorsLayer,
        metadata: CorsLayer,
        policy: Arc<RequestHeaderPolicy>,
    ) -> Self {
        McpCorsLayer {
            mcp,
            metadata,
            policy,
        }
    }
}

impl<S: Clone> Layer<S> for McpCorsLayer {
    type Service = McpCors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        McpCors {
            mcp: self.mcp.layer(inner.clone()),
            metadata: self.metadata.layer(inner),
            policy: self.policy.clone(),
        }
    }
}
