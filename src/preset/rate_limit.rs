//! The rate limit's wiring: its setters and its build step (the remote
//! preset's default quota; nobody to limit without bearer auth).

use std::num::NonZeroU32;

use mcp_rate_limit::RateLimitLayer;

use super::{DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND, McpGuard, McpGuardConfigError};

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// A per-principal rate limit of `per_second` requests with bursts of
    /// `burst` (stacked after bearer auth; see [`crate::rate_limit`]).
    pub fn rate_limit(mut self, per_second: u32, burst: u32) -> Self {
        let layer = match (NonZeroU32::new(per_second), NonZeroU32::new(burst)) {
            (Some(rate), Some(burst)) => RateLimitLayer::per_second(rate).burst(burst),
            _ => {
                self.common.errors.push(McpGuardConfigError::new(
                    "rate_limit",
                    "the rate and the burst must both be at least 1 (use `without_rate_limit` for none)",
                ));
                RateLimitLayer::disabled()
            }
        };
        self.common.rate_limit = Some(layer);
        self
    }

    /// No rate limit.
    pub fn without_rate_limit(mut self) -> Self {
        self.common.rate_limit = Some(RateLimitLayer::disabled());
        self
    }
}

/// The layer to stack: yours, the disabled one, or the remote preset's
/// default quota. It keys on the principal bearer auth establishes, so with
/// bearer auth off it would limit nobody: an error naming `rate_limit`.
pub(super) fn build(
    layer: Option<RateLimitLayer>,
    bearer_auth_on: bool,
) -> Result<RateLimitLayer, McpGuardConfigError> {
    let layer = layer.unwrap_or_else(|| {
        RateLimitLayer::per_second(nonzero(DEFAULT_RATE_PER_SECOND))
            .burst(nonzero(DEFAULT_RATE_BURST))
    });
    if layer.is_enabled() && !bearer_auth_on {
        return Err(McpGuardConfigError::new(
            "rate_limit",
            "the rate limit keys on the principal bearer auth establishes; without bearer auth it would limit nobody (turn bearer auth on, or use `without_rate_limit`)",
        ));
    }
    Ok(layer)
}

fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}
