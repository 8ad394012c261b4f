use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::Quota;
use tower_layer::Layer;

use crate::RateLimit;
use crate::service::Limiter;

/// Applies [`RateLimit`]: a token bucket per principal. See the [crate
/// docs](crate).
#[derive(Clone)]
pub struct RateLimitLayer {
    quota: Quota,
    /// `None`: switched off ([`disabled`](Self::disabled)).
    limiter: Option<Arc<Limiter>>,
}

impl RateLimitLayer {
    /// `per_second` requests a second per principal, with bursts of the same
    /// size.
    pub fn per_second(per_second: NonZeroU32) -> Self {
        Self::new(Quota::per_second(per_second))
    }

    /// Any governor [`Quota`] per principal.
    pub fn new(quota: Quota) -> Self {
        RateLimitLayer {
            quota,
            limiter: Some(Arc::new(Limiter::keyed(quota))),
        }
    }

    /// A rate limit that is switched off: every request passes, nothing is
    /// counted or logged. Its service has the same type as an enabled one, so
    /// a stack can switch the limit off by configuration without changing its
    /// type.
    ///
    /// ```
    /// use mcp_rate_limit::RateLimitLayer;
    ///
    /// assert!(!RateLimitLayer::disabled().is_enabled());
    /// ```
    pub fn disabled() -> Self {
        RateLimitLayer {
            quota: Quota::per_second(NonZeroU32::MAX),
            limiter: None,
        }
    }

    /// Whether the layer limits anything (not [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.limiter.is_some()
    }

    /// Lets a principal send up to `burst` requests at once before the
    /// per-second rate applies. A disabled layer stays disabled.
    pub fn burst(self, burst: NonZeroU32) -> Self {
        match self.limiter {
            Some(_) => Self::new(self.quota.allow_burst(burst)),
            None => self,
        }
    }

    /// The quota each principal gets (for a disabled layer, the largest
    /// governor has; nothing is counted against it).
    pub fn quota(&self) -> Quota {
        self.quota
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("quota", &self.quota)
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::new(inner, self.limiter.clone())
    }
}
