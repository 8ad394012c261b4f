//! Per-tool limits counted in Redis (feature `redis`), so every instance
//! connected to it spends one budget per caller and tool: GCRA (the
//! algorithm governor runs in memory) in one Lua script, atomic over all the
//! tools one request calls.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use governor::Quota;
use mcp_guard_core::redis::RedisConnection;
use mcp_guard_core::{McpError, guard};
use redis::Script;

use crate::limits::tool_over_quota;

/// For each key, in order, with `ARGV` holding three numbers per key (the
/// emission interval in µs, the burst, the calls): the theoretical arrival
/// time (TAT) of the bucket moves `calls` intervals on, and the calls are
/// admitted when the new TAT is within `burst` intervals of now. All keys
/// are checked before any is written, so a refused request spends nothing.
/// Returns `{0, 0}` when admitted, `{i, wait_us}` when key `i` (1-based)
/// refused. The time is Redis's own (`TIME`), so the instances' clocks do
/// not matter; each key expires when its bucket is full again.
const GCRA: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local next_tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local calls = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local next_tat = tat + calls * interval
  local admitted_at = next_tat - burst * interval
  if admitted_at > now then
    return {i, admitted_at - now}
  end
  next_tats[i] = next_tat
end
for i = 1, #KEYS do
  local ttl_ms = math.max(1, math.ceil((next_tats[i] - now) / 1000))
  redis.call('SET', KEYS[i], string.format('%.0f', next_tats[i]), 'PX', ttl_ms)
end
return {0, 0}
";

fn gcra() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(GCRA))
}

/// One request's calls of limited tools: the tool, its quota, how many.
pub(crate) type Calls = Vec<(Arc<str>, Quota, u32)>;

/// Counts `calls` by `caller` (`None`: the anonymous bucket) in Redis. A
/// Redis that cannot answer is a `503` (fail closed: a limit that cannot be
/// counted does not let calls through).
pub(crate) async fn count(
    redis: RedisConnection,
    calls: Calls,
    caller: Option<Arc<str>>,
) -> Result<(), McpError> {
    let mut invocation = gcra().prepare_invoke();
    for (tool, quota, count) in &calls {
        invocation.key(redis.key(&bucket(tool, caller.as_deref())));
        let interval = u64::try_from(quota.replenish_interval().as_micros()).unwrap_or(u64::MAX);
        invocation.arg(interval.max(1));
        invocation.arg(quota.burst_size().get());
        invocation.arg(*count);
    }
    let answer: (usize, u64) = match redis.run_script(&invocation).await {
        Ok(answer) => answer,
        Err(error) => {
            // The operator's problem; the client only learns to retry.
            tracing::warn!(error = error.message(), "rate limit store unavailable");
            return Err(error
                .rejection("rate limit store")
                .rejected_by(guard::RATE_LIMIT));
        }
    };
    match answer {
        (0, _) => Ok(()),
        (refused, wait_us) => {
            let tool = calls
                .get(refused.saturating_sub(1))
                .map_or("", |(tool, ..)| &**tool);
            let wait = Duration::from_micros(wait_us);
            tracing::debug!(
                tool,
                caller = caller.as_deref().unwrap_or("anonymous"),
                ?wait,
                "rate limit: tool calls over the tool's quota (redis)"
            );
            Err(tool_over_quota(tool, caller.is_some(), wait))
        }
    }
}

/// The bucket of `tool` for `caller`, under the connection's key prefix:
/// the tool's length first, so no tool name and caller key can spell
/// another pair's bucket.
fn bucket(tool: &str, caller: Option<&str>) -> String {
    match caller {
        Some(caller) => format!("tool-rate:{}:{tool}:p:{caller}", tool.len()),
        None => format!("tool-rate:{}:{tool}:anonymous", tool.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_of_different_pairs_never_collide() {
        assert_ne!(bucket("a:b", Some("c")), bucket("a", Some("b:c")));
        assert_ne!(bucket("t", None), bucket("t", Some("anonymous")));
    }
}
