//! A real rmcp server behind per-tool limits: the sixth call of
//! `expensive_tool` within a minute is refused with `429`, `Retry-After` and
//! the tool named, while `echo` and other callers keep working; a batch
//! counts each call; anonymous callers share one bucket per tool; the
//! per-principal limit is checked first.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::num::NonZeroU32;

use governor::Quota;
use mcp_rate_limit::RateLimitLayer;
use serde_json::Value;
use support::{post, send, stack, tool_call};

fn five_a_minute() -> Quota {
    Quota::per_minute(NonZeroU32::new(5).unwrap())
}

/// The text of a successful tool result.
fn result_text(body: &Value) -> &str {
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not a tool result: {body}"))
}

#[tokio::test]
async fn the_sixth_call_in_a_minute_is_refused_naming_the_tool_and_echo_still_works() {
    let limit = RateLimitLayer::per_second(NonZeroU32::new(100).unwrap())
        .tool("expensive_tool", five_a_minute())
        .unwrap();
    let service = stack(limit);

    for id in 1..=5 {
        let answer = send(
            &service,
            post(Some("alice"), &tool_call(id, "expensive_tool")),
        )
        .await;
        assert_eq!(answer.status, 200, "call {id}: {}", answer.body);
        assert_eq!(result_text(&answer.body), "expensive result");
    }

    let refused = send(
        &service,
        post(Some("alice"), &tool_call(6, "expensive_tool")),
    )
    .await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    // 5 a minute: the next call is admitted 12 s after the first.
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=12).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_eq!(refused.headers["content-type"], "application/json");
    assert_eq!(refused.body["id"], 6, "the request's id: {}", refused.body);
    let error = &refused.body["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("expensive_tool"),
        "the message names the tool: {error}"
    );
    assert_eq!(error["data"]["tool"], "expensive_tool");
    assert_eq!(error["data"]["retryAfterSeconds"], retry_after);
    let rejection = refused.rejection.unwrap();
    assert_eq!(
        (rejection.guard, rejection.reason),
        ("rate-limit", "tool_rate_limited")
    );

    // Another tool of the same caller is not counted against it.
    for id in 7..=12 {
        let echo = send(&service, post(Some("alice"), &tool_call(id, "echo"))).await;
        assert_eq!(echo.status, 200, "{}", echo.body);
        assert_eq!(result_text(&echo.body), format!("hello {id}"));
    }
    // Another caller has its own budget for the tool.
    let bob = send(
        &service,
        post(Some("bob"), &tool_call(13, "expensive_tool")),
    )
    .await;
    assert_eq!(bob.status, 200, "{}", bob.body);
    assert_eq!(result_text(&bob.body), "expensive result");
    // And alice is still refused.
    let again = send(
        &service,
        post(Some("alice"), &tool_call(14, "expensive_tool")),
    )
    .await;
    assert_eq!(again.status, 429);
}

#[tokio::test]
async fn each_call_in_a_batch_counts_against_the_tool() {
    let limit = RateLimitLayer::tools_only()
        .tool("expensive_tool", five_a_minute())
        .unwrap();
    let service = stack(limit);

    // Three calls in one batch (2025-03-26), and an echo that is not counted.
    let batch = Value::Array(vec![
        tool_call(1, "expensive_tool"),
        tool_call(2, "echo"),
        tool_call(3, "expensive_tool"),
        tool_call(4, "expensive_tool"),
    ]);
    let answer = send(&service, post(Some("carol"), &batch)).await;
    assert!(
        answer.rejection.is_none(),
        "the batch was within the limit: {} {}",
        answer.status,
        answer.body
    );

    // Two of five left.
    for id in 5..=6 {
        let answer = send(
            &service,
            post(Some("carol"), &tool_call(id, "expensive_tool")),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let refused = send(
        &service,
        post(Some("carol"), &tool_call(7, "expensive_tool")),
    )
    .await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["data"]["tool"], "expensive_tool");

    // A batch with more calls of the tool than its limit admits at once can
    // never pass: refused, with no Retry-After that would not help.
    let too_many = Value::Array((10..16).map(|id| tool_call(id, "expensive_tool")).collect());
    let refused = send(&service, post(Some("dave"), &too_many)).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.headers.get("retry-after").is_none());
    assert_eq!(refused.body["error"]["data"]["callsInBatch"], 6);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("smaller batches"),
        "{}",
        refused.body
    );
    // The refused batch spent nothing of dave's budget.
    let answer = send(
        &service,
        post(Some("dave"), &tool_call(20, "expensive_tool")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn anonymous_calls_share_one_bucket_per_tool() {
    let limit = RateLimitLayer::tools_only()
        .tool("expensive_tool", five_a_minute())
        .unwrap();
    let service = stack(limit);

    for id in 1..=5 {
        let answer = send(&service, post(None, &tool_call(id, "expensive_tool"))).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let refused = send(&service, post(None, &tool_call(6, "expensive_tool"))).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anonymous callers"),
        "{}",
        refused.body
    );
    // An authenticated caller is not in the anonymous bucket.
    let alice = send(
        &service,
        post(Some("alice"), &tool_call(7, "expensive_tool")),
    )
    .await;
    assert_eq!(alice.status, 200, "{}", alice.body);
    // Anonymous calls of other tools are not counted.
    let echo = send(&service, post(None, &tool_call(8, "echo"))).await;
    assert_eq!(echo.status, 200, "{}", echo.body);
}

#[tokio::test]
async fn the_per_principal_limit_is_checked_before_the_tools() {
    // Three requests at once per caller; the tool two a minute.
    let limit = RateLimitLayer::per_second(NonZeroU32::MIN)
        .burst(NonZeroU32::new(3).unwrap())
        .tool(
            "expensive_tool",
            Quota::per_minute(NonZeroU32::new(2).unwrap()),
        )
        .unwrap();
    let service = stack(limit);

    let statuses = async |caller, calls: &[(u64, &str)]| {
        let mut statuses = Vec::new();
        for (id, tool) in calls {
            let answer = send(&service, post(Some(caller), &tool_call(*id, tool))).await;
            statuses.push((answer.status, answer.rejection.map(|r| r.reason)));
        }
        statuses
    };
    // The tool's third call is refused by the tool's limit, and has spent a
    // per-principal token: the echo after it is refused by the caller's limit.
    let calls = [
        (1, "expensive_tool"),
        (2, "expensive_tool"),
        (3, "expensive_tool"),
        (4, "echo"),
    ];
    assert_eq!(
        statuses("erin", &calls).await,
        [
            (200, None),
            (200, None),
            (429, Some("tool_rate_limited")),
            (429, Some("rate_limited"))
        ]
    );
    // A call the caller's limit refuses spends nothing of the tool's budget.
    let calls = [(1, "echo"), (2, "echo"), (3, "echo"), (4, "expensive_tool")];
    assert_eq!(
        statuses("frank", &calls).await,
        [
            (200, None),
            (200, None),
            (200, None),
            (429, Some("rate_limited"))
        ]
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let calls = [(5, "expensive_tool"), (6, "expensive_tool")];
    assert_eq!(
        statuses("frank", &calls).await,
        [(200, None), (429, Some("rate_limited"))],
        "one token back a second; the tool's budget was untouched"
    );
}
