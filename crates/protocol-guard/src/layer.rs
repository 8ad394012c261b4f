use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use mcp_guard_core::{EnvelopeLimits, ProtocolVersion};
use serde_json::Value;
use tower_layer::Layer;

use crate::check::Config;
use crate::param_headers::{ParamHeaderRegistry, annotations};
use crate::service::ProtocolGuard;

/// How many tools' `x-mcp-header` annotations are learned from `tools/list`
/// results at most (configured tools do not count).
pub const DEFAULT_MAX_LEARNED_TOOLS: usize = 4096;

/// Applies [`ProtocolGuard`]: content negotiation, `MCP-Protocol-Version`, and
/// the stateless era's header–body mirror checks, for both MCP eras.
///
/// See the [crate documentation](crate) for the rules and statuses.
///
/// [`ProtocolGuardLayer::disabled`] switches the guard off: a stack can switch
/// it off by configuration without changing its type.
#[derive(Debug, Clone)]
pub struct ProtocolGuardLayer {
    // `None` when disabled: nothing is checked, read or written.
    config: Option<Arc<Config>>,
}

impl ProtocolGuardLayer {
    /// A guard serving every Streamable HTTP revision (2025-03-26 to
    /// 2026-07-28) with the default body limits of [`EnvelopeLimits`].
    pub fn new() -> Self {
        match ProtocolGuardLayer::builder().build() {
            Ok(layer) => layer,
            // The default version set is not empty and has no bad schema.
            Err(error) => unreachable!("the default protocol guard is valid: {error}"),
        }
    }

    /// The guard switched off: its service has the same type as an enabled
    /// one, so a stack can switch the guard off by configuration without
    /// changing its type. It passes every request and response through
    /// untouched, only wrapped in its body types ([`GuardBody`] around the
    /// request body, [`GuardBody`] around [`ObservedBody::passthrough`] for the
    /// response): no checks, no body read, no logs, no extensions written.
    ///
    /// [`GuardBody`]: mcp_guard_core::GuardBody
    /// [`ObservedBody::passthrough`]: crate::ObservedBody::passthrough
    ///
    /// ```
    /// use std::convert::Infallible;
    ///
    /// use bytes::Bytes;
    /// use http::{Request, Response, StatusCode};
    /// use http_body_util::Full;
    /// use mcp_guard_core::GuardBody;
    /// use mcp_protocol_guard::ProtocolGuardLayer;
    /// use tower::{Layer, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let handler = tower::service_fn(|_request: Request<GuardBody<Full<Bytes>>>| async {
    ///     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
    /// });
    /// let configured_on = false; // from the operator's configuration
    /// let layer = if configured_on { ProtocolGuardLayer::new() } else { ProtocolGuardLayer::disabled() };
    /// assert!(!layer.is_enabled());
    ///
    /// // No Content-Type, no Accept: the enabled guard answers 415.
    /// let bare = Request::post("/mcp").body(Full::from("{}"))?;
    /// assert_eq!(layer.layer(handler).oneshot(bare).await?.status(), StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn disabled() -> Self {
        ProtocolGuardLayer { config: None }
    }

    /// Whether the guard checks requests (`false` for
    /// [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.config.is_some()
    }

    /// Starts a configuration.
    pub fn builder() -> ProtocolGuardLayerBuilder {
        ProtocolGuardLayerBuilder::default()
    }
}

impl Default for ProtocolGuardLayer {
    fn default() -> Self {
        ProtocolGuardLayer::new()
    }
}

impl<S> Layer<S> for ProtocolGuardLayer {
    type Service = ProtocolGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProtocolGuard {
            inner,
            config: self.config.clone(),
        }
    }
}

/// Configures a [`ProtocolGuardLayer`].
#[derive(Debug, Clone)]
#[must_use = "call .build() to get the layer"]
pub struct ProtocolGuardLayerBuilder {
    supported: Vec<ProtocolVersion>,
    envelope_limits: EnvelopeLimits,
    tool_schemas: Vec<(String, Value)>,
    learn_from_tools_list: bool,
    max_learned_tools: usize,
    strict_param_headers: bool,
}

impl Default for ProtocolGuardLayerBuilder {
    fn default() -> Self {
        ProtocolGuardLayerBuilder {
            supported: ProtocolVersion::ALL
                .into_iter()
                .filter(|version| *version >= ProtocolVersion::V2025_03_26)
                .collect(),
            envelope_limits: EnvelopeLimits::new(),
            tool_schemas: Vec::new(),
            learn_from_tools_list: true,
            max_learned_tools: DEFAULT_MAX_LEARNED_TOOLS,
            strict_param_headers: false,
        }
    }
}

