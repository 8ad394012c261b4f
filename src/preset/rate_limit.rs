//! The rate limit's wiring: its setters and its build step (the remote
//! preset's default quota; no per-principal limit without bearer auth).

use std::num::NonZeroU32;
use std::time::Duration;

use mcp_rate_limit::{Quota, RateLimitLayer};

use super::{DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND, McpGuard, McpGuardConfigError};

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// A per-principal rate limit of `per_second` requests with bursts of
    /// `burst` (stacked after bearer auth; see [`crate::rate_limit`]). Tool
    /// limits set with [`tool_rate_limit`](Self::tool_rate_limit) are kept,
    /// and so is `tool_rate_limits_in_redis` (feature `redis`): the order of
    /// the setters does not matter.
    pub fn rate_limit(mut self, per_second: u32, burst: u32) -> Self {
        let (Some(rate), Some(burst)) = (NonZeroU32::new(per_second), NonZeroU32::new(burst))
        else {
            self.common.errors.push(McpGuardConfigError::new(
                "rate_limit",
                "the rate and the burst must both be at least 1 (use `without_rate_limit` for none)",
            ));
            self.common.rate_limit = Some(RateLimitLayer::disabled());
            return self;
        };
        let quota = Quota::per_second(rate).allow_burst(burst);
        let layer = match self.common.rate_limit.take() {
            // Keeps what was set before: the tool limits, and the Redis
            // they are counted in (a rebuilt layer would silently go back
            // to per-instance buckets).
            Some(layer) if layer.is_enabled() => layer.with_quota(quota),
            // Not set yet, or switched off: nothing to keep.
            _ => RateLimitLayer::new(quota),
        };
        self.common.rate_limit = Some(layer);
        self
    }

    /// Limits the `tools/call` requests naming `tool` to `calls` per
    /// `period` per principal, on top of the per-principal rate limit (e.g.
    /// `tool_rate_limit("expensive_tool", 5, Duration::from_secs(60))`). The
    /// bucket holds `calls`, refilled one every `period / calls`; over it, a
    /// call is refused with `429`, `Retry-After` and the tool named. See
    /// [`crate::rate_limit`] for batches and the order of the two limits.
    ///
    /// Callers without a principal share one bucket per tool, so a tool
    /// limit also works without bearer auth (the local preset): there it caps
    /// the tool's use as a whole. A tool limit after
    /// [`without_rate_limit`](Self::without_rate_limit) is a tool limit
    /// without a per-principal one.
    ///
    /// `calls` or `period` zero, an empty `tool`, or a tool limited twice is
    /// an error from [`build`](Self::build) naming `tool_rate_limit`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use mcp_guard::McpGuard;
    ///
    /// let layer = McpGuard::local()
    ///     .tool_rate_limit("expensive_tool", 5, Duration::from_secs(60))
    ///     .build()?;
    /// assert!(layer.guards().contains(&"rate-limit"));
    ///
    /// let twice = McpGuard::local()
    ///     .tool_rate_limit("expensive_tool", 5, Duration::from_secs(60))
    ///     .tool_rate_limit("expensive_tool", 1, Duration::from_secs(1))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(twice.setting(), "tool_rate_limit");
    /// # Ok::<(), mcp_guard::McpGuardConfigError>(())
    /// ```
    pub fn tool_rate_limit(
        mut self,
        tool: impl Into<String>,
        calls: u32,
        period: Duration,
    ) -> Self {
        let Some(quota) = tool_quota(calls, period) else {
            self.common.errors.push(McpGuardConfigError::new(
                "tool_rate_limit",
                format!(
                    "{calls} calls per {period:?}: the calls and the period must both be more than zero"
                ),
            ));
            return self;
        };
        let layer = match self.common.rate_limit.take() {
            // The remote preset's default per-principal limit, made now so
            // the tool limit has a layer to join.
            None => default_layer(),
            // Switched off (the local preset, `without_rate_limit`): the
            // tool limit alone.
            Some(layer) if !layer.is_enabled() => RateLimitLayer::tools_only(),
            Some(layer) => layer,
        };
        let layer = match layer.clone().tool(tool, quota) {
            Ok(layer) => layer,
            Err(error) => {
                let error = McpGuardConfigError::new("tool_rate_limit", error);
                self.common.errors.push(error);
                layer
            }
        };
        self.common.rate_limit = Some(layer);
        self
    }

    /// Keeps the per-tool limits set so far in Redis, so every instance that
    /// shares `redis` shares each caller's budget per tool (see
    /// [`RateLimitLayer::tool_limits_in_redis`]); call it after the
    /// [`tool_rate_limit`](Self::tool_rate_limit)s. A Redis that cannot
    /// answer is a `503` for calls of limited tools, never a pass. Without
    /// any tool limit it is an error from [`build`](Self::build) naming
    /// `tool_rate_limits_in_redis`.
    #[cfg(feature = "redis")]
    pub fn tool_rate_limits_in_redis(
        mut self,
        redis: mcp_guard_core::redis::RedisConnection,
    ) -> Self {
        match self.common.rate_limit.take() {
            Some(layer) if layer.tool_limits().next().is_some() => {
                self.common.rate_limit = Some(layer.tool_limits_in_redis(redis));
            }
            layer => {
                self.common.rate_limit = layer;
                self.common.errors.push(McpGuardConfigError::new(
                    "tool_rate_limits_in_redis",
                    "no per-tool limit to keep in Redis: set them with `tool_rate_limit` first",
                ));
            }
        }
        self
    }

    /// No rate limit: neither per principal nor per tool (tool limits set
    /// before are dropped; set after, they apply alone).
    pub fn without_rate_limit(mut self) -> Self {
        self.common.rate_limit = Some(RateLimitLayer::disabled());
        self
    }
}

