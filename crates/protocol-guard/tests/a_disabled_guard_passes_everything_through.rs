//! `ProtocolGuardLayer::disabled()`: the same service type as an enabled
//! guard; a request the enabled guard refuses reaches the handler unchanged
//! (body byte for byte, headers as sent, no extensions written), the
//! handler's response comes back unchanged, and nothing is logged.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::Rejection;
use mcp_guard_core::{Era, GuardBody, ProtocolVersion, RpcEnvelope};
use mcp_guard_test_support::logs::Logs;
use mcp_protocol_guard::{ProtocolGuard, ProtocolGuardLayer};
use tower::{Layer, ServiceExt};

mod support;
use support::{V_NEW, request_with};

/// A `tools/list` result announcing an annotated parameter: an enabled guard
/// would learn from it.
const TOOLS_LIST_RESULT: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"dispatch","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}}]}}"#;

/// A handler telling what it received: method, path, headers, which of the
/// guard's extensions it found, and the body; it answers with a `tools/list`
/// result in its own headers.
async fn echo(
    request: Request<GuardBody<Full<Bytes>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let mut seen = format!("{} {}", parts.method, parts.uri);
    for (name, value) in &parts.headers {
        seen.push_str(&format!("\n{name}: {}", value.to_str().unwrap()));
    }
    let extensions = [
        parts.extensions.get::<ProtocolVersion>().is_some(),
        parts.extensions.get::<Era>().is_some(),
        parts.extensions.get::<RpcEnvelope>().is_some(),
    ];
    seen.push_str(&format!("\nextensions: {extensions:?}"));
    let body = body.collect().await.unwrap().to_bytes();
    seen.push_str(&format!("\nbody: {}", String::from_utf8_lossy(&body)));
    let response = Response::builder()
        .header("content-type", "application/json")
        .header("x-seen", seen.replace('\n', " | "))
        .body(Full::from(TOOLS_LIST_RESULT))
        .unwrap();
    Ok(response)
}

#[tokio::test]
async fn a_request_the_enabled_guard_refuses_reaches_the_handler_unchanged() {
    let enabled = ProtocolGuardLayer::new();
    let disabled = ProtocolGuardLayer::disabled();
    assert!(enabled.is_enabled());
    assert!(!disabled.is_enabled());
    let handler = tower::service_fn(echo);
    // One type: a configuration can pick either without changing the stack.
    let [on, off]: [ProtocolGuard<_>; 2] = [enabled.layer(handler), disabled.layer(handler)];

    // A stateless-era call whose routing header names another tool than the
    // body calls, and whose Accept does not admit SSE.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{}}}"#;
    let request = || {
        request_with(
            Method::POST,
            "/mcp",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
                ("mcp-protocol-version", V_NEW),
                ("mcp-method", "tools/call"),
                ("mcp-name", "read_file"),
            ],
        )
        .body(Full::from(body))
        .unwrap()
    };
    let logs = Logs::default();
    let _capture = logs.capture();
    let response = off.oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.extensions().get::<Rejection>(), None);
    assert_eq!(
        response.headers()["x-seen"],
        format!(
            "POST /mcp | content-type: application/json | accept: application/json \
             | mcp-protocol-version: {V_NEW} | mcp-method: tools/call | mcp-name: read_file \
             | extensions: [false, false, false] | body: {body}"
        )
    );
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        TOOLS_LIST_RESULT
    );
    assert_eq!(logs.text(), "", "a disabled guard logs nothing");

    // The enabled guard refuses it, and the capture sees its log line.
    assert_eq!(
        on.oneshot(request()).await.unwrap().status(),
        StatusCode::NOT_ACCEPTABLE
    );
    assert!(logs.text().contains("rejected"), "{}", logs.text());
}

#[tokio::test]
async fn other_methods_and_metadata_reads_pass_as_sent() {
    let disabled = ProtocolGuardLayer::disabled();
    let logs = Logs::default();
    let _capture = logs.capture();
    // PUT is a 405 and a metadata read loses its session headers when the
    // guard is on; off, both reach the handler as sent.
    for (method, uri) in [
        (Method::PUT, "/mcp"),
        (Method::GET, "/.well-known/oauth-protected-resource/mcp"),
    ] {
        let request = request_with(method.clone(), uri, &[("mcp-session-id", "s-1")])
            .body(Full::default())
            .unwrap();
        let response = disabled
            .layer(tower::service_fn(echo))
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method} {uri}");
        assert_eq!(
            response.headers()["x-seen"],
            format!(
                "{method} {uri} | mcp-session-id: s-1 | extensions: [false, false, false] | body: "
            ),
        );
    }
    assert_eq!(logs.text(), "");
}
