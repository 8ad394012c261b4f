//! SIGTERM (what `docker stop`, systemd and Kubernetes send) ends the example
//! servers with status 0 within a few seconds, even with an SSE stream open:
//! the stream ends instead of holding the graceful shutdown up.

#![cfg(all(feature = "origin-guard", feature = "session"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::time::Duration;

use support::{Example, mcp_http};

/// How long an example may take to print its endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to exit after SIGTERM.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends SIGTERM and checks the example exits with status 0 in time.
fn terminate_and_expect_success(example: &mut Example, name: &str) {
    example.terminate();
    let status = tokio::task::block_in_place(|| example.exit_within(EXIT_TIMEOUT));
    assert!(
        status.is_some(),
        "{name} still runs {EXIT_TIMEOUT:?} after SIGTERM"
    );
    assert_eq!(
        status.unwrap().code(),
        Some(0),
        "{name}'s exit status after SIGTERM: {status:?}"
    );
}

#[cfg(all(feature = "jwks", feature = "rate-limit"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_example_ends_an_open_sse_stream_and_exits_0() {
    let mut example = Example::start_within(
        "mcp_server",
        &["--addr", "127.0.0.1:0", "--preset", "local"],
        START_TIMEOUT,
    );
    let http = reqwest::Client::new();
    let post = |session: Option<&str>, body: serde_json::Value| {
        mcp_http::post(&http, &example.url, &body, session).send()
    };
    let initialized = post(None, mcp_http::initialize()).await.unwrap();
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    post(
        Some(&session),
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await
    .unwrap();
    // A call that would stream progress for 100 s.
    let mut stream = post(
        Some(&session),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "slow_count", "arguments": {"n": 1000, "interval_ms": 100},
            "_meta": {"progressToken": "p"}}}),
    )
    .await
    .unwrap();
    assert_eq!(stream.status(), 200);
    let events = support::read_events(&mut stream, Duration::from_secs(10), |events| {
        events.iter().any(|event| event.data.contains("progress"))
    })
    .await;
    assert!(!events.is_empty(), "the stream is open and streaming");

    terminate_and_expect_success(&mut example, "mcp_server");
    // The stream ended (its end or a cut connection), not 100 s of progress.
    let end = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the SSE stream is still open after the exit");
}

#[cfg(feature = "sse-resume")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hyper_example_exits_0_with_a_connection_open() {
    let mut example =
        Example::start_within("hyper_server", &["--addr", "127.0.0.1:0"], START_TIMEOUT);
    // A kept-alive connection, idle after one request.
    let http = reqwest::Client::new();
    let ping = mcp_http::post(&http, &example.url, &mcp_http::initialize(), None)
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 200);
    terminate_and_expect_success(&mut example, "hyper_server");
}
