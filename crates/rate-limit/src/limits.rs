//! What the layer counts: the per-principal buckets, the per-tool buckets,
//! and the decision for one request.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use mcp_guard_core::{EnvelopeLimits, McpError, RpcEnvelope, RpcMessage, error_code, guard};

/// Forgets idle callers' buckets every this many requests, so the limiters'
/// memory follows the active callers rather than every caller ever seen.
const SWEEP_EVERY: u32 = 4096;

/// The `method` whose calls the per-tool limits count.
const TOOLS_CALL: &str = "tools/call";

/// A per-tool bucket's key: the caller's [`Principal::caller_key`], or
/// `None` for every anonymous caller together (one shared bucket per tool).
///
/// [`Principal::caller_key`]: mcp_guard_core::Principal::caller_key
type ToolKey = Option<Arc<str>>;

/// The limits of an enabled layer, shared by every service it makes.
pub(crate) struct Limits {
    /// The per-principal buckets, unless the layer limits tools only.
    pub(crate) caller: Option<CallerLimit>,
    /// The per-tool buckets, by tool name.
    pub(crate) tools: HashMap<Arc<str>, ToolLimit>,
    /// The layer's own body read, when no envelope peek ran before it.
    pub(crate) envelope_limits: EnvelopeLimits,
    /// Where the per-tool buckets are shared by every instance (`None`: in
    /// this process's memory).
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<mcp_guard_core::redis::RedisConnection>,
    /// Requests seen, for the sweep.
    requests: AtomicU32,
}

/// The future of a per-tool count in a shared store.
pub(crate) type RemoteCount =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), McpError>> + Send>>;

/// How the per-tool limits decided a request.
#[cfg_attr(not(feature = "redis"), allow(dead_code))] // `Later` is for a shared store
pub(crate) enum Counted {
    /// Decided now (in memory, or nothing to count).
    Now(Result<(), McpError>),
    /// Decided when the shared store answers.
    Later(RemoteCount),
}

pub(crate) struct CallerLimit {
    pub(crate) quota: Quota,
    limiter: DefaultKeyedRateLimiter<Arc<str>>,
}

pub(crate) struct ToolLimit {
    pub(crate) quota: Quota,
    limiter: DefaultKeyedRateLimiter<ToolKey>,
}

impl Limits {
    pub(crate) fn new(
        caller: Option<Quota>,
        tools: &[(Arc<str>, Quota)],
        envelope_limits: EnvelopeLimits,
        #[cfg(feature = "redis")] redis: Option<mcp_guard_core::redis::RedisConnection>,
    ) -> Self {
        Limits {
            #[cfg(feature = "redis")]
            redis,
            caller: caller.map(|quota| CallerLimit {
                quota,
                limiter: DefaultKeyedRateLimiter::keyed(quota),
            }),
            tools: tools
                .iter()
                .map(|(name, quota)| {
                    let limit = ToolLimit {
                        quota: *quota,
                        limiter: DefaultKeyedRateLimiter::keyed(*quota),
                    };
                    (name.clone(), limit)
                })
                .collect(),
            envelope_limits,
            requests: AtomicU32::new(0),
        }
    }

    /// Counts a request against the caller's own bucket.
    pub(crate) fn check_caller(&self, caller: Option<&Arc<str>>) -> Result<(), McpError> {
        self.sweep_now_and_then();
        let (Some(limit), Some(key)) = (&self.caller, caller) else {
            return Ok(());
        };
        limit.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // The refusal's own log line names no caller: say who here.
            tracing::debug!(caller = %key, ?wait, "rate limit: caller over its quota");
            caller_over_quota(wait)
        })
    }

    /// Counts the calls of limited tools in `envelope`: in memory now, or in
    /// the shared store later.
    pub(crate) fn count(
        &self,
        envelope: Option<&RpcEnvelope>,
        caller: Option<&Arc<str>>,
    ) -> Counted {
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            let Some(envelope) = envelope else {
                return Counted::Now(Ok(()));
            };
            let mut calls: crate::redis::Calls = Vec::new();
            for (name, limit) in envelope.messages().iter().filter_map(|m| self.limited(m)) {
                match calls.iter_mut().find(|(seen, ..)| Arc::ptr_eq(seen, name)) {
                    Some((.., count)) => *count = count.saturating_add(1),
                    None => calls.push((name.clone(), limit.quota, 1)),
                }
            }
            if calls.is_empty() {
                return Counted::Now(Ok(()));
            }
            // A batch no wait would admit: refused without asking Redis.
            for (tool, quota, count) in &calls {
                let calls = NonZeroU32::new(*count).unwrap_or(NonZeroU32::MIN);
                if calls > quota.burst_size() {
                    return Counted::Now(Err(batch_over_burst(tool, calls, quota.burst_size())));
                }
            }
            let count = crate::redis::count(redis.clone(), calls, caller.cloned());
            return Counted::Later(Box::pin(count));
        }
        Counted::Now(self.check_tools(envelope, caller))
    }

    /// The limited tool a message calls, if any. A notification counts too:
    /// a lenient server might still run it.
    fn limited(&self, message: &RpcMessage) -> Option<(&Arc<str>, &ToolLimit)> {
        (message.method() == Some(TOOLS_CALL))
            .then(|| message.name())
            .flatten()
            .and_then(|name| self.tools.get_key_value(name))
    }

    /// Counts each `tools/call` of a limited tool in `envelope` (each call of
    /// a batch) against that tool's bucket for `caller`, in memory.
    pub(crate) fn check_tools(
        &self,
        envelope: Option<&RpcEnvelope>,
        caller: Option<&Arc<str>>,
    ) -> Result<(), McpError> {
        let Some(envelope) = envelope else {
            return Ok(());
        };
        let limited = |message| self.limited(message);
        let key: ToolKey = caller.cloned();
        if let Some(message) = envelope.single() {
            return match limited(message) {
                Some((name, limit)) => limit.check(name, &key, NonZeroU32::MIN),
                None => Ok(()),
            };
        }
        // A batch (2025-03-26): its calls of each tool, counted together.
        let mut calls: Vec<(&Arc<str>, &ToolLimit, u32)> = Vec::new();
        for (name, limit) in envelope.messages().iter().filter_map(limited) {
            match calls.iter_mut().find(|(seen, ..)| Arc::ptr_eq(seen, name)) {
                Some((_, _, count)) => *count = count.saturating_add(1),
                None => calls.push((name, limit, 1)),
            }
        }
        for (name, limit, count) in calls {
            let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
            limit.check(name, &key, count)?;
        }
        Ok(())
    }

    fn sweep_now_and_then(&self) {
        let seen = self.requests.fetch_add(1, Ordering::Relaxed);
        if seen.is_multiple_of(SWEEP_EVERY) {
            if let Some(caller) = &self.caller {
                caller.limiter.retain_recent();
            }
            for tool in self.tools.values() {
                tool.limiter.retain_recent();
            }
        }
    }
}

