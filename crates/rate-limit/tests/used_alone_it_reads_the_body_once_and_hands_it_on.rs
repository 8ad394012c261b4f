//! Where the tool name comes from: behind an envelope peek the layer reads
//! the cached envelope and nothing else; used alone it reads the POST body
//! itself (bounded by its envelope limits) and hands the same bytes on, so a
//! per-tool limit never silently stops counting. Without per-tool limits it
//! reads nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;
use std::num::NonZeroU32;

use bytes::Bytes;
use governor::Quota;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, GuardBody, Rejection};
use mcp_rate_limit::RateLimitLayer;
use tower::{Layer, ServiceExt};

const CALL: &str = r#"{"jsonrpc":"2.0","id":"x-1","method":"tools/call","params":{"name":"expensive_tool","arguments":{"pad":"                "}}}"#;

fn call() -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .body(Full::new(Bytes::from_static(CALL.as_bytes())))
        .unwrap()
}

fn one_a_minute() -> RateLimitLayer {
    RateLimitLayer::tools_only()
        .tool("expensive_tool", Quota::per_minute(NonZeroU32::MIN))
        .unwrap()
}

/// Answers with whether the body it got was held by a layer (read), and
/// its bytes.
async fn report<B>(request: Request<GuardBody<B>>) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: http_body::Body<Data = Bytes, Error: std::fmt::Debug>,
{
    let read_here = request.body().is_full();
    let bytes = request.into_body().collect().await.unwrap().to_bytes();
    let mut response = Response::new(Full::new(bytes));
    response.extensions_mut().insert(read_here);
    Ok(response)
}

#[tokio::test]
async fn used_alone_it_reads_the_body_and_the_handler_gets_the_same_bytes() {
    let service = one_a_minute().layer(tower::service_fn(report::<Full<Bytes>>));
    let passed = service.clone().oneshot(call()).await.unwrap();
    assert_eq!(passed.status(), StatusCode::OK);
    assert_eq!(passed.extensions().get::<bool>(), Some(&true), "read here");
    assert_eq!(passed.into_body().collect().await.unwrap().to_bytes(), CALL);

    let refused = service.oneshot(call()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = refused.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["id"], "x-1", "the id of the body it read: {body}");
}

#[tokio::test]
async fn behind_an_envelope_peek_it_reads_nothing_itself() {
    let service = EnvelopePeekLayer::new(EnvelopeLimits::new())
        .layer(one_a_minute().layer(tower::service_fn(report::<GuardBody<Full<Bytes>>>)));
    let passed = service.clone().oneshot(call()).await.unwrap();
    assert_eq!(passed.status(), StatusCode::OK);
    assert_eq!(
        passed.extensions().get::<bool>(),
        Some(&false),
        "the rate limit passed the peeked body through"
    );
    assert_eq!(passed.into_body().collect().await.unwrap().to_bytes(), CALL);
    let refused = service.oneshot(call()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn its_own_read_is_bounded_by_its_envelope_limits() {
    let layer = one_a_minute().envelope_limits(EnvelopeLimits::new().max_body_bytes(64));
    let refused = layer
        .layer(tower::service_fn(report::<Full<Bytes>>))
        .oneshot(call())
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let rejection = *refused.extensions().get::<Rejection>().unwrap();
    assert_eq!(
        (rejection.guard, rejection.reason),
        ("rate-limit", "body_too_large")
    );
}

#[tokio::test]
async fn without_tool_limits_nothing_is_read() {
    for layer in [
        RateLimitLayer::per_second(NonZeroU32::MIN),
        RateLimitLayer::tools_only(),
        RateLimitLayer::disabled(),
    ] {
        let passed = layer
            .layer(tower::service_fn(report::<Full<Bytes>>))
            .oneshot(call())
            .await
            .unwrap();
        assert_eq!(passed.extensions().get::<bool>(), Some(&false));
        assert_eq!(passed.into_body().collect().await.unwrap().to_bytes(), CALL);
    }
}

#[tokio::test]
async fn a_disabled_layer_with_tool_limits_counts_nothing() {
    let layer = RateLimitLayer::disabled()
        .tool("expensive_tool", Quota::per_minute(NonZeroU32::MIN))
        .unwrap();
    assert!(!layer.is_enabled());
    assert!(!layer.reads_the_envelope());
    let service = layer.layer(tower::service_fn(report::<Full<Bytes>>));
    for _ in 0..3 {
        let passed = service.clone().oneshot(call()).await.unwrap();
        assert_eq!(passed.status(), StatusCode::OK);
    }
}
