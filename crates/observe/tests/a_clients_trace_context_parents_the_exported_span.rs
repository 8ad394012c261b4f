//! Feature `opentelemetry`: the W3C trace context a 2026-07-28 client put in
//! `params._meta` (SEP-414) continues the client's trace — the exported span
//! has the traceparent's trace id and its span as parent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer};
use mcp_observe::ObserveLayer;
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tower::{ServiceBuilder, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_ID: &str = "b7ad6b7169203331";

async fn call(body: String) {
    let service = ServiceBuilder::new()
        .layer(ObserveLayer::new())
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .service_fn(|_request| async {
            let _handler = tracing::info_span!("handler").entered();
            tracing::info!("handler runs");
            let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
            Ok::<_, Infallible>(
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(answer)))
                    .unwrap(),
            )
        });
    let request = Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    response.into_body().collect().await.unwrap();
}

fn tool_call(meta: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"weather","_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28"{meta}}}}}}}"#
    )
}

#[tokio::test]
async fn the_exported_span_continues_the_clients_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _default = tracing::subscriber::set_default(subscriber);

    call(tool_call(&format!(
        r#","traceparent":"00-{TRACE_ID}-{PARENT_ID}-01","tracestate":"congo=t61rcWkgMzE""#
    )))
    .await;
    call(tool_call("")).await;
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let requests: Vec<_> = spans
        .iter()
        .filter(|span| span.name == "tools/call")
        .collect();
    // Named after the MCP method, never a client's tool name (`otel.name` is
    // set before the span starts).
    assert_eq!(requests.len(), 2, "{spans:#?}");
    let continued = requests[0];
    assert_eq!(
        continued.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap()
    );
    assert_eq!(
        continued.parent_span_id,
        SpanId::from_hex(PARENT_ID).unwrap()
    );
    assert_eq!(continued.span_kind, opentelemetry::trace::SpanKind::Server);
    assert_eq!(
        continued.span_context.trace_state().header(),
        "congo=t61rcWkgMzE"
    );
    // The handler (behind the envelope peek) ran inside the request's span:
    // its own span is the request span's child, in the client's trace.
    let handler = spans
        .iter()
        .find(|span| span.name == "handler")
        .expect("the handler's span");
    assert_eq!(
        handler.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap()
    );
    assert_eq!(handler.parent_span_id, continued.span_context.span_id());
    // Without a trace context, the span starts a trace of its own.
    let own = requests[1];
    assert_ne!(
        own.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap()
    );
    assert_eq!(own.parent_span_id, SpanId::INVALID);
}
