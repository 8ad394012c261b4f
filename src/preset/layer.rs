use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use mcp_guard_core::{EnvelopePeekLayer, guard};
use tower_layer::Layer;

use super::endpoint::Endpoint;
use super::service::McpGuardService;
use super::{DefaultEventStore, DefaultSessionStore, DefaultVerifier, Types};

/// Every guard a [`McpGuard`](super::McpGuard) configuration turned on, as one
/// `tower::Layer`, stacked in the order of the request's path:
///
/// ```text
/// response timeout → origin guard → CORS → envelope peek → protocol guard
///     → bearer auth → rate limit → session → resumable SSE
///     → discovery filter → your handler
/// ```
///
/// A guard switched off is there as its own disabled layer, so the service's
/// type is the same whichever guards a configuration turns on.
///
/// Built by [`McpGuard::build`](super::McpGuard::build); see the [module
/// docs](super) for an example.
pub struct McpGuardLayer<V = DefaultVerifier, Ss = DefaultSessionStore, Es = DefaultEventStore> {
    /// The one path guarded; other requests take the same stack disabled.
    endpoint: Option<Endpoint>,
    guards: Guards<V, Ss, Es>,
}

/// Each guard's layer, enabled or disabled, outermost first. A guard whose
/// Cargo feature is off is absent.
pub(super) struct Guards<V, Ss, Es> {
    pub(super) response_timeout: Option<Duration>,
    #[cfg(feature = "origin-guard")]
    pub(super) origin_guard: mcp_origin_guard::OriginGuardLayer,
    #[cfg(feature = "cors")]
    pub(super) cors: mcp_cors_preset::McpCorsLayer,
    /// The one envelope read, for every guard after it.
    pub(super) envelope_peek: EnvelopePeekLayer,
    #[cfg(feature = "protocol-guard")]
    pub(super) protocol_guard: mcp_protocol_guard::ProtocolGuardLayer,
    #[cfg(feature = "bearer-auth")]
    pub(super) bearer_auth: mcp_bearer_auth::BearerAuthLayer<V>,
    #[cfg(feature = "rate-limit")]
    pub(super) rate_limit: mcp_rate_limit::RateLimitLayer,
    #[cfg(feature = "session")]
    pub(super) session: mcp_session::SessionGuardLayer<Ss>,
    #[cfg(feature = "sse-resume")]
    pub(super) sse_resume: mcp_sse_resume::SseResumeLayer<Es>,
    /// Innermost: what the resume layer stores is already filtered.
    #[cfg(feature = "bearer-auth")]
    pub(super) discovery_filter: mcp_bearer_auth::discovery::DiscoveryFilterLayer,
    pub(super) _types: Types<V, Ss, Es>,
}

impl<V, Ss, Es> Guards<V, Ss, Es> {
    /// The same stack with every guard switched off: what requests outside
    /// the [endpoint](super::McpGuard::endpoint) pass through.
    pub(super) fn disabled() -> Self {
        Guards {
            response_timeout: None,
            #[cfg(feature = "origin-guard")]
            origin_guard: mcp_origin_guard::OriginGuardLayer::disabled(),
            #[cfg(feature = "cors")]
            cors: mcp_cors_preset::McpCorsLayer::disabled(),
            envelope_peek: EnvelopePeekLayer::disabled(),
            #[cfg(feature = "protocol-guard")]
            protocol_guard: mcp_protocol_guard::ProtocolGuardLayer::disabled(),
            #[cfg(feature = "bearer-auth")]
            bearer_auth: mcp_bearer_auth::BearerAuthLayer::disabled(),
            #[cfg(feature = "rate-limit")]
            rate_limit: mcp_rate_limit::RateLimitLayer::disabled(),
            #[cfg(feature = "session")]
            session: mcp_session::SessionGuardLayer::disabled(),
            #[cfg(feature = "sse-resume")]
            sse_resume: mcp_sse_resume::SseResumeLayer::disabled(),
            #[cfg(feature = "bearer-auth")]
            discovery_filter: mcp_bearer_auth::discovery::DiscoveryFilterLayer::disabled(),
            _types: PhantomData,
        }
    }

