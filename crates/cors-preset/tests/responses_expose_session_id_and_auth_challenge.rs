//! Actual (non-preflight) responses carry the CORS grant and expose the MCP
//! response headers, including responses produced by an inner layer such as a
//! `401` auth challenge, so the browser can read them.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_cors_preset::McpCorsLayer;
use mcp_origin_guard::{Allowlist, OriginGuardLayer};
use tower::{ServiceBuilder, ServiceExt};

mod support;
use support::header_list;

fn exposed(headers: &HeaderMap) -> Vec<String> {
    header_list(headers, "access-control-expose-headers")
}

async fn post(
    cors: McpCorsLayer,
    answer: fn() -> Response<Full<Bytes>>,
) -> Response<mcp_guard_core::GuardBody<Full<Bytes>>> {
    let handler =
        tower::service_fn(
            move |_: Request<Full<Bytes>>| async move { Ok::<_, Infallible>(answer()) },
        );
    let service = ServiceBuilder::new()
        .layer(OriginGuardLayer::localhost())
        .layer(cors)
        .service(handler);
    let request = Request::post("/mcp")
        .header("host", "localhost:8080")
        .header("origin", "http://localhost:5173")
        .header("content-type", "application/json")
        .body(Full::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        ))
        .unwrap();
    service.oneshot(request).await.unwrap()
}

fn initialize_result() -> Response<Full<Bytes>> {
    Response::builder()
        .header("content-type", "application/json")
        .header("mcp-session-id", "7c1e0f3a")
        .body(Full::from(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#))
        .unwrap()
}

/// What an auth layer inside CORS answers to a request without a token.
fn auth_challenge() -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(
            "www-authenticate",
            r#"Bearer resource_metadata="http://localhost:8080/.well-known/oauth-protected-resource/mcp", scope="mcp:tools""#,
        )
        .body(Full::from(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"no token"}}"#))
        .unwrap()
}

#[tokio::test]
async fn a_post_response_exposes_the_session_id_version_and_challenge_headers() {
    let response = post(McpCorsLayer::localhost(), initialize_result).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let exposed = exposed(response.headers());
    for name in ["mcp-session-id", "mcp-protocol-version", "www-authenticate"] {
        assert!(
            exposed.contains(&name.to_owned()),
            "{name} not exposed: {exposed:?}"
        );
    }
    assert_eq!(response.headers()["mcp-session-id"], "7c1e0f3a");
    let vary: Vec<_> = response.headers().get_all("vary").iter().collect();
    assert!(!vary.is_empty(), "an origin-dependent answer needs Vary");
}

#[tokio::test]
async fn a_401_from_an_inner_layer_still_carries_the_cors_headers() {
    let response = post(McpCorsLayer::localhost(), auth_challenge).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(exposed(response.headers()).contains(&"www-authenticate".to_owned()));
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
}

#[tokio::test]
async fn extra_exposed_headers_are_added_to_the_mcp_ones() {
    let cors = McpCorsLayer::builder(Allowlist::localhost())
        .expose_headers(["x-request-id"])
        .build()
        .unwrap();
    let exposed = exposed(post(cors, initialize_result).await.headers());
    assert!(exposed.contains(&"x-request-id".to_owned()));
    assert!(exposed.contains(&"mcp-session-id".to_owned()));
}

#[tokio::test]
async fn credentials_when_enabled_are_granted_with_the_mirrored_origin() {
    let cors = McpCorsLayer::builder(Allowlist::localhost())
        .allow_credentials(true)
        .build()
        .unwrap();
    let response = post(cors, initialize_result).await;
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
}
