//! A scope policy reads the JSON-RPC body to know which tool a call reaches.
//! A body it cannot read (invalid UTF-8, compressed bytes, duplicated
//! members) or a message that is neither request, notification nor response
//! must not fall back to the endpoint's scopes: that let a token without a
//! tool's scope reach the handler with a body a lenient parser downstream
//! reads as that tool's call. Such a POST needs every scope the policy names,
//! whether or not the protocol guard stands in front.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy};
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use serde_json::{Value, json};
use support::{ISSUER, RESOURCE};
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";

fn token(scope: &str) -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": scope,
                        "exp": unix_now() + 3600});
    hs256_token(&claims, SECRET)
}

/// Status and body of a POST of `body` with a token holding `scope`, and
/// whether the handler saw it.
async fn post(body: &'static [u8], scope: &str) -> (u16, Value, bool) {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let policy = ScopePolicy::new()
        .require(["mcp"])
        .require_for_tool("delete_everything", ["mcp:admin"])
        .require_for_method("resources/read", ["files:read"]);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let service =
        BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
            .policy(policy)
            .build()
            .layer(tower::service_fn(move |_request: Request<_>| {
                seen.fetch_add(1, Ordering::SeqCst);
                async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
                    ))))
                }
            }));
    let request = Request::post("/mcp")
        .header("authorization", format!("Bearer {}", token(scope)))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json, calls.load(Ordering::SeqCst) == 1)
}

const UNREADABLE: [&[u8]; 5] = [
    // Invalid UTF-8 inside the tool name.
    b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"delete_everything\xff\"}}",
    // gzip magic: a compressed body.
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
    // The name twice: parsers disagree on which one wins.
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_everything"}}"#,
    // A capital M: no method the policy can see.
    br#"{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"delete_everything"}}"#,
    // An id with neither method, result nor error.
    br#"{"jsonrpc":"2.0","id":1,"params":{"name":"delete_everything"}}"#,
];

#[tokio::test]
async fn an_unreadable_body_needs_every_scope_the_policy_names() {
    for body in UNREADABLE {
        let (status, json, reached) = post(body, "mcp").await;
        let shown = String::from_utf8_lossy(body);
        assert_eq!(status, 403, "{shown}: {json}");
        assert!(!reached, "{shown} reached the handler");
        let message = json["error"]["message"].as_str().unwrap_or_default();
        for scope in ["mcp:admin", "files:read"] {
            assert!(message.contains(scope), "{shown}: names {scope}: {json}");
        }
    }
}

#[tokio::test]
async fn a_token_with_every_scope_passes_an_unreadable_body_to_the_handler() {
    for body in UNREADABLE {
        let (status, json, reached) = post(body, "mcp mcp:admin files:read").await;
        let shown = String::from_utf8_lossy(body);
        assert_eq!(status, 200, "{shown}: {json}");
        assert!(reached, "{shown}");
    }
}

#[tokio::test]
async fn readable_calls_and_responses_still_need_only_their_own_scopes() {
    for body in [
        &br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#[..],
        br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    ] {
        let (status, json, reached) = post(body, "mcp").await;
        assert_eq!(status, 200, "{}: {json}", String::from_utf8_lossy(body));
        assert!(reached);
    }
    let (status, _, reached) = post(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_everything"}}"#,
        "mcp",
    )
    .await;
    assert_eq!((status, reached), (403, false));
}