    /// The guards' names, outermost first, each with whether it is on.
    fn names(&self) -> impl Iterator<Item = (&'static str, bool)> {
        [
            (guard::RESPONSE_TIMEOUT, self.response_timeout.is_some()),
            #[cfg(feature = "origin-guard")]
            (guard::ORIGIN_GUARD, self.origin_guard.is_enabled()),
            #[cfg(feature = "cors")]
            (guard::CORS, self.cors.is_enabled()),
            #[cfg(feature = "protocol-guard")]
            (guard::PROTOCOL_GUARD, self.protocol_guard.is_enabled()),
            #[cfg(feature = "bearer-auth")]
            (guard::BEARER_AUTH, self.bearer_auth.is_enabled()),
            #[cfg(feature = "rate-limit")]
            (guard::RATE_LIMIT, self.rate_limit.is_enabled()),
            #[cfg(feature = "session")]
            (guard::SESSION, self.session.is_enabled()),
            #[cfg(feature = "sse-resume")]
            (guard::SSE_RESUME, self.sse_resume.is_enabled()),
            #[cfg(feature = "bearer-auth")]
            (guard::DISCOVERY_FILTER, self.discovery_filter.is_enabled()),
        ]
        .into_iter()
    }
}

impl<V, Ss, Es> Clone for Guards<V, Ss, Es> {
    fn clone(&self) -> Self {
        Guards {
            response_timeout: self.response_timeout,
            #[cfg(feature = "origin-guard")]
            origin_guard: self.origin_guard.clone(),
            #[cfg(feature = "cors")]
            cors: self.cors.clone(),
            envelope_peek: self.envelope_peek.clone(),
            #[cfg(feature = "protocol-guard")]
            protocol_guard: self.protocol_guard.clone(),
            #[cfg(feature = "bearer-auth")]
            bearer_auth: self.bearer_auth.clone(),
            #[cfg(feature = "rate-limit")]
            rate_limit: self.rate_limit.clone(),
            #[cfg(feature = "session")]
            session: self.session.clone(),
            #[cfg(feature = "sse-resume")]
            sse_resume: self.sse_resume.clone(),
            #[cfg(feature = "bearer-auth")]
            discovery_filter: self.discovery_filter.clone(),
            _types: PhantomData,
        }
    }
}

impl<V, Ss, Es> McpGuardLayer<V, Ss, Es> {
    pub(super) fn new(endpoint: Option<Endpoint>, guards: Guards<V, Ss, Es>) -> Self {
        McpGuardLayer { endpoint, guards }
    }

    /// The names of the guards this layer applies, outermost first (for logs
    /// and the example server's banner): the names their refusals carry in
    /// [`Rejection::guard`](mcp_guard_core::Rejection).
    pub fn guards(&self) -> Vec<&'static str> {
        let names = self.guards.names();
        names.filter_map(|(name, on)| on.then_some(name)).collect()
    }

    /// The session layer, to reach its store (e.g. to count live sessions);
    /// `None` when sessions are off.
    #[cfg(feature = "session")]
    pub fn session_layer(&self) -> Option<&mcp_session::SessionGuardLayer<Ss>> {
        let session = &self.guards.session;
        session.is_enabled().then_some(session)
    }
}

impl<V, Ss, Es> Clone for McpGuardLayer<V, Ss, Es> {
    fn clone(&self) -> Self {
        McpGuardLayer {
            endpoint: self.endpoint.clone(),
            guards: self.guards.clone(),
        }
    }
}

impl<V, Ss, Es> fmt::Debug for McpGuardLayer<V, Ss, Es> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpGuardLayer")
            .field("endpoint", &self.endpoint)
            .field("guards", &self.guards())
            .finish()
    }
}

impl<S: Clone, V, Ss, Es> Layer<S> for McpGuardLayer<V, Ss, Es> {
    type Service = McpGuardService<S, V, Ss, Es>;

    fn layer(&self, handler: S) -> Self::Service {
        McpGuardService::new(&self.guards, self.endpoint.as_ref(), handler)
    }
}
