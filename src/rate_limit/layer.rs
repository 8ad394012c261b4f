use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota};
use tower_layer::Layer;

use super::RateLimit;

/// Applies [`RateLimit`]: a token bucket per principal. See the [module
/// docs](super).
#[derive(Clone)]
pub struct RateLimitLayer {
    pub(crate) quota: Quota,
    pub(crate) limiter: Arc<DefaultKeyedRateLimiter<String>>,
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
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
        }
    }

    /// Lets a principal send up to `burst` requests at once before the
    /// per-second rate applies.
    pub fn burst(self, burst: NonZeroU32) -> Self {
        Self::new(self.quota.allow_burst(burst))
    }

    /// The quota each principal gets.
    pub fn quota(&self) -> Quota {
        self.quota
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}
