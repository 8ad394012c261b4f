//! `SseResumeLayer::disabled()`: the same service type as an enabled layer,
//! and every request and response passes through untouched. A resume the
//! enabled layer refuses reaches the handler; the handler's event stream
//! keeps its own ids, gets no priming and no keep-alives, and nothing is
//! stored.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::Rejection;
use mcp_sse_resume::{MemoryEventStore, SseResume, SseResumeLayer};
use support::SessionStandInLayer;
use tower::{Layer, ServiceBuilder, ServiceExt};

const STREAM: &str = "id: handler-1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";

/// A handler that counts its calls and answers everything with one SSE
/// event carrying an id of its own.
fn handler(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send {
    tower::service_fn(move |_: Request<Full<Bytes>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok::<_, Infallible>(
                Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Full::from(STREAM))
                    .unwrap(),
            )
        }
    })
}

/// The layer under test in a session (the stand-in inserts its context).
async fn send(
    layer: SseResumeLayer<MemoryEventStore>,
    calls: &Arc<AtomicUsize>,
    request: Request<Full<Bytes>>,
) -> (http::response::Parts, String) {
    let service = ServiceBuilder::new()
        .layer(SessionStandInLayer)
        .layer(layer)
        .service(handler(calls.clone()));
    let (parts, body) = service.oneshot(request).await.unwrap().into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts, String::from_utf8(bytes.to_vec()).unwrap())
}

fn in_session(request: http::request::Builder) -> Request<Full<Bytes>> {
    request
        .header("mcp-session-id", "a1b2c3")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn a_resume_the_enabled_layer_refuses_reaches_the_handler_when_disabled() {
    let resume = || in_session(Request::get("/mcp").header("last-event-id", "forged"));

    let calls = Arc::new(AtomicUsize::new(0));
    let (refused, _) = send(SseResumeLayer::new(), &calls, resume()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.extensions.get::<Rejection>().unwrap().reason,
        "event_id_malformed"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the enabled layer answers");

    let disabled = SseResumeLayer::<MemoryEventStore>::disabled();
    assert!(!disabled.is_enabled() && disabled.store().is_none());
    let (passed, text) = send(disabled, &calls, resume()).await;
    assert_eq!(passed.status, StatusCode::OK);
    assert!(passed.extensions.get::<Rejection>().is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler got it");
    assert_eq!(text, STREAM, "the handler's answer, untouched");
}

#[tokio::test]
async fn a_disabled_layer_leaves_event_streams_alone() {
    let calls = Arc::new(AtomicUsize::new(0));
    let enabled = SseResumeLayer::new();
    let store = enabled.store().cloned().unwrap();
    let (_, text) = send(enabled, &calls, in_session(Request::post("/mcp"))).await;
    assert!(
        !text.contains("handler-1") && text.contains("retry: "),
        "enabled: the layer's ids and priming: {text}"
    );
    assert_eq!(store.stored_events(), 1);

    let (parts, text) = send(
        SseResumeLayer::disabled(),
        &calls,
        in_session(Request::post("/mcp")),
    )
    .await;
    assert_eq!(text, STREAM, "disabled: the handler's own id, no priming");
    assert_eq!(
        parts.headers["content-type"], "text/event-stream",
        "{parts:?}"
    );

    // The stateless era: no keep-alive header either.
    let stateless = Request::post("/mcp")
        .header("mcp-protocol-version", "2026-07-28")
        .body(Full::default())
        .unwrap();
    let (parts, text) = send(SseResumeLayer::disabled(), &calls, stateless).await;
    assert!(parts.headers.get("x-accel-buffering").is_none());
    assert_eq!(text, STREAM);
}

#[test]
fn disabled_and_enabled_services_have_one_type() {
    let calls = Arc::new(AtomicUsize::new(0));
    let services: [SseResume<_, MemoryEventStore>; 2] = [
        SseResumeLayer::new().layer(handler(calls.clone())),
        SseResumeLayer::disabled().layer(handler(calls)),
    ];
    assert_eq!(services.len(), 2);
}
