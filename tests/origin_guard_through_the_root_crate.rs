//! The root crate's re-exports stack as a user writes them: `mcp_guard::origin_guard`
//! in front of an axum `Router`, rejections shaped by `mcp_guard::core`.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use axum::body::Body;
use axum::routing::post;
use http::{Request, StatusCode};
use mcp_guard::core::error_code;
use mcp_guard::origin_guard::{Allowlist, OriginGuardLayer};
use tower::ServiceExt;

fn app() -> axum::Router {
    let allowlist = Allowlist::builder()
        .allow_public_url("https://mcp.example.com/mcp")
        .build()
        .unwrap();
    axum::Router::new()
        .route("/mcp", post(|| async { "handled" }))
        .layer(OriginGuardLayer::new(allowlist))
}

async fn status_and_body(request: Request<Body>) -> (StatusCode, bytes::Bytes) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, body)
}

#[tokio::test]
async fn the_public_url_preset_admits_its_host_and_origin_only() {
    let allowed = Request::post("/mcp")
        .header("host", "MCP.example.com")
        .header("origin", "https://mcp.example.com:443")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        status_and_body(allowed).await,
        (StatusCode::OK, "handled".into())
    );

    let other_origin = Request::post("/mcp")
        .header("host", "mcp.example.com")
        .header("origin", "https://attacker.example")
        .body(Body::empty())
        .unwrap();
    let (status, body) = status_and_body(other_origin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], error_code::SERVER_ERROR);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("https://attacker.example")
    );
}
