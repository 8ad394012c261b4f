//! The envelope peek records the envelope (and the body's size) into a
//! `Trail` an outer layer put in the request, through the layer and through
//! the peek a guard used alone calls; without a `Trail` nothing is recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, RpcEnvelope, RpcId, Trail};
use tower::{ServiceBuilder, ServiceExt};

const CALL: &str = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}}"#;

fn post_with(trail: Option<&Trail>) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .body(Full::new(Bytes::from_static(CALL.as_bytes())))
        .unwrap();
    if let Some(trail) = trail {
        request.extensions_mut().insert(trail.clone());
    }
    request
}

#[tokio::test]
async fn the_peek_layer_records_the_envelope_into_the_trail() {
    let trail = Trail::new();
    let service = ServiceBuilder::new()
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .service_fn(|request: Request<_>| async move {
            // Inside, the envelope is in the extensions as always.
            assert!(request.extensions().get::<RpcEnvelope>().is_some());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        });
    service.oneshot(post_with(Some(&trail))).await.unwrap();
    let message = trail.envelope().expect("recorded").single().unwrap();
    assert_eq!(message.method(), Some("tools/call"));
    assert_eq!(message.name(), Some("echo"));
    assert_eq!(
        message.meta_traceparent(),
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    );
    assert_eq!(trail.body_bytes(), Some(CALL.len() as u64));
    assert!(trail.principal().is_none(), "nobody recorded a principal");
}

#[tokio::test]
async fn a_guard_peeking_alone_records_too_and_a_second_peek_changes_nothing() {
    let trail = Trail::new();
    let limits = EnvelopeLimits::new();
    let request = limits.peek(post_with(Some(&trail))).await.unwrap();
    assert_eq!(trail.body_bytes(), Some(CALL.len() as u64));
    // A later guard peeking again finds the cached envelope.
    let _request = limits.peek(request).await.unwrap();
    assert_eq!(trail.body_bytes(), Some(CALL.len() as u64));
    assert_eq!(
        trail.envelope().unwrap().request_id(),
        Some(&RpcId::Number(4.into()))
    );
}

#[tokio::test]
async fn without_a_trail_the_peek_records_nowhere() {
    let other = Trail::new();
    let request = EnvelopeLimits::new().peek(post_with(None)).await.unwrap();
    assert!(request.extensions().get::<Trail>().is_none());
    assert!(request.extensions().get::<RpcEnvelope>().is_some());
    assert!(other.envelope().is_none());
}