impl ProtocolGuardLayerBuilder {
    /// The revisions this server speaks; requests naming another get `400`
    /// listing these. Default: 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28.
    /// A set without legacy revisions serves only the stateless era: `GET`,
    /// `DELETE` and `initialize` are then refused.
    pub fn supported_versions(
        mut self,
        versions: impl IntoIterator<Item = ProtocolVersion>,
    ) -> Self {
        self.supported = versions.into_iter().collect();
        self
    }

    /// The body size limit and read timeout of the guard's own read of a POST
    /// body ([`EnvelopeLimits::new`] by default). Behind an
    /// [`EnvelopePeekLayer`](mcp_guard_core::EnvelopePeekLayer) the guard
    /// reads nothing, and that layer's limits apply.
    pub fn envelope_limits(mut self, limits: EnvelopeLimits) -> Self {
        self.envelope_limits = limits;
        self
    }

    /// Declares a tool's `inputSchema`, so its `x-mcp-header` parameters are
    /// checked from the first call, before any `tools/list` went by (e.g. on
    /// a second server instance). Takes precedence over what is learned.
    pub fn tool_input_schema(mut self, tool: impl Into<String>, input_schema: Value) -> Self {
        self.tool_schemas.push((tool.into(), input_schema));
        self
    }

    /// Whether annotations are learned from the handler's `tools/list` results
    /// (default: on), and for at most how many tools.
    pub fn learn_from_tools_list(mut self, learn: bool, max_tools: usize) -> Self {
        self.learn_from_tools_list = learn;
        self.max_learned_tools = max_tools;
        self
    }

    /// Refuse (`400`, -32020) every `Mcp-Param-*` header the guard cannot
    /// compare with the body: on a tool whose `inputSchema` it has not seen
    /// (neither configured with [`tool_input_schema`](Self::tool_input_schema)
    /// nor learned from a `tools/list`), for a parameter the schema does not
    /// annotate, or on a message other than `tools/call`.
    ///
    /// Off by default, and such headers are forwarded untouched: a client may
    /// know a tool's schema before this instance does (a second instance that
    /// has not seen a `tools/list` yet). Turn it on when something behind
    /// this guard routes or authorises on `Mcp-Param-*` headers, and
    /// configure every annotated tool with `tool_input_schema`.
    pub fn strict_param_headers(mut self, strict: bool) -> Self {
        self.strict_param_headers = strict;
        self
    }

    /// Checks the configuration and builds the layer.
    pub fn build(mut self) -> Result<ProtocolGuardLayer, ProtocolGuardConfigError> {
        self.supported.sort();
        self.supported.dedup();
        if self.supported.is_empty() {
            return Err(ProtocolGuardConfigError::NoSupportedVersion);
        }
        let mut configured = HashMap::new();
        for (tool, schema) in &self.tool_schemas {
            let params = annotations(schema).ok_or_else(|| {
                ProtocolGuardConfigError::InvalidToolSchema { tool: tool.clone() }
            })?;
            configured.insert(tool.clone(), params.into());
        }
        let registry = Arc::new(ParamHeaderRegistry::new(configured, self.max_learned_tools));
        Ok(ProtocolGuardLayer {
            config: Some(Arc::new(Config {
                supported: self.supported,
                envelope_limits: self.envelope_limits,
                registry,
                learn_from_tools_list: self.learn_from_tools_list,
                strict_param_headers: self.strict_param_headers,
            })),
        })
    }
}

/// A configuration [`ProtocolGuardLayerBuilder::build`] refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolGuardConfigError {
    /// `supported_versions` was given an empty set.
    NoSupportedVersion,
    /// A schema given to `tool_input_schema` has an invalid `x-mcp-header`
    /// (not an HTTP token, or used twice ignoring case).
    InvalidToolSchema {
        /// The tool it was given for.
        tool: String,
    },
}

impl fmt::Display for ProtocolGuardConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolGuardConfigError::NoSupportedVersion => {
                f.write_str("supported_versions: at least one protocol version must be supported")
            }
            ProtocolGuardConfigError::InvalidToolSchema { tool } => write!(
                f,
                "tool_input_schema: the schema of tool {tool:?} has an invalid x-mcp-header (each must be a non-empty HTTP token, unique ignoring case)"
            ),
        }
    }
}

impl std::error::Error for ProtocolGuardConfigError {}
