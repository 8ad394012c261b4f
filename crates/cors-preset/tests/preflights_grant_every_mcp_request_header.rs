//! Preflights through the origin guard and the CORS preset, stacked as
//! shared/DESIGN.md orders them: allowed origins get every MCP request header,
//! disallowed origins get nothing, and no preflight reaches the handler.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_cors_preset::McpCorsLayer;
use mcp_origin_guard::OriginGuardLayer;
use tower::{ServiceBuilder, ServiceExt};

mod support;
use support::{handler, header_list, preflight_request};

const EVERY_MCP_HEADER: &str = "content-type,accept,authorization,mcp-session-id,mcp-protocol-version,last-event-id,mcp-method,mcp-name,mcp-param-region";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    handler_calls: usize,
}

async fn preflight(cors: McpCorsLayer, origin: &str, requested_headers: &str) -> Answer {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let handler = tower::service_fn(move |_: Request<Full<Bytes>>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handler")))) }
    });
    let service = ServiceBuilder::new()
        .layer(OriginGuardLayer::localhost())
        .layer(cors)
        .service(handler);
    let request = preflight_request(origin, requested_headers)
        .header("host", "127.0.0.1:8080")
        .body(Full::default())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        handler_calls: calls.load(Ordering::SeqCst),
    }
}

#[tokio::test]
async fn an_allowed_origin_is_granted_every_mcp_request_header() {
    let answer = preflight(
        McpCorsLayer::localhost(),
        "http://localhost:5173",
        EVERY_MCP_HEADER,
    )
    .await;
    assert!(answer.status.is_success(), "{}", answer.status);
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let granted = header_list(&answer.headers, "access-control-allow-headers");
    for name in EVERY_MCP_HEADER.split(',') {
        assert!(
            granted.contains(&name.to_owned()),
            "{name} not granted: {granted:?}"
        );
    }
    let methods = header_list(&answer.headers, "access-control-allow-methods");
    for method in ["get", "post", "delete", "options"] {
        assert!(
            methods.contains(&method.to_owned()),
            "{method} not allowed: {methods:?}"
        );
    }
    assert_eq!(answer.headers["access-control-max-age"], "7200");
    assert!(
        answer
            .headers
            .get("access-control-allow-credentials")
            .is_none()
    );
    let vary = header_list(&answer.headers, "vary");
    // The answer depends on the origin and on the requested headers; the
    // allowed methods are constant, so tower-http rightly omits the method.
    for name in ["origin", "access-control-request-headers"] {
        assert!(
            vary.contains(&name.to_owned()),
            "Vary lacks {name}: {vary:?}"
        );
    }
    assert_eq!(
        answer.handler_calls, 0,
        "a preflight must not reach the handler"
    );
}

#[tokio::test]
async fn header_names_are_matched_case_insensitively() {
    let answer = preflight(
        McpCorsLayer::localhost(),
        "http://127.0.0.1:3000",
        "Mcp-Session-Id, MCP-Protocol-Version, Mcp-Param-Region",
    )
    .await;
    assert_eq!(
        header_list(&answer.headers, "access-control-allow-headers"),
        ["mcp-session-id", "mcp-protocol-version", "mcp-param-region"]
    );
}

#[tokio::test]
async fn a_non_mcp_header_is_not_granted() {
    let answer = preflight(
        McpCorsLayer::localhost(),
        "http://localhost:5173",
        "content-type,x-internal-admin",
    )
    .await;
    let granted = header_list(&answer.headers, "access-control-allow-headers");
    assert_eq!(granted, ["content-type"]);
}

#[tokio::test]
async fn extra_request_headers_are_granted_when_configured() {
    let cors = McpCorsLayer::builder(mcp_origin_guard::Allowlist::localhost())
        .allow_request_headers(["traceparent"])
        .build()
        .unwrap();
    let answer = preflight(
        cors,
        "http://localhost:5173",
        "traceparent,x-internal-admin",
    )
    .await;
    assert_eq!(
        header_list(&answer.headers, "access-control-allow-headers"),
        ["traceparent"]
    );
}

#[tokio::test]
async fn a_disallowed_origin_is_rejected_by_the_guard_before_cors() {
    let answer = preflight(
        McpCorsLayer::localhost(),
        "https://evil.example",
        EVERY_MCP_HEADER,
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    assert!(answer.headers.get("access-control-allow-headers").is_none());
    assert_eq!(answer.handler_calls, 0);
}

#[tokio::test]
async fn without_the_guard_a_disallowed_origin_still_gets_no_grant() {
    let service = ServiceBuilder::new()
        .layer(McpCorsLayer::localhost())
        .service(handler());
    let request = preflight_request("https://evil.example", EVERY_MCP_HEADER)
        .body(Full::default())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        response
            .headers()
            .get("access-control-allow-headers")
            .is_none()
    );
}

#[tokio::test]
async fn a_requested_header_list_that_is_not_ascii_grants_nothing() {
    let service = ServiceBuilder::new()
        .layer(McpCorsLayer::localhost())
        .service(handler());
    let request = preflight_request(
        "http://localhost:5173",
        http::HeaderValue::from_bytes(b"content-type,mcp-param-\xe9t\xe9").unwrap(),
    )
    .body(Full::default())
    .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        response
            .headers()
            .get("access-control-allow-headers")
            .is_none()
    );
}
