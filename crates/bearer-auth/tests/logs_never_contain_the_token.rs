//! What the layer logs names the rejection and the caller, never the token.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_core::GuardBody;
use serde_json::json;
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const RESOURCE: &str = "https://mcp.example.com/mcp";

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn token(exp_offset: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({"iss": "https://auth.example.com", "aud": RESOURCE, "sub": "erin", "client_id": "cli", "exp": now + exp_offset});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn rejections_and_successes_log_no_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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
            .body(Full::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            ))
            .unwrap();
        let response = layer.clone().layer(handler).oneshot(request).await.unwrap();
        assert_eq!(response.status(), expected);
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