/// The quota of `calls` per `period`: a bucket of `calls`, one back every
/// `period / calls`.
fn tool_quota(calls: u32, period: Duration) -> Option<Quota> {
    let calls = NonZeroU32::new(calls)?;
    Quota::with_period(period / calls.get()).map(|quota| quota.allow_burst(calls))
}

fn default_layer() -> RateLimitLayer {
    RateLimitLayer::per_second(nonzero(DEFAULT_RATE_PER_SECOND)).burst(nonzero(DEFAULT_RATE_BURST))
}

/// The layer to stack: yours, the disabled one, or the remote preset's
/// default quota. The per-principal limit keys on the principal bearer auth
/// establishes, so with bearer auth off it would limit nobody: an error
/// naming `rate_limit`. Tool limits alone work without bearer auth (one
/// bucket per tool for all anonymous callers).
pub(super) fn build(
    layer: Option<RateLimitLayer>,
    bearer_auth_on: bool,
) -> Result<RateLimitLayer, McpGuardConfigError> {
    let layer = layer.unwrap_or_else(default_layer);
    if layer.quota().is_some() && !bearer_auth_on {
        return Err(McpGuardConfigError::new(
            "rate_limit",
            "the rate limit keys on the principal bearer auth establishes; without bearer auth it would limit nobody (turn bearer auth on, or use `without_rate_limit`; `tool_rate_limit` works without it)",
        ));
    }
    Ok(layer)
}

fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::McpGuard;

    const MINUTE: Duration = Duration::from_secs(60);

    fn layer_of<V, Ss, Es>(guard: &McpGuard<V, Ss, Es>) -> &RateLimitLayer {
        guard.common.rate_limit.as_ref().unwrap()
    }

    #[test]
    fn five_a_minute_is_a_bucket_of_five_refilled_every_twelve_seconds() {
        let quota = tool_quota(5, MINUTE).unwrap();
        assert_eq!(quota.burst_size().get(), 5);
        assert_eq!(quota.replenish_interval(), Duration::from_secs(12));
        assert!(tool_quota(0, MINUTE).is_none());
        assert!(tool_quota(5, Duration::ZERO).is_none());
    }

    #[test]
    fn a_tool_limit_on_the_local_preset_stands_alone() {
        let guard = McpGuard::local().tool_rate_limit("expensive_tool", 5, MINUTE);
        let layer = layer_of(&guard);
        assert!(layer.is_enabled());
        assert_eq!(
            layer.quota(),
            None,
            "no per-principal limit without bearer auth"
        );
        assert!(layer.tool_quota("expensive_tool").is_some());
        let built = guard.build().unwrap();
        assert!(built.guards().contains(&"rate-limit"));
    }

    #[test]
    fn the_per_principal_rate_keeps_the_tool_limits_in_either_order() {
        let before = McpGuard::local()
            .tool_rate_limit("expensive_tool", 5, MINUTE)
            .rate_limit(10, 20);
        let after =
            McpGuard::local()
                .rate_limit(10, 20)
                .tool_rate_limit("expensive_tool", 5, MINUTE);
        for guard in [before, after] {
            let layer = layer_of(&guard);
            assert_eq!(layer.quota().unwrap().burst_size().get(), 20);
            assert_eq!(layer.tool_quota("expensive_tool"), tool_quota(5, MINUTE));
        }
    }

    /// `rate_limit` after `tool_rate_limits_in_redis` keeps the Redis: two
    /// instances built that way share one budget per caller and tool (the
    /// third call of a 2-a-minute tool, on the other instance, is refused).
    #[cfg(feature = "redis")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_per_principal_rate_keeps_the_tool_limits_in_redis_in_either_order() {
        use bytes::Bytes;
        use http::{Request, Response};
        use http_body_util::Full;
        use mcp_guard_core::Principal;
        use mcp_guard_core::redis::RedisConfig;
        use mcp_guard_test_support::RedisServer;
        use tower::{Layer, ServiceExt};

        let redis = RedisServer::start();
        for (order, prefix) in [
            ("redis, then rate", "then-rate:"),
            ("rate, then redis", "then-redis:"),
        ] {
            let instance = || async {
                let connection = RedisConfig::new(redis.url())
                    .key_prefix(prefix)
                    .connect()
                    .await
                    .unwrap();
                let guard = McpGuard::local().tool_rate_limit("expensive_tool", 2, MINUTE);
                let guard = match order {
                    "redis, then rate" => guard
                        .tool_rate_limits_in_redis(connection)
                        .rate_limit(100, 100),
                    _ => guard
                        .rate_limit(100, 100)
                        .tool_rate_limits_in_redis(connection),
                };
                let layer = layer_of(&guard).clone();
                assert!(layer.tool_limits_are_in_redis(), "{order}: {layer:?}");
                assert_eq!(layer.quota().unwrap().burst_size().get(), 100, "{order}");
                layer.layer(tower::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
                }))
            };
            let (first, second) = (instance().await, instance().await);
            let call = || {
                let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"expensive_tool"}}"#;
                let mut request = Request::post("/mcp")
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                    .unwrap();
                let alice = Principal::new()
                    .with_issuer("https://as.example")
                    .with_subject("alice");
                request.extensions_mut().insert(alice);
                request
            };
            for (call_number, instance, status) in [
                (1, &first, 200),
                (2, &second, 200),
                (3, &first, 429),
                (4, &second, 429),
            ] {
                let response = instance.clone().oneshot(call()).await.unwrap();
                assert_eq!(response.status(), status, "{order}: call {call_number}");
            }
        }
    }

    #[test]
    fn without_rate_limit_drops_tool_limits_set_before_it() {
        let guard = McpGuard::local()
            .tool_rate_limit("expensive_tool", 5, MINUTE)
            .without_rate_limit();
        assert!(!layer_of(&guard).is_enabled());
    }

    #[test]
    fn tool_limits_that_cannot_work_are_build_errors_naming_the_setting() {
        for guard in [
            McpGuard::local().tool_rate_limit("expensive_tool", 0, MINUTE),
            McpGuard::local().tool_rate_limit("expensive_tool", 5, Duration::ZERO),
            McpGuard::local().tool_rate_limit("", 5, MINUTE),
            McpGuard::local()
                .tool_rate_limit("expensive_tool", 5, MINUTE)
                .tool_rate_limit("expensive_tool", 6, MINUTE),
        ] {
            let error = guard.build().unwrap_err();
            assert_eq!(error.setting(), "tool_rate_limit", "{error}");
        }
    }

    #[test]
    fn a_per_principal_limit_without_bearer_auth_is_still_refused() {
        let error = McpGuard::local()
            .rate_limit(10, 20)
            .tool_rate_limit("expensive_tool", 5, MINUTE)
            .build()
            .unwrap_err();
        assert_eq!(error.setting(), "rate_limit");
    }

    /// Through the whole local stack, with no guard before it reading the
    /// envelope: the rate limit reads the body itself, and the sixth call of
    /// the tool in a minute is refused while another tool passes.
    #[cfg(feature = "default")]
    #[tokio::test]
    async fn a_tool_limit_counts_through_the_stack() {
        use bytes::Bytes;
        use http::{Request, Response};
        use http_body_util::{BodyExt, Full};
        use tower::{Layer, ServiceExt};

        async fn echo<B: http_body::Body<Data = Bytes>>(
            request: Request<B>,
        ) -> Result<Response<Full<Bytes>>, std::convert::Infallible>
        where
            B::Error: std::fmt::Debug,
        {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            Ok(Response::new(Full::new(body)))
        }

        let guard = McpGuard::local()
            .without_protocol_guard()
            .without_session()
            .without_sse_resume()
            .tool_rate_limit("expensive_tool", 5, MINUTE)
            .build()
            .unwrap();
        let service = guard.layer(tower::service_fn(echo));
        let call = |id: u32, tool: &str| {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}"}}}}"#
            );
            Request::post("/mcp")
                .header("host", "localhost:8080")
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        };
        for id in 1..=5 {
            let response = service.clone().oneshot(call(id, "expensive_tool")).await;
            let response = response.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(
                body.starts_with(b"{\"jsonrpc\""),
                "the handler got the body"
            );
        }
        let refused = service.clone().oneshot(call(6, "expensive_tool")).await;
        let refused = refused.unwrap();
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        let echo = service.oneshot(call(7, "echo")).await.unwrap();
        assert_eq!(echo.status(), 200);
    }
}
