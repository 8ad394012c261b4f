use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use mcp_guard_core::guard;
use tower::util::Either;
use tower_layer::Layer;

#[allow(unused_imports)] // which ones are used depends on the features
use super::bypass::Bypass;
use super::service::McpGuardService;
use super::{DefaultEventStore, DefaultSessionStore, DefaultVerifier};

/// Every guard a [`McpGuard`](super::McpGuard) configuration turned on, as one
/// `tower::Layer`, stacked in the order of the request's path:
///
/// ```text
/// response timeout → origin guard → CORS → protocol guard → bearer auth
///     → rate limit → session → resumable SSE → your handler
/// ```
///
/// Built by [`McpGuard::build`](super::McpGuard::build); see the [module
/// docs](super) for an example.
pub struct McpGuardLayer<V = DefaultVerifier, Ss = DefaultSessionStore, Es = DefaultEventStore> {
    /// The one path guarded; other requests take the unguarded stack.
    pub(crate) endpoint: Option<super::endpoint::Endpoint>,
    pub(crate) response_timeout: Option<Duration>,
    #[cfg(feature = "origin-guard")]
    pub(crate) origin_guard: Option<mcp_origin_guard::OriginGuardLayer>,
    #[cfg(feature = "cors")]
    pub(crate) cors: Option<mcp_cors_preset::McpCorsLayer>,
    #[cfg(feature = "protocol-guard")]
    pub(crate) protocol_guard: Option<mcp_protocol_guard::ProtocolGuardLayer>,
    #[cfg(feature = "bearer-auth")]
    pub(crate) bearer_auth: Option<mcp_bearer_auth::BearerAuthLayer<V>>,
    #[cfg(feature = "rate-limit")]
    pub(crate) rate_limit: Option<crate::rate_limit::RateLimitLayer>,
    #[cfg(feature = "session")]
    pub(crate) session: Option<mcp_session::SessionGuardLayer<Ss>>,
    #[cfg(feature = "sse-resume")]
    pub(crate) sse_resume: Option<mcp_sse_resume::SseResumeLayer<Es>>,
    pub(crate) _types: super::Types<V, Ss, Es>,
}

impl<V, Ss, Es> Clone for McpGuardLayer<V, Ss, Es> {
    fn clone(&self) -> Self {
        McpGuardLayer {
            endpoint: self.endpoint.clone(),
            response_timeout: self.response_timeout,
            #[cfg(feature = "origin-guard")]
            origin_guard: self.origin_guard.clone(),
            #[cfg(feature = "cors")]
            cors: self.cors.clone(),
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
            _types: PhantomData,
        }
    }
}

impl<V, Ss, Es> McpGuardLayer<V, Ss, Es> {
    /// The names of the guards this layer applies, outermost first (for logs
    /// and the example server's banner): the names their refusals carry in
    /// [`Rejection::guard`](mcp_guard_core::Rejection).
    pub fn guards(&self) -> Vec<&'static str> {
        let mut guards = Vec::new();
        if self.response_timeout.is_some() {
            guards.push(guard::RESPONSE_TIMEOUT);
        }
        #[cfg(feature = "origin-guard")]
        if self.origin_guard.is_some() {
            guards.push(guard::ORIGIN_GUARD);
        }
        #[cfg(feature = "cors")]
        if self.cors.is_some() {
            guards.push(guard::CORS);
        }
        #[cfg(feature = "protocol-guard")]
        if self.protocol_guard.is_some() {
            guards.push(guard::PROTOCOL_GUARD);
        }
        #[cfg(feature = "bearer-auth")]
        if self.bearer_auth.is_some() {
            guards.push(guard::BEARER_AUTH);
        }
        #[cfg(feature = "rate-limit")]
        if self.rate_limit.is_some() {
            guards.push(guard::RATE_LIMIT);
        }
        #[cfg(feature = "session")]
        if self.session.is_some() {
            guards.push(guard::SESSION);
        }
        #[cfg(feature = "sse-resume")]
        if self.sse_resume.is_some() {
            guards.push(guard::SSE_RESUME);
        }
        guards
    }

    /// The same stack with every guard switched off: what requests outside
    /// the [endpoint](super::McpGuard::endpoint) pass through, re-wrapped in
    /// the guarded stack's types only.
    fn unguarded(&self) -> Self {
        McpGuardLayer {
            endpoint: None,
            response_timeout: None,
            #[cfg(feature = "origin-guard")]
            origin_guard: None,
            #[cfg(feature = "cors")]
            cors: None,
            #[cfg(feature = "protocol-guard")]
            protocol_guard: None,
            #[cfg(feature = "bearer-auth")]
            bearer_auth: None,
            #[cfg(feature = "rate-limit")]
            rate_limit: None,
            #[cfg(feature = "session")]
            session: None,
            #[cfg(feature = "sse-resume")]
            sse_resume: None,
            _types: PhantomData,
        }
    }

    /// The session layer, to reach its store (e.g. to count live sessions).
    #[cfg(feature = "session")]
    pub fn session_layer(&self) -> Option<&mcp_session::SessionGuardLayer<Ss>> {
        self.session.as_ref()
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

/// The guard's service when configured, its [`Bypass`] when switched off.
#[allow(dead_code)] // unused when every guard's feature is off
fn on_or_off<L, S, P>(layer: Option<&L>, inner: S) -> Either<L::Service, Bypass<S, P>>
where
    L: Layer<S>,
{
    match layer {
        Some(layer) => Either::Left(layer.layer(inner)),
        None => Either::Right(Bypass::new(inner)),
    }
}

impl<S: Clone, V, Ss, Es> Layer<S> for McpGuardLayer<V, Ss, Es> {
    type Service = McpGuardService<S, V, Ss, Es>;

    fn layer(&self, handler: S) -> Self::Service {
        let unguarded = self.endpoint.as_ref().map(|endpoint| {
            let stack = self.unguarded().layer(handler.clone()).stack;
            (endpoint.clone(), stack)
        });
        #[cfg(feature = "sse-resume")]
        let stage = on_or_off(self.sse_resume.as_ref(), handler);
        #[cfg(not(feature = "sse-resume"))]
        let stage = Bypass::new(handler);

        #[cfg(feature = "session")]
        let stage = on_or_off(self.session.as_ref(), stage);
        #[cfg(not(feature = "session"))]
        let stage = Bypass::new(stage);

        #[cfg(feature = "rate-limit")]
        let stage = on_or_off(self.rate_limit.as_ref(), stage);

        #[cfg(feature = "bearer-auth")]
        let stage = on_or_off(self.bearer_auth.as_ref(), stage);
        #[cfg(not(feature = "bearer-auth"))]
        let stage = Bypass::new(stage);

        #[cfg(feature = "protocol-guard")]
        let stage = on_or_off(self.protocol_guard.as_ref(), stage);

        #[cfg(feature = "cors")]
        let stage = match &self.cors {
            Some(cors) => Either::Left(cors.layer(stage)),
            None => Either::Right(stage),
        };

        #[cfg(feature = "origin-guard")]
        let stage = on_or_off(self.origin_guard.as_ref(), stage);

        let stack = match self.response_timeout {
            Some(timeout) => Either::Left(super::service::ResponseTimeout::new(stage, timeout)),
            None => Either::Right(stage),
        };
        McpGuardService { stack, unguarded }
    }
}
