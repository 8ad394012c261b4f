//! Configurations browsers would refuse are errors from `build()`, with a
//! message naming the setting, never a panic when the layer is applied or called.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use mcp_cors_preset::{McpCorsConfigError, McpCorsLayer, McpCorsSetting};
use mcp_origin_guard::Allowlist;

mod support;

fn any_origin() -> Allowlist {
    Allowlist::builder()
        .allow_public_url("https://mcp.example.com")
        .allow_any_origin(true)
        .build()
        .unwrap()
}

#[test]
fn credentials_with_any_origin_is_refused() {
    let error = McpCorsLayer::builder(any_origin())
        .allow_credentials(true)
        .build()
        .unwrap_err();
    assert_eq!(error, McpCorsConfigError::CredentialsWithAnyOrigin);
    let message = error.to_string();
    assert!(
        message.contains("allow_credentials") && message.contains("allow_any_origin"),
        "{message}"
    );
}

#[test]
fn credentials_with_any_request_header_is_refused() {
    let error = McpCorsLayer::builder(Allowlist::localhost())
        .allow_any_request_header(true)
        .allow_credentials(true)
        .build()
        .unwrap_err();
    assert_eq!(error, McpCorsConfigError::CredentialsWithAnyRequestHeader);
    assert!(error.to_string().contains("allow_any_request_header"));
}

#[test]
fn a_wildcard_or_malformed_header_name_is_refused_with_its_setting() {
    let error = McpCorsLayer::builder(Allowlist::localhost())
        .allow_request_headers(["*"])
        .build()
        .unwrap_err();
    assert!(matches!(
        error,
        McpCorsConfigError::InvalidHeaderName {
            setting: McpCorsSetting::AllowRequestHeaders,
            ..
        }
    ));
    assert!(
        error.to_string().contains("allow_any_request_header"),
        "{error}"
    );

    let error = McpCorsLayer::builder(Allowlist::localhost())
        .expose_headers(["x request id"])
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("expose_headers: \"x request id\""),
        "{error}"
    );
}

#[tokio::test]
async fn any_origin_without_credentials_answers_a_wildcard() {
    use http::Request;
    use http_body_util::Full;
    use tower::{Layer, ServiceExt};

    let cors = McpCorsLayer::builder(any_origin()).build().unwrap();
    let request = Request::post("/mcp")
        .header("origin", "https://anyone.example")
        .body(Full::default())
        .unwrap();
    let response = cors
        .layer(support::handler())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}
