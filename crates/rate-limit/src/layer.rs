use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::Quota;
use mcp_guard_core::EnvelopeLimits;
use tower_layer::Layer;

use crate::RateLimit;
use crate::limits::Limits;

/// Applies [`RateLimit`]: a token bucket per principal, and per tool and
/// principal for the tools given a limit of their own. See the [crate
/// docs](crate).
#[derive(Clone)]
pub struct RateLimitLayer {
    /// `None`: switched off ([`disabled`](Self::disabled)).
    settings: Option<Settings>,
}

/// An enabled layer's settings, and the limiters made from them (shared by
/// every service the layer makes, so clones of a service count together).
#[derive(Clone)]
struct Settings {
    caller: Option<Quota>,
    /// In the order given (names unique, checked by [`RateLimitLayer::tool`]).
    tools: Vec<(Arc<str>, Quota)>,
    envelope_limits: EnvelopeLimits,
    #[cfg(feature = "redis")]
    redis: Option<mcp_guard_core::redis::RedisConnection>,
    limits: Arc<Limits>,
}

impl Settings {
    fn new(caller: Option<Quota>) -> Self {
        Settings {
            caller,
            tools: Vec::new(),
            envelope_limits: EnvelopeLimits::new(),
            #[cfg(feature = "redis")]
            redis: None,
            limits: Arc::new(Limits::new(
                caller,
                &[],
                EnvelopeLimits::new(),
                #[cfg(feature = "redis")]
                None,
            )),
        }
    }

    /// The limiters for the settings as they are now: fresh, so a builder
    /// step never carries counts over.
    fn rebuilt(mut self) -> Self {
        self.limits = Arc::new(Limits::new(
            self.caller,
            &self.tools,
            self.envelope_limits.clone(),
            #[cfg(feature = "redis")]
            self.redis.clone(),
        ));
        self
    }
}

/// A per-tool limit that cannot work, from [`RateLimitLayer::tool`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolLimitError {
    /// The tool name is empty: no `tools/call` names an empty tool.
    EmptyName,
    /// The tool has a limit already; a second one would be ambiguous.
    Duplicate {
        /// The tool named twice.
        tool: String,
    },
}

impl fmt::Display for ToolLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolLimitError::EmptyName => {
                f.write_str("tool rate limit: the tool name is empty; name the tool to limit")
            }
            ToolLimitError::Duplicate { tool } => write!(
                f,
                "tool rate limit: tool \"{tool}\" has a limit already; give each tool one limit"
            ),
        }
    }
}

impl std::error::Error for ToolLimitError {}

impl RateLimitLayer {
    /// `per_second` requests a second per principal, with bursts of the same
    /// size.
    pub fn per_second(per_second: NonZeroU32) -> Self {
        Self::new(Quota::per_second(per_second))
    }

    /// Any governor [`Quota`] per principal.
    pub fn new(quota: Quota) -> Self {
        RateLimitLayer {
            settings: Some(Settings::new(Some(quota))),
        }
    }

    /// No per-principal limit: only the per-tool limits added with
    /// [`tool`](Self::tool). Until one is added, every request passes.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    ///
    /// use governor::Quota;
    /// use mcp_rate_limit::RateLimitLayer;
    ///
    /// let layer = RateLimitLayer::tools_only()
    ///     .tool("expensive_tool", Quota::per_minute(NonZeroU32::new(5).unwrap()))?;
    /// assert!(layer.is_enabled());
    /// assert_eq!(layer.quota(), None);
    /// # Ok::<(), mcp_rate_limit::ToolLimitError>(())
    /// ```
    pub fn tools_only() -> Self {
        RateLimitLayer {
            settings: Some(Settings::new(None)),
        }
    }

    /// A rate limit that is switched off: every request passes, nothing is
    /// counted, read or logged, whatever limits are added to it later. Its
    /// service has the same type as an enabled one, so a stack can switch
    /// the limit off by configuration without changing its type.
    ///
    /// ```
    /// use mcp_rate_limit::RateLimitLayer;
    ///
    /// assert!(!RateLimitLayer::disabled().is_enabled());
    /// ```
    pub fn disabled() -> Self {
        RateLimitLayer { settings: None }
    }

    /// Whether the layer limits anything (not [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// Sets the per-principal quota (replacing one set before), keeping
    /// everything else: the per-tool limits, the envelope limits and, with
    /// feature `redis`, the Redis the tool limits are counted in. A
    /// [tools-only](Self::tools_only) layer gets a per-principal limit; a
    /// disabled layer stays disabled. The limiters start afresh, as after
    /// any builder step.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    ///
    /// use mcp_rate_limit::{Quota, RateLimitLayer};
    ///
    /// let five_a_minute = Quota::per_minute(NonZeroU32::new(5).unwrap());
    /// let ten_a_second = Quota::per_second(NonZeroU32::new(10).unwrap());
    /// let layer = RateLimitLayer::tools_only()
    ///     .tool("expensive_tool", five_a_minute)?
    ///     .with_quota(ten_a_second);
    /// assert_eq!(layer.quota(), Some(ten_a_second));
    /// assert_eq!(layer.tool_quota("expensive_tool"), Some(five_a_minute));
    /// # Ok::<(), mcp_rate_limit::ToolLimitError>(())
    /// ```
    pub fn with_quota(self, quota: Quota) -> Self {
        self.map(|mut settings| {
            settings.caller = Some(quota);
            settings
        })
    }

