//! The exchanges around the plain call: a batch, a `GET` stream, a client that
//! goes away, an answer too large to scan, a stack without an envelope peek,
//! and the span's attributes and W3C trace context.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, McpError, error_code, guard};
use mcp_guard_test_support::logs::Logs;
use mcp_observe::{EventSink, ObserveLayer, Outcome, RequestEvent};
use tower::{ServiceBuilder, ServiceExt};

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<RequestEvent>>>);

impl EventSink for Events {
    fn record(&self, event: &RequestEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Events {
    fn take(&self) -> Vec<RequestEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn json(body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn post(body: &str) -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn a_batch_is_one_event_per_message_each_with_its_own_answer() {
    let events = Events::default();
    let service = ServiceBuilder::new()
        .layer(ObserveLayer::new().without_tracing_events().sink(events.clone()))
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .service_fn(|_request| async {
            Ok::<_, Infallible>(json(
                r#"[{"jsonrpc":"2.0","id":"b","error":{"code":-32601,"message":"no"}},{"jsonrpc":"2.0","id":"a","result":{}}]"#,
            ))
        });
    let response = service
        .oneshot(post(
            r#"[{"jsonrpc":"2.0","id":"a","method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/cancelled"},{"jsonrpc":"2.0","id":"b","method":"nope"}]"#,
        ))
        .await
        .unwrap();
    response.into_body().collect().await.unwrap();
    let events = events.take();
    let summary: Vec<_> = events
        .iter()
        .map(|event| (event.method.as_deref().unwrap(), event.outcome))
        .collect();
    assert_eq!(
        summary,
        [
            ("tools/list", Outcome::Ok),
            ("notifications/cancelled", Outcome::Accepted),
            ("nope", Outcome::RpcError { code: -32601 }),
        ]
    );
}

#[tokio::test]
async fn a_get_stream_is_one_event_without_a_method_and_a_dropped_body_is_aborted() {
    let events = Events::default();
    let service = ServiceBuilder::new()
        .layer(
            ObserveLayer::new()
                .without_tracing_events()
                .sink(events.clone()),
        )
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .service_fn(|_request| async {
            // An SSE stream that sends one event and then stays open.
            let frames = futures_stream(vec![Bytes::from_static(b": primed\n\n")]);
            let response = Response::builder()
                .header("content-type", "text/event-stream")
                .body(StreamBody::new(frames))
                .unwrap();
            Ok::<_, Infallible>(response)
        });
    let request = Request::get("/mcp")
        .header("mcp-session-id", "s-1")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), ": primed\n\n");
    assert!(events.take().is_empty(), "no event while the stream runs");
    drop(body);
    let events = events.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].http_method, http::Method::GET);
    assert_eq!(events[0].method, None);
    assert_eq!(events[0].session_id.as_deref(), Some("s-1"));
    assert_eq!(events[0].outcome, Outcome::Aborted);
    assert_eq!(events[0].response_bytes, 10);
}

/// A stream of `chunks` that then never ends.
fn futures_stream(
    chunks: Vec<Bytes>,
) -> impl futures_core::Stream<Item = Result<http_body::Frame<Bytes>, Infallible>> {
    struct Pending(std::collections::VecDeque<Bytes>);
    impl futures_core::Stream for Pending {
        type Item = Result<http_body::Frame<Bytes>, Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            match self.0.pop_front() {
                Some(chunk) => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
                None => std::task::Poll::Pending,
            }
        }
    }
    Pending(chunks.into())
}

#[tokio::test]
async fn an_answer_larger_than_the_scan_bound_follows_the_status() {
    let events = Events::default();
    let large = format!(
        r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":-32000,"message":"{}"}}}}"#,
        "x".repeat(300)
    );
    let service = ServiceBuilder::new()
        .layer(
            ObserveLayer::new()
                .without_tracing_events()
                .max_scan_bytes(256)
                .sink(events.clone()),
        )
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .service_fn(move |_request| {
            let large = large.clone();
            async move { Ok::<_, Infallible>(json(&large)) }
        });
    let response = service
        .oneshot(post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.len() > 256, "the bytes pass through whole");
    let events = events.take();
    assert_eq!(
        events[0].outcome,
        Outcome::Unconfirmed,
        "not scanned: a 200 without a result seen is unconfirmed"
    );
    assert_eq!(events[0].response_bytes, bytes.len() as u64);
}

