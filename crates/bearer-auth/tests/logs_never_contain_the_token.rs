//! What the layer logs names the rejection and the caller, never the token.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_core::GuardBody;
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use mcp_guard_test_support::logs::Logs;
use serde_json::json;
use support::{RESOURCE, TOOLS_LIST};
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn token(exp_offset: i64) -> String {
    let claims = json!({"iss": "https://auth.example.com", "aud": RESOURCE, "sub": "erin", "client_id": "cli", "exp": unix_now() as i64 + exp_offset});
    hs256_token(&claims, SECRET)
}

#[tokio::test(flavor = "current_thread")]
async fn rejections_and_successes_log_no_token() {
    let captured = Logs::default();
    let _guard = captured.capture();

    let verifier = JwtVerifier::builder("https://auth.example.com", RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let layer = BearerAuthLayer::new(
        verifier,
        ProtectedResourceMetadata::new(RESOURCE, ["https://auth.example.com"]),
    );
    let handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
        tracing::info!("handler ran");
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let (valid, expired) = (token(600), token(-600));
    for (token, expected) in [
        (&valid, StatusCode::OK),
        (&expired, StatusCode::UNAUTHORIZED),
    ] {
        let request = Request::post("/mcp")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::from(TOOLS_LIST))
            .unwrap();
        let response = layer.clone().layer(handler).oneshot(request).await.unwrap();
        assert_eq!(response.status(), expected);
    }
    let logs = captured.text();
    assert!(
        logs.contains("bearer auth rejected a request"),
        "the rejection is logged: {logs}"
    );
    assert!(
        logs.contains("subject=\"erin\"") || logs.contains("subject=erin"),
        "the span names the subject: {logs}"
    );
    for token in [&valid, &expired] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            !logs.contains(signature),
            "a token reached the logs: {logs}"
        );
    }
}
