//! Browsers discover how to authenticate by reading the RFC 9728 metadata
//! document cross-origin: through the guard and the preset, any origin may
//! `GET` it (no credentials), while the MCP endpoint stays restricted.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_cors_preset::McpCorsLayer;
use mcp_origin_guard::OriginGuardLayer;
use tower::{Service, ServiceBuilder, ServiceExt};

const METADATA: &str = "/.well-known/oauth-protected-resource/mcp";
const FOREIGN: &str = "https://inspector.example";

async fn send(
    method: Method,
    path: &str,
    extra: &[(&str, &str)],
) -> Response<mcp_guard_core::GuardBody<Full<Bytes>>> {
    let handler = tower::service_fn(|request: Request<Full<Bytes>>| async move {
        let body = format!(r#"{{"served":"{}"}}"#, request.uri().path());
        Ok::<_, Infallible>(Response::new(Full::from(body)))
    });
    // A service that must be polled ready before each call, as a real stack has.
    let service = ServiceBuilder::new()
        .layer(OriginGuardLayer::localhost())
        .layer(McpCorsLayer::localhost())
        .buffer(4)
        .service(handler);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost:8080")
        .header("origin", FOREIGN);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    service
        .oneshot(request.body(Full::default()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn any_origin_may_get_the_metadata_document() {
    let response = send(Method::GET, METADATA, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, format!(r#"{{"served":"{METADATA}"}}"#));
}

#[tokio::test]
async fn a_metadata_preflight_grants_get_and_the_version_header_only() {
    let response = send(
        Method::OPTIONS,
        METADATA,
        &[
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "mcp-protocol-version"),
        ],
    )
    .await;
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["access-control-allow-methods"], "GET");
    assert_eq!(
        response.headers()["access-control-allow-headers"],
        "mcp-protocol-version"
    );
}

#[tokio::test]
async fn the_mcp_endpoint_is_still_closed_to_that_origin() {
    let response = send(Method::POST, "/mcp", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn metadata_and_mcp_requests_alternate_on_one_service() {
    // The preset swaps its polled-ready inner service between its two policies;
    // calls through one clone must keep working in any order.
    let handler = tower::service_fn(|request: Request<Full<Bytes>>| async move {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(
            request.uri().path().to_owned(),
        )))
    });
    let mut service = ServiceBuilder::new()
        .layer(McpCorsLayer::localhost())
        .buffer(1)
        .service(handler);
    for path in [METADATA, "/mcp", METADATA, METADATA, "/mcp", "/mcp"] {
        let request = Request::get(path)
            .header("origin", "http://localhost:5173")
            .body(Full::default())
            .unwrap();
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        let expected_origin = if path == METADATA {
            "*"
        } else {
            "http://localhost:5173"
        };
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            expected_origin
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, path);
    }
}
