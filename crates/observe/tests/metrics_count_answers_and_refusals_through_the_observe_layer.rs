//! `MetricsSink` behind a real `ObserveLayer`, with the real envelope peek
//! (which refuses an oversized body, as a guard does) in front of a handler
//! that answers in JSON or SSE: each request is counted by method, tool and
//! outcome, each refusal by guard and reason, and client-chosen names stay
//! out of the labels.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, RpcEnvelope};
use mcp_observe::ObserveLayer;
use mcp_observe::metrics::{
    MetricsSink, REFUSALS_TOTAL, REQUEST_BYTES_TOTAL, REQUEST_DURATION_SECONDS, REQUESTS_TOTAL,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::{ServiceBuilder, ServiceExt};

/// The largest body the envelope peek reads in these tests.
const MAX_BODY: usize = 512;

/// A handler like an MCP server's: `echo` answers with a result in JSON,
/// `stream` with a result in an SSE event, any other tool with the JSON-RPC
/// error an unknown tool gets.
async fn handler<B>(request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    let name = request
        .extensions()
        .get::<RpcEnvelope>()
        .and_then(RpcEnvelope::single)
        .and_then(|message| message.name())
        .map(str::to_owned);
    let (content_type, body) = match name.as_deref() {
        Some("echo") | None => (
            "application/json",
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#.to_owned(),
        ),
        Some("stream") => (
            "text/event-stream",
            "id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n"
                .to_owned(),
        ),
        Some(_) => (
            "application/json",
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"tool not found"}}"#
                .to_owned(),
        ),
    };
    Ok(Response::builder()
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap())
}

/// A POST of `body` as an MCP client sends it.
fn post(body: String) -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// The body of a `tools/call` of `tool`.
fn call_body(tool: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":{tool:?},"arguments":{{}}}}}}"#
    )
}

fn call(tool: &str) -> Request<Full<Bytes>> {
    post(call_body(tool))
}

/// One series: metric name and labels.
type Series = (String, BTreeMap<String, String>);

/// Sends `requests` through observe → envelope peek → handler, reading each
/// response to its end, into a fresh local recorder; what it recorded.
fn record(requests: Vec<Request<Full<Bytes>>>) -> BTreeMap<Series, DebugValue> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let service = ServiceBuilder::new()
                .layer(
                    ObserveLayer::new()
                        .without_tracing_events()
                        .sink(MetricsSink::new()),
                )
                .layer(EnvelopePeekLayer::new(
                    EnvelopeLimits::new().max_body_bytes(MAX_BODY),
                ))
                .service_fn(|request: Request<_>| handler(request));
            for request in requests {
                let response = service.clone().oneshot(request).await.unwrap();
                response.into_body().collect().await.unwrap();
            }
        });
    });
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let labels = key
                .key()
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            ((key.key().name().to_owned(), labels), value)
        })
        .collect()
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    (
        name.to_owned(),
        labels
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    )
}

fn counter(recorded: &BTreeMap<Series, DebugValue>, name: &str, labels: &[(&str, &str)]) -> u64 {
    match recorded.get(&series(name, labels)) {
        Some(DebugValue::Counter(count)) => *count,
        Some(other) => panic!("{name} is not a counter: {other:?}"),
        None => panic!(
            "no {name}{labels:?} among {:#?}",
            recorded.keys().collect::<Vec<_>>()
        ),
    }
}

#[test]
fn answered_calls_count_by_tool_and_outcome_in_json_and_sse() {
    let recorded = record(vec![call("echo"), call("echo"), call("stream")]);
    let labels = |tool| [("method", "tools/call"), ("tool", tool), ("outcome", "ok")];
    assert_eq!(counter(&recorded, REQUESTS_TOTAL, &labels("echo")), 2);
    assert_eq!(counter(&recorded, REQUESTS_TOTAL, &labels("stream")), 1);
    match recorded.get(&series(REQUEST_DURATION_SECONDS, &labels("echo"))) {
        Some(DebugValue::Histogram(durations)) => {
            assert_eq!(durations.len(), 2);
            assert!(
                durations
                    .iter()
                    .all(|seconds| seconds.0 >= 0.0 && seconds.0 < 10.0)
            );
        }
        other => panic!("no duration histogram for echo: {other:?}"),
    }
    let call_bytes = u64::try_from(call_body("echo").len()).unwrap();
    assert_eq!(
        counter(
            &recorded,
            REQUEST_BYTES_TOTAL,
            &[("method", "tools/call"), ("tool", "echo")]
        ),
        2 * call_bytes
    );
}

#[test]
fn a_guards_refusal_counts_by_guard_and_reason() {
    let oversized = call(&"x".repeat(2 * MAX_BODY));
    let recorded = record(vec![oversized]);
    assert_eq!(
        counter(
            &recorded,
            REFUSALS_TOTAL,
            &[("guard", "envelope-peek"), ("reason", "body_too_large")]
        ),
        1
    );
    // The body was never parsed, so the method label is the HTTP method.
    assert_eq!(
        counter(
            &recorded,
            REQUESTS_TOTAL,
            &[("method", "POST"), ("tool", ""), ("outcome", "refused")]
        ),
        1
    );
}

#[test]
fn unknown_tools_and_methods_are_counted_without_their_names() {
    let recorded = record(vec![
        call("made_up_tool_1"),
        call("made_up_tool_2"),
        post(r#"{"jsonrpc":"2.0","id":1,"method":"evil/method-123","params":{}}"#.to_owned()),
    ]);
    assert_eq!(
        counter(
            &recorded,
            REQUESTS_TOTAL,
            &[
                ("method", "tools/call"),
                ("tool", "_other"),
                ("outcome", "rpc_error"),
                ("error_code", "-32602"),
            ]
        ),
        2
    );
    assert_eq!(
        counter(
            &recorded,
            REQUESTS_TOTAL,
            &[("method", "other"), ("tool", ""), ("outcome", "ok")]
        ),
        1
    );
    for (_, labels) in recorded.keys() {
        for value in labels.values() {
            assert!(
                !value.contains("made_up") && !value.contains("evil"),
                "a client-chosen name became a label value: {labels:?}"
            );
        }
    }
}
