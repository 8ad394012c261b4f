//! `McpCorsLayer::disabled()`: the same service type as an enabled preset; it
//! adds no CORS headers and answers no preflight: every request, `OPTIONS`
//! included, reaches the handler unchanged and its response comes back as is.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_cors_preset::{McpCors, McpCorsLayer};
use mcp_guard_core::Rejection;
use tower::{Layer, ServiceExt};

mod support;
use support::{handler, preflight_request};

/// A handler telling what it received: method, path, and every header.
fn echo() -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(|request: Request<Full<Bytes>>| async move {
        let mut seen = format!("{} {}", request.method(), request.uri());
        for (name, value) in request.headers() {
            seen.push_str(&format!("\n{name}: {}", value.to_str().unwrap()));
        }
        let mut response = Response::new(Full::new(Bytes::from(seen)));
        response
            .headers_mut()
            .insert("x-from", "handler".parse().unwrap());
        Ok::<_, Infallible>(response)
    })
}

fn has_cors_headers(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|name| name.as_str().starts_with("access-control-"))
}

#[tokio::test]
async fn a_preflight_the_enabled_preset_answers_reaches_the_handler() {
    let enabled = McpCorsLayer::localhost();
    let disabled = McpCorsLayer::disabled();
    assert!(enabled.is_enabled());
    assert!(!disabled.is_enabled());
    // One type: a configuration can pick either without changing the stack.
    let [on, off]: [McpCors<support::Handler>; 2] =
        [enabled.layer(handler()), disabled.layer(handler())];

    let preflight = || {
        preflight_request("http://localhost:5173", "content-type,x-internal-admin")
            .body(Full::default())
            .unwrap()
    };
    // Enabled: answered by CORS, granting only what MCP needs.
    let answered = on.oneshot(preflight()).await.unwrap();
    assert_eq!(
        answered.headers()["access-control-allow-headers"],
        "content-type"
    );
    // Disabled: the handler's own answer, untouched.
    let passed = off.oneshot(preflight()).await.unwrap();
    assert_eq!(passed.status(), StatusCode::OK);
    assert!(
        !has_cors_headers(passed.headers()),
        "{:?}",
        passed.headers()
    );
    assert!(passed.headers().get("vary").is_none());

    let response = McpCorsLayer::disabled()
        .layer(echo())
        .oneshot(preflight())
        .await
        .unwrap();
    assert_eq!(response.headers()["x-from"], "handler");
    assert_eq!(response.extensions().get::<Rejection>(), None);
    let seen = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        seen,
        "OPTIONS /mcp\norigin: http://localhost:5173\naccess-control-request-method: POST\n\
         access-control-request-headers: content-type,x-internal-admin"
    );
}

#[tokio::test]
async fn a_refused_origin_gets_no_refusal_and_a_cross_origin_get_no_headers() {
    let disabled = McpCorsLayer::disabled();
    // The enabled preset marks this preflight refused (origin_not_allowed).
    let refused = preflight_request("https://evil.example", "content-type")
        .body(Full::default())
        .unwrap();
    let response = disabled.layer(echo()).oneshot(refused).await.unwrap();
    assert_eq!(response.headers()["x-from"], "handler");
    assert_eq!(response.extensions().get::<Rejection>(), None);
    assert!(!has_cors_headers(response.headers()));

    for (method, path) in [
        ("GET", "/mcp"),
        ("POST", "/mcp"),
        ("GET", "/.well-known/oauth-protected-resource/mcp"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("origin", "http://localhost:5173")
            .body(Full::default())
            .unwrap();
        let response = disabled.layer(echo()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-from"], "handler");
        assert!(
            !has_cors_headers(response.headers()),
            "{method} {path}: {:?}",
            response.headers()
        );
        assert!(response.headers().get("vary").is_none());
    }
}
