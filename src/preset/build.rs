//! The build: each guard's wiring makes its layer (enabled, yours, or
//! disabled), in the order of the request's path, and the one envelope read
//! goes before the first guard that needs it.

use std::marker::PhantomData;

use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer};

use super::endpoint::Endpoint;
use super::layer::Guards;
use super::{McpGuard, McpGuardConfigError, McpGuardLayer};

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// The layer, or the first setting that cannot work.
    pub fn build(self) -> Result<McpGuardLayer<V, Ss, Es>, McpGuardConfigError> {
        let first_error = self.common.errors.first().cloned();
        if let Some(error) = first_error.or_else(|| self.unused_setting()) {
            return Err(error);
        }
        let common = self.common;
        let endpoint = common.endpoint.as_deref().map(Endpoint::new).transpose()?;

        #[cfg(feature = "origin-guard")]
        let allowlist = common.origin_guard.allowlist(&common.reach)?;
        // The preset's scope policy, for the discovery filter: known only
        // when the preset builds bearer auth.
        #[cfg(feature = "bearer-auth")]
        let preset_policy = self
            .bearer_auth
            .is_preset()
            .then(|| self.bearer_auth.settings.policy.clone().unwrap_or_default());
        #[cfg(feature = "bearer-auth")]
        let bearer_auth = self
            .bearer_auth
            .build(&common.reach, common.response_timeout)?;
        #[cfg(feature = "bearer-auth")]
        let discovery_filter = super::discovery_filter::build(
            common.discovery_filter,
            bearer_auth.is_enabled(),
            preset_policy,
        )?;
        #[cfg(all(feature = "rate-limit", feature = "bearer-auth"))]
        let rate_limit = super::rate_limit::build(common.rate_limit, bearer_auth.is_enabled())?;
        #[cfg(all(feature = "rate-limit", not(feature = "bearer-auth")))]
        let rate_limit = super::rate_limit::build(common.rate_limit, false)?;
        #[cfg(feature = "session")]
        let session = self.session.build()?;
        #[cfg(feature = "sse-resume")]
        let sse_resume = self.sse_resume.build()?;
        #[cfg(feature = "sse-resume")]
        if sse_resume.is_enabled() && !session.is_enabled() {
            return Err(McpGuardConfigError::new(
                "sse_resume",
                "resumable SSE scopes every resume to a session; with the session layer off nothing could be resumed (turn sessions on, or use `without_sse_resume`)",
            ));
        }

        let guards = Guards {
            response_timeout: common.response_timeout,
            #[cfg(feature = "origin-guard")]
            origin_guard: common.origin_guard.build(&allowlist),
            #[cfg(feature = "cors")]
            cors: super::cors::build(common.cors, &allowlist),
            envelope_peek: EnvelopePeekLayer::disabled(),
            #[cfg(feature = "protocol-guard")]
            protocol_guard: super::protocol_guard::build(common.protocol_guard),
            #[cfg(feature = "bearer-auth")]
            bearer_auth,
            #[cfg(feature = "rate-limit")]
            rate_limit,
            #[cfg(feature = "session")]
            session,
            #[cfg(feature = "sse-resume")]
            sse_resume,
            #[cfg(feature = "bearer-auth")]
            discovery_filter,
            _types: PhantomData,
        };
        let guards = guards.with_envelope_peek(common.envelope_limits);
        Ok(McpGuardLayer::new(endpoint, guards))
    }
}

impl<V, Ss, Es> Guards<V, Ss, Es> {
    /// The one envelope read, with the builder's limits, when a guard after
    /// it reads the envelope (protocol guard, bearer auth, session, per-tool
    /// rate limits); disabled
    /// otherwise, so a stack of guards that never look at the body does not
    /// read it.
    fn with_envelope_peek(mut self, limits: EnvelopeLimits) -> Self {
        let reads_the_envelope = [
            #[cfg(feature = "protocol-guard")]
            self.protocol_guard.is_enabled(),
            #[cfg(feature = "bearer-auth")]
            self.bearer_auth.is_enabled(),
            #[cfg(feature = "session")]
            self.session.is_enabled(),
            // Per-tool limits read the tool's name.
            #[cfg(feature = "rate-limit")]
            self.rate_limit.reads_the_envelope(),
        ];
        if reads_the_envelope.contains(&true) {
            self.envelope_peek = EnvelopePeekLayer::new(limits);
        }
        self
    }
}
