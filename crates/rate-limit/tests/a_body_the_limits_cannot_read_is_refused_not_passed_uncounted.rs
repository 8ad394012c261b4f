//! A POST whose envelope core cannot read (`RpcEnvelope::Unparsable`: a
//! duplicated member, a member of the wrong type, a `null` id, invalid JSON)
//! names no tool the per-tool limits could count. Passing it would let a
//! client call a limited tool without limit: a handler that keeps the last
//! of two `"name"` members runs the tool the limits never saw. So with
//! per-tool limits such a body is refused (`400`, JSON-RPC parse error, id
//! `null` since none could be read), whether the layer read the body itself,
//! found it read by an envelope peek, or counts in Redis. Without per-tool
//! limits the layer reads no body and refuses nothing, as before.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;
use std::num::NonZeroU32;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, GuardBody, error_code};
use mcp_rate_limit::{Quota, RateLimitLayer};
use serde_json::{Value, json};
use support::{Answer, post, send, stack, tool_call};
use tower::{Layer, ServiceBuilder, ServiceExt};

/// A call of `expensive_tool` that core's parser cannot read: `params.name`
/// appears twice, and a handler keeping the last one runs `expensive_tool`.
fn duplicated_name(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"x","name":"expensive_tool","arguments":{{}}}}}}"#
    )
}

/// Bodies core marks unparsable for other reasons.
const OTHER_UNREADABLE_BODIES: [&str; 4] = [
    // `params.name` of the wrong type.
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["expensive_tool"]}}"#,
    // A null id.
    r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"expensive_tool"}}"#,
    // Not JSON.
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"expensive_tool""#,
    // An empty body.
    "",
];

fn two_a_minute() -> RateLimitLayer {
    RateLimitLayer::tools_only()
        .tool(
            "expensive_tool",
            Quota::per_minute(NonZeroU32::new(2).unwrap()),
        )
        .unwrap()
}

/// `body` posted as `caller`, with the headers of a legacy-era client.
fn post_raw(caller: Option<&str>, body: String) -> Request<Full<Bytes>> {
    let (parts, _) = post(caller, &Value::Null).into_parts();
    Request::from_parts(parts, Full::new(Bytes::from(body)))
}

fn assert_refused_as_unreadable(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 400, "{what}: {}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json", "{what}");
    assert_eq!(answer.body["jsonrpc"], "2.0", "{what}: {}", answer.body);
    assert_eq!(
        answer.body.get("id"),
        Some(&Value::Null),
        "{what}: the id is null: {}",
        answer.body
    );
    assert_eq!(
        answer.body["error"]["code"],
        error_code::PARSE_ERROR,
        "{what}: {}",
        answer.body
    );
    let message = answer.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("duplicated member") && message.contains("send one"),
        "{what}: the message says what to fix: {message}"
    );
    let rejection = answer.rejection.expect("a Rejection extension");
    assert_eq!(
        (rejection.guard, rejection.reason),
        ("rate-limit", "parse_error"),
        "{what}"
    );
}

#[tokio::test]
async fn used_alone_a_duplicated_tool_name_is_refused_every_time() {
    let server = stack(two_a_minute());
    for id in 1..=5 {
        let answer = send(&server, post_raw(Some("alice"), duplicated_name(id))).await;
        assert_refused_as_unreadable(&answer, &format!("call {id}"));
    }
    // The refusals spent nothing: the caller's two calls are still there.
    for id in 6..=7 {
        let answer = send(
            &server,
            post(Some("alice"), &tool_call(id, "expensive_tool")),
        )
        .await;
        assert_eq!(answer.status, 200, "call {id}: {}", answer.body);
        assert_eq!(answer.body["id"], id, "{}", answer.body);
        assert!(answer.body.get("result").is_some(), "{}", answer.body);
    }
    let answer = send(
        &server,
        post(Some("alice"), &tool_call(8, "expensive_tool")),
    )
    .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
}

#[tokio::test]
async fn anonymous_callers_are_refused_too() {
    let server = stack(two_a_minute());
    for id in 1..=5 {
        let answer = send(&server, post_raw(None, duplicated_name(id))).await;
        assert_refused_as_unreadable(&answer, &format!("anonymous call {id}"));
    }
}

#[tokio::test]
async fn every_kind_of_unreadable_body_is_refused() {
    let server = stack(two_a_minute());
    for body in OTHER_UNREADABLE_BODIES {
        let answer = send(&server, post_raw(Some("alice"), body.to_owned())).await;
        assert_refused_as_unreadable(&answer, body);
    }
}

#[tokio::test]
async fn behind_an_envelope_peek_the_peeked_envelope_decides() {
    // As in a preset: the stack's one envelope peek reads the body first.
    let server = ServiceBuilder::new()
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .map_request(support::principal_from_bearer)
        .layer(two_a_minute())
        .service(support::rmcp_server());
    for id in 1..=5 {
        let answer = send(&server, post_raw(Some("alice"), duplicated_name(id))).await;
        assert_refused_as_unreadable(&answer, &format!("peeked call {id}"));
    }
    let answer = send(
        &server,
        post(Some("alice"), &tool_call(6, "expensive_tool")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Answers with whether a layer read the body, and echoes it.
async fn report(
    request: Request<GuardBody<Full<Bytes>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let read_by_the_layer = request.body().is_full();
    let bytes = request.into_body().collect().await.unwrap().to_bytes();
    let mut response = Response::new(Full::new(bytes));
    response.extensions_mut().insert(read_by_the_layer);
    Ok(response)
}

#[tokio::test]
async fn without_tool_limits_nothing_is_read_and_nothing_refused() {
    let per_principal = RateLimitLayer::per_second(NonZeroU32::new(100).unwrap());
    let service = per_principal.layer(tower::service_fn(report));
    for id in 1..=5 {
        let body = duplicated_name(id);
        let response = service
            .clone()
            .oneshot(support::principal_from_bearer(post_raw(
                Some("alice"),
                body.clone(),
            )))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "call {id}");
        assert_eq!(
            response.extensions().get::<bool>(),
            Some(&false),
            "the body was not read"
        );
        let echoed = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(echoed, body, "the handler got the body unchanged");
    }
}

#[tokio::test]
async fn a_well_formed_call_still_passes_with_its_id() {
    // The refusal is for what core cannot read, not for what it can.
    let server = stack(two_a_minute());
    let call = json!({
        "jsonrpc": "2.0", "id": "a-1", "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}},
    });
    let answer = send(&server, post(Some("alice"), &call)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["id"], "a-1");
}

/// With the per-tool limits counted in Redis the same body is refused
/// before Redis is asked.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_in_redis_a_duplicated_tool_name_is_refused_every_time() {
    use mcp_guard_core::redis::RedisConfig;
    use mcp_guard_test_support::RedisServer;

    let redis = RedisServer::start();
    let connection = RedisConfig::new(redis.url())
        .key_prefix("unreadable:")
        .connect()
        .await
        .unwrap();
    let server = stack(two_a_minute().tool_limits_in_redis(connection));
    for id in 1..=5 {
        let answer = send(&server, post_raw(Some("alice"), duplicated_name(id))).await;
        assert_refused_as_unreadable(&answer, &format!("redis call {id}"));
    }
    for id in 6..=7 {
        let answer = send(
            &server,
            post(Some("alice"), &tool_call(id, "expensive_tool")),
        )
        .await;
        assert_eq!(answer.status, 200, "call {id}: {}", answer.body);
    }
    let answer = send(
        &server,
        post(Some("alice"), &tool_call(8, "expensive_tool")),
    )
    .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
}
