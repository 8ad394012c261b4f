//! What a client chooses — tool names, methods, ids, trace context, session
//! ids — reaches spans, logs and metrics only bounded: a name becomes a
//! metrics label only once the handler answered a call of it with a result,
//! the span's name is a fixed method name, and every client string is cut.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, GuardBody, RpcEnvelope};
use mcp_guard_test_support::logs::Logs;
use mcp_observe::metrics::{MetricsSink, OTHER_NAME, REQUESTS_TOTAL};
use mcp_observe::{EventSink, ObserveLayer, Outcome, RequestEvent};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
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

fn post(body: &str) -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// The handler: `202` for a notification, `answer` (as JSON) for a request,
/// whatever it was.
async fn answer(
    request: Request<GuardBody<Full<Bytes>>>,
    answer: &'static str,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let notification = request
        .extensions()
        .get::<RpcEnvelope>()
        .is_some_and(RpcEnvelope::is_notifications_or_responses_only);
    Ok(if notification {
        Response::builder()
            .status(StatusCode::ACCEPTED)
            .body(Full::new(Bytes::new()))
            .unwrap()
    } else {
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(answer.as_bytes())))
            .unwrap()
    })
}

/// Sends `bodies` through an observe layer with a metrics sink (and an
/// event sink) in front of [`answer`] with `reply`; returns the events and the
/// `tool` labels of `mcp_requests_total` with their outcomes.
fn through_metrics(
    reply: &'static str,
    bodies: &[&str],
) -> (Vec<RequestEvent>, Vec<(String, String)>) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let events = Events::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let service = ServiceBuilder::new()
                .layer(
                    ObserveLayer::new()
                        .without_tracing_events()
                        .sink(MetricsSink::new())
                        .sink(events.clone()),
                )
                .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
                .service_fn(move |request| answer(request, reply));
            for body in bodies {
                let response = service.clone().oneshot(post(body)).await.unwrap();
                response.into_body().collect().await.unwrap();
            }
        })
    });
    let mut labels: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == REQUESTS_TOTAL)
        .filter(|(.., value)| matches!(value, DebugValue::Counter(n) if *n > 0))
        .map(|(key, ..)| {
            let label = |name: &str| {
                key.key()
                    .labels()
                    .find(|label| label.key() == name)
                    .map(|label| label.value().to_owned())
                    .unwrap_or_default()
            };
            (label("tool"), label("outcome"))
        })
        .collect();
    labels.sort();
    (events.take(), labels)
}

#[test]
fn a_notification_is_accepted_and_teaches_no_tool_name() {
    let (events, labels) = through_metrics(
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        &[r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"zz-made-up"}}"#],
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, StatusCode::ACCEPTED);
    assert_eq!(events[0].outcome, Outcome::Accepted);
    assert_eq!(events[0].outcome.label(), "accepted");
    assert_eq!(labels, [(OTHER_NAME.to_owned(), "accepted".to_owned())]);
}