impl ToolLimit {
    fn check(&self, tool: &str, key: &ToolKey, calls: NonZeroU32) -> Result<(), McpError> {
        match self.limiter.check_key_n(key, calls) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                tracing::debug!(
                    tool,
                    caller = key.as_deref().unwrap_or("anonymous"),
                    ?wait,
                    "rate limit: tool calls over the tool's quota"
                );
                Err(tool_over_quota(tool, key.is_some(), wait))
            }
            // More calls of the tool in one batch than its burst admits ever.
            Err(_) => Err(batch_over_burst(tool, calls, self.quota.burst_size())),
        }
    }
}

impl fmt::Debug for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tools: Vec<(&str, Quota)> = self
            .tools
            .iter()
            .map(|(name, limit)| (&**name, limit.quota))
            .collect();
        f.debug_struct("Limits")
            .field("caller", &self.caller.as_ref().map(|limit| limit.quota))
            .field("tools", &tools)
            .field("envelope_limits", &self.envelope_limits)
            .finish_non_exhaustive()
    }
}

/// Whole seconds, rounded up (a client that waits them is admitted), at
/// least one.
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

fn caller_over_quota(wait: Duration) -> McpError {
    let seconds = retry_after_seconds(wait);
    McpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        error_code::SERVER_ERROR,
        format!("too many requests from this caller; retry after {seconds} s"),
    )
    .with_data(serde_json::json!({ "retryAfterSeconds": seconds }))
    .with_header(RETRY_AFTER, HeaderValue::from(seconds))
    .with_reason("rate_limited")
    .rejected_by(guard::RATE_LIMIT)
}

pub(crate) fn tool_over_quota(tool: &str, authenticated: bool, wait: Duration) -> McpError {
    let seconds = retry_after_seconds(wait);
    let who = match authenticated {
        true => "this caller",
        false => "anonymous callers",
    };
    McpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        error_code::SERVER_ERROR,
        format!("too many calls of tool \"{tool}\" from {who}; retry after {seconds} s"),
    )
    .with_data(serde_json::json!({ "tool": tool, "retryAfterSeconds": seconds }))
    .with_header(RETRY_AFTER, HeaderValue::from(seconds))
    .with_reason("tool_rate_limited")
    .rejected_by(guard::RATE_LIMIT)
}

/// No wait helps: the batch asks more calls at once than the bucket holds.
fn batch_over_burst(tool: &str, calls: NonZeroU32, burst: NonZeroU32) -> McpError {
    McpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        error_code::SERVER_ERROR,
        format!(
            "this batch calls tool \"{tool}\" {calls} times, more than its limit of {burst} admits at once; send the calls in smaller batches"
        ),
    )
    .with_data(serde_json::json!({ "tool": tool, "callsInBatch": calls, "burst": burst }))
    .with_reason("tool_rate_limited")
    .rejected_by(guard::RATE_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(12)), 12);
        assert_eq!(retry_after_seconds(Duration::from_millis(11_001)), 12);
    }

    #[test]
    fn a_tool_refusal_names_the_tool_in_message_and_data() {
        let error = tool_over_quota("expensive_tool", true, Duration::from_millis(11_500));
        assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            error.message().contains("\"expensive_tool\""),
            "{}",
            error.message()
        );
        let body: serde_json::Value =
            serde_json::from_slice(&error.body_bytes()).unwrap_or_default();
        assert_eq!(body["error"]["data"]["tool"], "expensive_tool", "{body}");
        assert_eq!(body["error"]["data"]["retryAfterSeconds"], 12, "{body}");
    }

    #[test]
    fn a_batch_counts_each_call_of_a_limited_tool() {
        let quota = Quota::per_minute(NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN));
        let limits = Limits::new(
            None,
            &[(Arc::from("slow"), quota)],
            EnvelopeLimits::new(),
            #[cfg(feature = "redis")]
            None,
        );
        let batch = RpcEnvelope::parse(
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow"}},
                {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fast"}},
                {"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow"}}]"#,
        );
        let alice: Arc<str> = Arc::from("alice");
        assert!(limits.check_tools(Some(&batch), Some(&alice)).is_ok());
        // Two of three spent: the same batch again needs two, one is left.
        let refused = limits.check_tools(Some(&batch), Some(&alice));
        assert!(refused.is_err_and(|error| error.message().contains("\"slow\"")));
    }
}