    /// Whether the per-tool limits are counted in Redis
    /// ([`tool_limits_in_redis`](Self::tool_limits_in_redis)) rather than in
    /// this process's memory (feature `redis`).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn tool_limits_are_in_redis(&self) -> bool {
        self.settings
            .as_ref()
            .is_some_and(|settings| settings.redis.is_some())
    }

    /// Lets a principal send up to `burst` requests at once before the
    /// per-principal rate applies. A disabled layer stays disabled; a layer
    /// without a per-principal limit ([`tools_only`](Self::tools_only)) stays
    /// without one.
    pub fn burst(self, burst: NonZeroU32) -> Self {
        self.map(|mut settings| {
            settings.caller = settings.caller.map(|quota| quota.allow_burst(burst));
            settings
        })
    }

    /// Adds a limit on the `tools/call` requests naming `tool`: `quota` per
    /// principal, on top of the per-principal limit, and one bucket with that
    /// quota shared by all anonymous callers (requests without a
    /// [`Principal`](mcp_guard_core::Principal)). Each call in a batch
    /// counts. A disabled layer stays disabled.
    ///
    /// Tool names are compared exactly (MCP tool names are case-sensitive).
    ///
    /// # Errors
    ///
    /// An empty `tool`, or a `tool` that has a limit already.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    ///
    /// use governor::Quota;
    /// use mcp_rate_limit::{RateLimitLayer, ToolLimitError};
    ///
    /// let five_a_minute = Quota::per_minute(NonZeroU32::new(5).unwrap());
    /// let layer = RateLimitLayer::per_second(NonZeroU32::new(20).unwrap())
    ///     .tool("expensive_tool", five_a_minute)?;
    /// assert_eq!(layer.tool_quota("expensive_tool"), Some(five_a_minute));
    ///
    /// let twice = layer.tool("expensive_tool", five_a_minute);
    /// assert!(matches!(twice, Err(ToolLimitError::Duplicate { .. })));
    /// # Ok::<(), ToolLimitError>(())
    /// ```
    pub fn tool(self, tool: impl Into<String>, quota: Quota) -> Result<Self, ToolLimitError> {
        let tool: String = tool.into();
        if tool.is_empty() {
            return Err(ToolLimitError::EmptyName);
        }
        if self.tool_quota(&tool).is_some() {
            return Err(ToolLimitError::Duplicate { tool });
        }
        Ok(self.map(|mut settings| {
            settings.tools.push((Arc::from(tool), quota));
            settings
        }))
    }

    /// The limits of the layer's own body read, for a layer used without an
    /// envelope peek before it (in a preset, or behind bearer auth or the
    /// protocol guard, the envelope is read once before this layer and
    /// nothing is read here). The layer reads a POST body only when it has
    /// per-tool limits. Defaults to [`EnvelopeLimits::new`].
    pub fn envelope_limits(self, limits: EnvelopeLimits) -> Self {
        self.map(|mut settings| {
            settings.envelope_limits = limits;
            settings
        })
    }

    /// Counts the per-tool limits in `redis`, so that every instance
    /// connected to it shares one budget per caller and tool (feature
    /// `redis`). Each call of a limited tool then waits on one Lua script
    /// (GCRA on Redis's clock); a Redis that cannot answer within the
    /// connection's command timeout is a `503` with `Retry-After` (fail
    /// closed: a limit that cannot be counted lets no call of the tool
    /// through), and calls of other tools go on without Redis. The
    /// per-principal limit stays in this process's memory. A disabled layer
    /// stays disabled.
    ///
    /// ```no_run
    /// use std::num::NonZeroU32;
    ///
    /// use mcp_guard_core::redis::RedisConfig;
    /// use mcp_rate_limit::{Quota, RateLimitLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let redis = RedisConfig::new("redis://127.0.0.1:6379/").connect().await?;
    /// let layer = RateLimitLayer::tools_only()
    ///     .tool("expensive_tool", Quota::per_minute(NonZeroU32::new(5).unwrap()))?
    ///     .tool_limits_in_redis(redis);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn tool_limits_in_redis(self, redis: mcp_guard_core::redis::RedisConnection) -> Self {
        self.map(|mut settings| {
            settings.redis = Some(redis);
            settings
        })
    }

    /// The quota each principal gets; `None` when there is no per-principal
    /// limit (a [disabled](Self::disabled) or [tools-only](Self::tools_only)
    /// layer).
    pub fn quota(&self) -> Option<Quota> {
        self.settings.as_ref().and_then(|settings| settings.caller)
    }

    /// The quota of `tool`'s limit, if it has one (and the layer is enabled).
    pub fn tool_quota(&self, tool: &str) -> Option<Quota> {
        self.tool_limits()
            .find_map(|(name, quota)| (name == tool).then_some(quota))
    }

    /// The per-tool limits, in the order they were added (none for a
    /// disabled layer).
    pub fn tool_limits(&self) -> impl Iterator<Item = (&str, Quota)> + '_ {
        let tools = self.settings.as_ref().map(|settings| &settings.tools);
        tools
            .into_iter()
            .flatten()
            .map(|(name, quota)| (&**name, *quota))
    }

    /// Whether the layer reads the envelope of POST bodies (it has per-tool
    /// limits): a stack puts its one envelope peek before it then.
    pub fn reads_the_envelope(&self) -> bool {
        self.tool_limits().next().is_some()
    }

    fn map(self, change: impl FnOnce(Settings) -> Settings) -> Self {
        RateLimitLayer {
            settings: self.settings.map(|settings| change(settings).rebuilt()),
        }
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tools: Vec<_> = self.tool_limits().collect();
        let mut debug = f.debug_struct("RateLimitLayer");
        debug
            .field("enabled", &self.is_enabled())
            .field("quota", &self.quota())
            .field("tools", &tools);
        #[cfg(feature = "redis")]
        debug.field("tool_limits_in_redis", &self.tool_limits_are_in_redis());
        debug.finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let limits = self
            .settings
            .as_ref()
            .map(|settings| settings.limits.clone());
        RateLimit::new(inner, limits)
    }
}