#[test]
fn a_float_id_is_matched_to_the_handlers_integer_answer() {
    // rmcp reads id 1.0 as 1 and answers `"id":1`: that is this call's error.
    let (events, labels) = through_metrics(
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no such tool"}}"#,
        &[r#"{"jsonrpc":"2.0","id":1.0,"method":"tools/call","params":{"name":"zz-made-up"}}"#],
    );
    assert_eq!(events[0].outcome, Outcome::RpcError { code: -32602 });
    assert_eq!(labels, [(OTHER_NAME.to_owned(), "rpc_error".to_owned())]);
}

#[test]
fn a_2xx_whose_answer_is_not_found_is_unconfirmed_and_teaches_no_name() {
    // The handler answers another id: this call's answer is not in the body.
    let (events, labels) = through_metrics(
        r#"{"jsonrpc":"2.0","id":2,"result":{}}"#,
        &[r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zz-made-up"}}"#],
    );
    assert_eq!(events[0].outcome, Outcome::Unconfirmed);
    assert_eq!(events[0].outcome.label(), "unconfirmed");
    assert_eq!(labels, [(OTHER_NAME.to_owned(), "unconfirmed".to_owned())]);
    // A result found for the call's id teaches the name.
    let (_, labels) = through_metrics(
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        &[r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#],
    );
    assert_eq!(labels, [("echo".to_owned(), "ok".to_owned())]);
}

/// Runs `body` (with `headers`) through an observe layer with the tracing
/// sink, capturing the logs; returns them and the events.
async fn logged(body: &str, headers: &[(&str, &str)]) -> (Logs, Vec<RequestEvent>) {
    let logs = Logs::default();
    let events = Events::default();
    {
        let _capture = logs.capture();
        let service = ServiceBuilder::new()
            .layer(ObserveLayer::new().sink(events.clone()))
            .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
            .service_fn(|_request| async {
                tracing::info!("handler runs");
                Ok::<_, Infallible>(
                    Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(b"{}")))
                        .unwrap(),
                )
            });
        let mut request = post(body);
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let response = service.oneshot(request).await.unwrap();
        response.into_body().collect().await.unwrap();
    }
    (logs, events.take())
}

fn line_with(logs: &Logs, needle: &str) -> String {
    logs.lines()
        .into_iter()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}:\n{}", logs.text()))
}

#[tokio::test]
async fn the_span_is_named_after_the_method_never_a_clients_tool_name() {
    let (logs, _) = logged(
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"zz-made-up-7"}}"#,
        &[],
    )
    .await;
    let handler = line_with(&logs, "handler runs");
    assert!(handler.contains("otel.name=\"tools/call\""), "{handler}");
    assert!(
        handler.contains("gen_ai.tool.name=\"zz-made-up-7\""),
        "{handler}"
    );
    let (logs, _) = logged(r#"{"jsonrpc":"2.0","id":1,"method":"x/made-up-9"}"#, &[]).await;
    let handler = line_with(&logs, "handler runs");
    assert!(handler.contains("otel.name=\"other\""), "{handler}");
}

#[tokio::test]
async fn an_invalid_traceparent_is_dropped() {
    for traceparent in [
        // Upper-case hex.
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
        // Too long.
        &format!(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01{}",
            "x".repeat(500)
        ),
        // An all-zero trace id.
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        // Version ff.
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "not a traceparent",
    ] {
        let body = serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": {"_meta": {"traceparent": traceparent, "tracestate": "congo=t61rcWkgMzE"}}
        })
        .to_string();
        let (logs, events) = logged(&body, &[]).await;
        assert_eq!(events[0].traceparent, None, "{traceparent}");
        let text = logs.text();
        assert!(!text.contains("traceparent="), "{traceparent}: {text}");
        assert!(!text.contains("congo"), "{traceparent}: {text}");
    }
    let valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": {"traceparent": valid}}
    })
    .to_string();
    let (_, events) = logged(&body, &[]).await;
    assert_eq!(events[0].traceparent.as_deref(), Some(valid));
}

#[tokio::test]
async fn client_strings_are_cut_in_events_spans_and_logs() {
    let long = "y".repeat(5000);
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": format!("id-{long}"), "method": format!("x/{long}"),
        "params": {"name": format!("t-{long}"), "_meta": {
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": format!("congo={long}")
        }}
    })
    .to_string();
    let session = format!("s-{long}");
    let (logs, events) = logged(
        &body,
        &[
            ("mcp-session-id", &session),
            ("mcp-protocol-version", &long),
        ],
    )
    .await;
    let event = &events[0];
    for (what, value) in [
        ("method", event.method.as_deref()),
        ("request id", event.request_id.as_deref()),
        ("target", event.target.as_deref()),
        ("session id", event.session_id.as_deref()),
        ("protocol version", event.protocol_version.as_deref()),
    ] {
        let value = value.unwrap_or_else(|| panic!("{what} missing"));
        assert!(
            value.chars().count() <= 97 && value.ends_with('…'),
            "{what}: {value}"
        );
    }
    let text = logs.text();
    assert!(text.contains("handler runs"));
    for line in logs.lines() {
        assert!(!line.contains(&"y".repeat(200)), "uncut: {line}");
    }
}
