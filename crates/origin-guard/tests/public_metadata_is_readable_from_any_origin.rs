//! The RFC 9728 metadata document is public: any web page may read it, so that a
//! browser client can learn how to authenticate. Everything else stays guarded,
//! and Host is checked on every path. `allow_any_origin` opens Origin (not Host).

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use http::{Method, Request, StatusCode};
use http_body_util::Full;
use mcp_origin_guard::{Allowlist, OriginGuardLayer};
use tower::{Layer, ServiceExt};

mod support;

async fn status(
    layer: &OriginGuardLayer,
    method: Method,
    path: &str,
    host: &str,
    origin: &str,
) -> StatusCode {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("origin", origin)
        .body(Full::default())
        .unwrap();
    layer
        .layer(support::handler())
        .oneshot(request)
        .await
        .unwrap()
        .status()
}

const METADATA: &str = "/.well-known/oauth-protected-resource/mcp";
const FOREIGN: &str = "https://inspector.example";

#[tokio::test]
async fn a_foreign_origin_reads_the_metadata_document() {
    let guard = OriginGuardLayer::localhost();
    for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
        assert_eq!(
            status(&guard, method.clone(), METADATA, "localhost:8080", FOREIGN).await,
            StatusCode::OK,
            "{method}"
        );
    }
    assert_eq!(
        status(
            &guard,
            Method::GET,
            "/.well-known/oauth-protected-resource",
            "localhost:8080",
            FOREIGN
        )
        .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_foreign_origin_is_still_refused_everywhere_else() {
    let guard = OriginGuardLayer::localhost();
    assert_eq!(
        status(&guard, Method::POST, METADATA, "localhost:8080", FOREIGN).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(&guard, Method::GET, "/mcp", "localhost:8080", FOREIGN).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            &guard,
            Method::GET,
            "/.well-known/oauth-protected-resourcex",
            "localhost:8080",
            FOREIGN
        )
        .await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_metadata_path_still_needs_an_allowed_host() {
    let guard = OriginGuardLayer::localhost();
    assert_eq!(
        status(
            &guard,
            Method::GET,
            METADATA,
            "attacker.example:8080",
            "http://attacker.example:8080"
        )
        .await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_exemption_can_be_switched_off() {
    let guard = OriginGuardLayer::localhost().public_metadata_from_any_origin(false);
    assert_eq!(
        status(&guard, Method::GET, METADATA, "localhost:8080", FOREIGN).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn allow_any_origin_opens_origin_but_not_host() {
    let allowlist = Allowlist::builder()
        .allow_public_url("https://mcp.example.com")
        .allow_any_origin(true)
        .build()
        .unwrap();
    assert!(allowlist.allows_any_origin());
    let guard = OriginGuardLayer::new(allowlist);
    assert_eq!(
        status(&guard, Method::POST, "/mcp", "mcp.example.com", FOREIGN).await,
        StatusCode::OK
    );
    assert_eq!(
        status(
            &guard,
            Method::POST,
            "/mcp",
            "attacker.example",
            "https://attacker.example"
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // Still parsed: a malformed origin is no origin at all.
    assert_eq!(
        status(
            &guard,
            Method::POST,
            "/mcp",
            "mcp.example.com",
            "https://a.example/path"
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // And `null` still needs its own switch.
    assert_eq!(
        status(&guard, Method::POST, "/mcp", "mcp.example.com", "null").await,
        StatusCode::FORBIDDEN
    );
}
