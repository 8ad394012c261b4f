//! `OriginGuardLayer::disabled()`: the same service type as an enabled guard,
//! and a request the enabled guard refuses reaches the handler unchanged, its
//! response comes back unchanged, and nothing is logged.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::Rejection;
use mcp_guard_test_support::logs::Logs;
use mcp_origin_guard::{OriginGuard, OriginGuardLayer};
use tower::{Layer, ServiceExt};

mod support;
use support::{REACHED, handler, request};

/// A rebinding request: the attacker's name in Host and Origin.
fn rebinding() -> Request<Full<Bytes>> {
    request(
        Some("attacker.example:8080"),
        Some("http://attacker.example:8080"),
    )
    .header("x-trace", "kept")
    .body(Full::from(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
    ))
    .unwrap()
}

#[tokio::test]
async fn a_request_the_enabled_guard_refuses_reaches_the_handler_unchanged() {
    let enabled = OriginGuardLayer::localhost();
    let disabled = OriginGuardLayer::disabled();
    assert!(enabled.is_enabled());
    assert!(!disabled.is_enabled());

    // One type: a configuration can pick either without changing the stack.
    let services: [OriginGuard<support::Handler>; 2] =
        [enabled.layer(handler()), disabled.layer(handler())];
    let [on, off] = services;

    let logs = Logs::default();
    let _capture = logs.capture();
    // The handler sees exactly what the client sent.
    let echo = tower::service_fn(|request: Request<Full<Bytes>>| async move {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let seen = format!(
            "{} {} host={:?} origin={:?} x-trace={:?} body={}",
            parts.method,
            parts.uri,
            parts.headers["host"],
            parts.headers["origin"],
            parts.headers["x-trace"],
            String::from_utf8_lossy(&body)
        );
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(seen))))
    });
    let response = disabled.layer(echo).oneshot(rebinding()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        seen,
        "POST /mcp host=\"attacker.example:8080\" origin=\"http://attacker.example:8080\" \
         x-trace=\"kept\" body={\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"
    );
    let passed = off.oneshot(rebinding()).await.unwrap();
    assert_eq!(
        passed.into_body().collect().await.unwrap().to_bytes(),
        REACHED
    );
    assert_eq!(logs.text(), "", "a disabled guard logs nothing");

    // The enabled guard refuses it, and the capture sees its log line.
    let refused = on.oneshot(rebinding()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(logs.text().contains("rejected"), "{}", logs.text());
}

#[tokio::test]
async fn the_handlers_own_403_passes_unchanged_and_unlogged() {
    // The enabled guard warns about a bare 403 from the handler (rmcp's own
    // Host check); a disabled one watches nothing.
    let forbidding = tower::service_fn(|_: Request<Full<Bytes>>| async {
        let mut response = Response::new(Full::new(Bytes::from_static(b"Forbidden")));
        *response.status_mut() = StatusCode::FORBIDDEN;
        response
            .headers_mut()
            .insert("x-from", "handler".parse().unwrap());
        Ok::<_, Infallible>(response)
    });
    let logs = Logs::default();
    let _capture = logs.capture();
    let local = request(Some("localhost:8080"), None)
        .body(Full::default())
        .unwrap();
    let response = OriginGuardLayer::disabled()
        .layer(forbidding)
        .oneshot(local)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["x-from"], "handler");
    assert_eq!(response.extensions().get::<Rejection>(), None);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "Forbidden"
    );
    assert_eq!(logs.text(), "");
}

#[tokio::test]
async fn setters_leave_a_disabled_guard_disabled() {
    let layer = OriginGuardLayer::disabled()
        .public_metadata_from_any_origin(false)
        .host_rejection_status(mcp_origin_guard::HostRejectionStatus::MisdirectedRequest);
    assert!(!layer.is_enabled());
    assert!(layer.allowlist().is_none());
    assert!(OriginGuardLayer::localhost().allowlist().is_some());
    let stranger = request(Some("attacker.example"), None)
        .body(Full::default())
        .unwrap();
    let response = layer.layer(handler()).oneshot(stranger).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
