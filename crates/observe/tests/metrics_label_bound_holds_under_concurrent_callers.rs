//! The bound on tool labels holds when many callers race: eight threads call
//! 4 000 distinct made-up tool names through one `ObserveLayer` with a
//! `MetricsSink`, in front of a handler that (worst case) answers every name
//! with a result, so every name qualifies. At most the bound plus `_other`
//! become label values, and every call is still counted.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeSet;
use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer};
use mcp_observe::ObserveLayer;
use mcp_observe::metrics::{MetricsSink, OTHER_NAME, REQUESTS_TOTAL};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::{ServiceBuilder, ServiceExt};

const BOUND: usize = 16;
const THREADS: usize = 8;
const CALLS_PER_THREAD: usize = 500;

async fn answer_everything<B>(_request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#,
        )))
        .unwrap())
}

#[test]
fn racing_callers_make_at_most_the_bound_plus_one_tool_labels() {
    // The only test of this binary: the recorder is the process's.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let service = ServiceBuilder::new()
        .layer(
            ObserveLayer::new()
                .without_tracing_events()
                .sink(MetricsSink::new().max_learned_names(BOUND)),
        )
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .service_fn(|request: Request<_>| answer_everything(request));

    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let service = service.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    for call in 0..CALLS_PER_THREAD {
                        let body = format!(
                            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"t{thread}-{call}"}}}}"#
                        );
                        let request = Request::post("/mcp")
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body)))
                            .unwrap();
                        let response = service.clone().oneshot(request).await.unwrap();
                        response.into_body().collect().await.unwrap();
                    }
                });
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }

    let mut tools = BTreeSet::new();
    let mut total = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if key.key().name() != REQUESTS_TOTAL {
            continue;
        }
        if let Some(tool) = key.key().labels().find(|label| label.key() == "tool") {
            tools.insert(tool.value().to_owned());
        }
        match value {
            DebugValue::Counter(count) => total += count,
            other => panic!("{REQUESTS_TOTAL} is not a counter: {other:?}"),
        }
    }
    assert_eq!(tools.len(), BOUND + 1, "{tools:?}");
    assert!(tools.contains(OTHER_NAME));
    assert_eq!(total, u64::try_from(THREADS * CALLS_PER_THREAD).unwrap());
}
