//! Through the whole remote stack of the example server (origin guard, CORS,
//! protocol guard, bearer auth, rate limit, session, resumable SSE, in front of
//! rmcp): a client whose connection dies in the middle of `slow_count` resumes
//! with `Last-Event-ID` and receives the rest, every event exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Event, ExampleServer, mcp_http, read_events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cut_off_mid_stream_resumes_and_misses_nothing() {
    let server = ExampleServer::start(&["--preset", "remote"]);
    let token = server.token.clone().unwrap();
    let http = reqwest::Client::new();
    let post = |body: Value, session: Option<&str>| {
        mcp_http::post(&http, &server.url, &body, session)
            .bearer_auth(&token)
            .send()
    };

    let initialized = post(mcp_http::initialize(), None).await.unwrap();
    assert_eq!(initialized.status(), 200);
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    initialized.bytes().await.unwrap();
    let notified = post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(notified.status(), 202);

    let total = 30;
    let mut stream = post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "slow_count", "arguments": {"n": total, "interval_ms": 40},
                       "_meta": {"progressToken": "resume-1"}}}),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let before = read_events(&mut stream, Duration::from_secs(10), |events| {
        events.iter().filter_map(Event::progress).count() >= 5
    })
    .await;
    // The connection dies: the handler keeps counting, the layer keeps storing.
    drop(stream);
    let last_seen = before
        .last()
        .and_then(|event| event.id.clone())
        .expect("events carry ids");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut resumed = mcp_http::resume(&http, &server.url, &session, &last_seen)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resumed.status(),
        200,
        "resume with Last-Event-ID {last_seen}"
    );
    let after = read_events(&mut resumed, Duration::from_secs(10), |events| {
        events.iter().any(|event| event.is_response_to(2))
    })
    .await;

    let progress: Vec<f64> = before
        .iter()
        .chain(&after)
        .filter_map(Event::progress)
        .collect();
    let expected: Vec<f64> = (1..=total).map(f64::from).collect();
    assert_eq!(
        progress, expected,
        "every progress event exactly once, in order"
    );
    let mut ids: Vec<&str> = before
        .iter()
        .chain(&after)
        .filter_map(|event| event.id.as_deref())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "no event id delivered twice");
    let result = Event::response_to(&after, 2);
    assert_eq!(
        result["result"]["content"][0]["text"],
        format!("counted to {total}")
    );

    // Another caller cannot resume this session's stream (the session is bound
    // to the principal that created it).
    // (A client-credentials token of another registered client: its subject
    // is that client, not dev-user.)
    let stranger = server.token_with_scope("mcp").await;
    let foreign = mcp_http::resume(&http, &server.url, &session, &last_seen)
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        404,
        "another principal's session does not exist for it"
    );
}
