//! Per-tool limits counted in Redis (feature `redis`): two layer instances
//! (two "servers", each with its own connection) in front of real rmcp
//! servers share one budget per caller and tool; a batch is counted
//! atomically; when Redis is down a limited tool's call is refused with
//! `503` and `Retry-After` (fail closed) while other tools keep working; when
//! Redis is back the same layer counts again.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use mcp_guard_core::redis::RedisConfig;
use mcp_guard_test_support::RedisServer;
use mcp_guard_test_support::outage::{COMMAND_TIMEOUT, FAILS_WITHIN};
use mcp_rate_limit::{Quota, RateLimitLayer};
use serde_json::Value;
use support::{post, send, stack, tool_call};

/// A layer of one instance: its own connection to the shared Redis.
async fn instance(redis: &RedisServer, prefix: &str) -> RateLimitLayer {
    let connection = RedisConfig::new(redis.url())
        .key_prefix(prefix)
        .command_timeout(COMMAND_TIMEOUT)
        .retry_after(Duration::from_secs(3))
        .connect()
        .await
        .unwrap();
    RateLimitLayer::per_second(NonZeroU32::new(100).unwrap())
        .tool(
            "expensive_tool",
            Quota::per_minute(NonZeroU32::new(5).unwrap()),
        )
        .unwrap()
        .tool_limits_in_redis(connection)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_budget_per_caller_and_tool() {
    let redis = RedisServer::start();
    let first = stack(instance(&redis, "app:").await);
    let second = stack(instance(&redis, "app:").await);

    // Three calls on one instance, two on the other: the budget of five.
    for (id, server) in [
        (1, &first),
        (2, &second),
        (3, &first),
        (4, &second),
        (5, &first),
    ] {
        let answer = send(
            server,
            post(Some("alice"), &tool_call(id, "expensive_tool")),
        )
        .await;
        assert_eq!(answer.status, 200, "call {id}: {}", answer.body);
    }
    for (id, server) in [(6, &second), (7, &first)] {
        let refused = send(
            server,
            post(Some("alice"), &tool_call(id, "expensive_tool")),
        )
        .await;
        assert_eq!(refused.status, 429, "call {id}: {}", refused.body);
        assert_eq!(refused.body["id"], id);
        assert_eq!(refused.body["error"]["data"]["tool"], "expensive_tool");
        let retry_after: u64 = refused.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=12).contains(&retry_after), "Retry-After {retry_after}");
        assert_eq!(
            refused.body["error"]["data"]["retryAfterSeconds"],
            retry_after
        );
        let rejection = refused.rejection.unwrap();
        assert_eq!(
            (rejection.guard, rejection.reason),
            ("rate-limit", "tool_rate_limited")
        );
    }
    // Other tools and other callers are not counted against alice's budget.
    let echo = send(&second, post(Some("alice"), &tool_call(8, "echo"))).await;
    assert_eq!(echo.status, 200, "{}", echo.body);
    let bob = send(&second, post(Some("bob"), &tool_call(9, "expensive_tool"))).await;
    assert_eq!(bob.status, 200, "{}", bob.body);

    // Another key prefix is another application: its own budget.
    let other_app = stack(instance(&redis, "other:").await);
    let answer = send(
        &other_app,
        post(Some("alice"), &tool_call(10, "expensive_tool")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // A batch is counted atomically: four calls with one left refuse the
    // whole batch and spend nothing; the one call left still passes.
    for id in 11..=14 {
        let answer = send(
            &first,
            post(Some("carol"), &tool_call(id, "expensive_tool")),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let batch = Value::Array((20..24).map(|id| tool_call(id, "expensive_tool")).collect());
    let refused = send(&second, post(Some("carol"), &batch)).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let last = send(
        &first,
        post(Some("carol"), &tool_call(30, "expensive_tool")),
    )
    .await;
    assert_eq!(
        last.status, 200,
        "the refused batch spent nothing: {}",
        last.body
    );

    // Anonymous callers share one bucket across instances too.
    for (id, server) in [
        (40, &first),
        (41, &second),
        (42, &first),
        (43, &second),
        (44, &first),
    ] {
        let answer = send(server, post(None, &tool_call(id, "expensive_tool"))).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let refused = send(&second, post(None, &tool_call(45, "expensive_tool"))).await;
    assert_eq!(refused.status, 429, "{}", refused.body);

    // Every bucket expires once it would be full again.
    let keys = redis.command("KEYS app:tool-rate:*");
    assert!(keys.contains("alice"), "{keys}");
    let ttl = redis.command("PTTL app:tool-rate:14:expensive_tool:anonymous");
    let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap_or(-3);
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_refuses_limited_calls_with_503_and_counting_resumes() {
    let mut redis = RedisServer::start();
    let service = stack(instance(&redis, "app:").await);
    let answer = send(
        &service,
        post(Some("alice"), &tool_call(1, "expensive_tool")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    redis.stop();
    let started = Instant::now();
    let refused = send(
        &service,
        post(Some("alice"), &tool_call(2, "expensive_tool")),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(refused.status, 503, "fail closed: {}", refused.body);
    assert!(
        took < FAILS_WITHIN,
        "answered in {took:?}, not stuck on Redis"
    );
    assert_eq!(refused.headers["retry-after"], "3");
    assert_eq!(refused.body["id"], 2, "{}", refused.body);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit store is unavailable"),
        "{}",
        refused.body
    );
    let rejection = refused.rejection.unwrap();
    assert_eq!(
        (rejection.guard, rejection.reason),
        ("rate-limit", "store_unavailable")
    );
    // Tools without a limit do not need Redis.
    let echo = send(&service, post(Some("alice"), &tool_call(3, "echo"))).await;
    assert_eq!(echo.status, 200, "{}", echo.body);

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let resumed = loop {
        let answer = send(
            &service,
            post(Some("alice"), &tool_call(4, "expensive_tool")),
        )
        .await;
        if answer.status != 503 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(resumed.status, 200, "counting again: {}", resumed.body);
}