#[tokio::test]
async fn without_an_envelope_peek_the_status_refusal_and_answer_are_still_reported() {
    let events = Events::default();
    let service = ServiceBuilder::new()
        .layer(
            ObserveLayer::new()
                .without_tracing_events()
                .sink(events.clone()),
        )
        .service_fn(|request: Request<Full<Bytes>>| async move {
            if request.headers().contains_key("x-refuse") {
                let refusal = McpError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    error_code::SERVER_ERROR,
                    "slow down",
                )
                .with_reason("too_many_requests")
                .rejected_by(guard::RATE_LIMIT)
                .into_response_with(Full::new);
                return Ok::<_, Infallible>(refusal);
            }
            Ok(json(
                r#"{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"bad"}}"#,
            ))
        });
    let response = service
        .clone()
        .oneshot(post(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call"}"#))
        .await
        .unwrap();
    response.into_body().collect().await.unwrap();
    let mut refused = post("{}");
    refused
        .headers_mut()
        .insert("x-refuse", "1".parse().unwrap());
    let response = service.oneshot(refused).await.unwrap();
    response.into_body().collect().await.unwrap();
    let events = events.take();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].method, None, "no peek: the method is not known");
    assert_eq!(events[0].outcome, Outcome::RpcError { code: -32602 });
    assert_eq!(events[0].request_bytes, 0, "no peek and no Content-Length");
    assert_eq!(
        events[1].outcome,
        Outcome::Refused {
            guard: "rate-limit",
            reason: "too_many_requests"
        }
    );
    assert_eq!(events[1].status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_span_carries_the_mcp_attributes_and_the_clients_trace_context() {
    let logs = Logs::default();
    let events = Events::default();
    {
        let _capture = logs.capture();
        let service = ServiceBuilder::new()
            .layer(ObserveLayer::new().sink(events.clone()))
            .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
            .service_fn(|_request| async {
                tracing::info!("handler runs");
                Ok::<_, Infallible>(json(r#"{"jsonrpc":"2.0","id":"r1","result":{}}"#))
            });
        let response = service
            .oneshot(post(
                r#"{"jsonrpc":"2.0","id":"r1","method":"resources/read","params":{"uri":"file:///notes/1","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"congo=t61rcWkgMzE"}}}"#,
            ))
            .await
            .unwrap();
        response.into_body().collect().await.unwrap();
    }
    let text = logs.text();
    let handler = logs
        .lines()
        .into_iter()
        .find(|line| line.contains("handler runs"))
        .expect("the handler logged");
    // The handler ran inside the request's span, named after the envelope.
    assert!(
        handler.contains("mcp.request{") && handler.contains("otel.name=\"resources/read\""),
        "{handler}"
    );
    let audit = logs
        .lines()
        .into_iter()
        .find(|line| line.contains("mcp_observe::audit"))
        .expect("an audit event");
    for field in [
        "otel.name=\"resources/read\"",
        "otel.kind=\"server\"",
        "mcp.method.name=\"resources/read\"",
        "mcp.resource.uri=\"file:///notes/1\"",
        "mcp.protocol.version=\"2026-07-28\"",
        "jsonrpc.request.id=\"r1\"",
        "traceparent=\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"",
        "tracestate=\"congo=t61rcWkgMzE\"",
    ] {
        assert!(
            audit.contains(field),
            "{field} missing from {audit}\n{text}"
        );
    }
    let events = events.take();
    assert_eq!(events[0].target.as_deref(), Some("file:///notes/1"));
    assert_eq!(
        events[0].traceparent.as_deref(),
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    );
}

#[tokio::test]
async fn a_client_that_leaves_before_the_response_is_one_aborted_event() {
    let events = Events::default();
    let service = ServiceBuilder::new()
        .layer(
            ObserveLayer::new()
                .without_tracing_events()
                .sink(events.clone()),
        )
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .service_fn(|_request| async {
            // A slow tool call: no response head for an hour.
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok::<_, Infallible>(json(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#))
        });
    let call = service.oneshot(post(
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow"}}"#,
    ));
    // The client gives up: the response future is dropped before the head.
    let gave_up = tokio::time::timeout(std::time::Duration::from_millis(20), call).await;
    assert!(gave_up.is_err(), "the handler is still running");
    let events = events.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].method.as_deref(), Some("tools/call"));
    assert_eq!(events[0].target.as_deref(), Some("slow"));
    assert_eq!(events[0].outcome, Outcome::Aborted);
}
