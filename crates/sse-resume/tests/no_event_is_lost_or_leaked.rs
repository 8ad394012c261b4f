//! Resumable SSE end to end: an rmcp server (stateless handler: no
//! resumability of its own) behind protocol guard → (a stand-in for the
//! session layer) → sse-resume, read over real HTTP by a client that parses
//! the event stream and drops the connection at random points.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Test helpers fail loudly by design.
// Log notifications are deprecated by SEP-2577 for later revisions, but are part
// of the 2025 revisions these streams speak: a plain stream of messages to resume.
#![allow(deprecated)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_sse_resume::{EventStoreLimits, MemoryEventStore, Polling, SseResumeLayer};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rmcp::model::{CallToolRequestParams, LoggingMessageNotificationParam};
use serde_json::{Value, json};
use support::Server;

async fn start(resume: SseResumeLayer<MemoryEventStore>) -> Server {
    Server::start(resume).await
}

/// One SSE event as the client saw it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: Option<String>,
    retry: Option<String>,
    data: String,
}

/// A client connection that reads events until told to stop (or the end).
struct Reader {
    body: hyper::body::Incoming,
    buffer: String,
}

impl Reader {
    async fn next(&mut self) -> Option<Seen> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut seen = Seen {
                    id: None,
                    retry: None,
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(id) = line.strip_prefix("id: ") {
                        seen.id = Some(id.to_owned());
                    } else if let Some(retry) = line.strip_prefix("retry: ") {
                        seen.retry = Some(retry.to_owned());
                    } else if let Some(data) = line
                        .strip_prefix("data: ")
                        .or_else(|| line.strip_prefix("data:"))
                    {
                        if has_data {
                            seen.data.push('\n');
                        }
                        seen.data.push_str(data);
                        has_data = true;
                    }
                }
                if seen.id.is_none() && seen.retry.is_none() && !has_data {
                    continue; // a keep-alive comment
                }
                return Some(seen);
            }
            let frame = tokio::time::timeout(Duration::from_secs(20), self.body.frame())
                .await
                .expect("the stream stalled")?;
            let data = frame.ok()?.into_data().ok()?;
            self.buffer.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
}

impl Server {
    async fn post(
        &self,
        session: Option<&str>,
        version: &str,
        body: Value,
    ) -> (StatusCode, http::HeaderMap, hyper::body::Incoming) {
        let mut headers = vec![("mcp-protocol-version", version)];
        headers.extend(session.map(|session| ("mcp-session-id", session)));
        let response = self.send(Method::POST, &headers, Some(body)).await;
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body)
    }

    async fn resume(
        &self,
        session: &str,
        version: &str,
        last_event_id: &str,
    ) -> (StatusCode, hyper::body::Incoming) {
        let headers = [
            ("accept", "text/event-stream"),
            ("mcp-protocol-version", version),
            ("mcp-session-id", session),
            ("last-event-id", last_event_id),
        ];
        let response = self.send(Method::GET, &headers, None).await;
        (response.status(), response.into_body())
    }

    /// initialize + initialized at `version`; the session id.
    async fn open_session(&self, version: &str) -> String {
        self.initialize(version, &[]).await
    }

    async fn call_emit(&self, session: &str, version: &str, count: u64, pause_ms: u64) -> Reader {
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "emit", "arguments": {"count": count, "pause_ms": pause_ms}}});
        let (status, headers, body) = self.post(Some(session), version, call).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/event-stream");
        Reader {
            body,
            buffer: String::new(),
        }
    }
}

/// What the events carried: log sequence numbers, and whether the result came.
#[derive(Default)]
struct Collected {
    logs: Vec<u64>,
    results: usize,
    ids: Vec<String>,
}

impl Collected {
    fn take(&mut self, seen: &Seen) {
        if seen.data.is_empty() {
            return; // the priming event
        }
        let message: Value = serde_json::from_str(&seen.data).unwrap();
        if message["method"] == "notifications/message" {
            self.logs
                .push(message["params"]["data"]["seq"].as_u64().unwrap());
        } else if message["id"] == 2 {
            assert!(
                message["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("emitted")
            );
            self.results += 1;
        }
        self.ids
            .push(seen.id.clone().expect("every stored event has an id"));
    }

    fn assert_exactly_once_in_order(&self, count: u64, case: &str) {
        assert_eq!(
            self.logs,
            (0..count).collect::<Vec<_>>(),
            "{case}: every event exactly once, in order"
        );
        assert_eq!(self.results, 1, "{case}: the result exactly once");
        let seqs: Vec<u64> = self
            .ids
            .iter()
            .map(|id| id.rsplit_once('-').unwrap().1.parse().unwrap())
            .collect();
        assert!(
            seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "{case}: ids are contiguous: {seqs:?}"
        );
    }
}

const V_NEW: &str = "2025-11-25";
const V_OLD: &str = "2025-06-18";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_disconnects_lose_and_duplicate_nothing() {
    let server = start(SseResumeLayer::new()).await;
    for seed in 0..4u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let session = server.open_session(V_NEW).await;
        let mut reader = server.call_emit(&session, V_NEW, 1000, 0).await;
        let mut collected = Collected::default();
        let mut last_id: Option<String> = None;
        let mut connections = 1;
        loop {
            let cut_after = rng.random_range(1..120);
            let mut read = 0;
            let mut ended = true;
            while let Some(seen) = reader.next().await {
                collected.take(&seen);
                last_id = seen.id.clone().or(last_id);
                read += 1;
                if read == cut_after {
                    ended = false;
                    break;
                }
            }
            if ended {
                break;
            }
            drop(reader); // the connection drops mid-stream
            let (status, body) = server
                .resume(&session, V_NEW, last_id.as_deref().unwrap())
                .await;
            assert_eq!(status, StatusCode::OK, "seed {seed}: resume #{connections}");
            reader = Reader {
                body,
                buffer: String::new(),
            };
            connections += 1;
        }
        assert!(
            connections > 5,
            "seed {seed}: the test must actually disconnect ({connections})"
        );
        collected.assert_exactly_once_in_order(1000, &format!("seed {seed}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_that_arrives_while_the_client_is_away_is_there_on_resume() {
    let server = start(SseResumeLayer::new()).await;
    let session = server.open_session(V_NEW).await;
    let mut reader = server.call_emit(&session, V_NEW, 50, 10).await;
    let priming = reader.next().await.unwrap();
    let mut collected = Collected::default();
    let first = reader.next().await.unwrap();
    collected.take(&first);
    drop(reader);
    // The handler goes on for ~500 ms with nobody connected; wait until it is done.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.store.stored_events() < 51 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the drain stopped when the client left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = server
        .resume(&session, V_NEW, first.id.as_deref().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = Reader {
        body,
        buffer: String::new(),
    };
    while let Some(seen) = reader.next().await {
        collected.take(&seen);
    }
    collected.assert_exactly_once_in_order(50, "resume after the handler finished");
    assert!(priming.data.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sessions_or_a_forged_event_id_is_refused() {
    // A small store: the connected reader still gets every event (the drain
    // waits for it), but only the last 10 stay for resumes.
    let store = MemoryEventStore::new(EventStoreLimits {
        max_events_per_stream: 10,
        ..EventStoreLimits::default()
    })
    .unwrap();
    let server = start(SseResumeLayer::builder(store).max_unread_events(5).build()).await;
    let alice = server.open_session(V_NEW).await;
    let mut reader = server.call_emit(&alice, V_NEW, 30, 0).await;
    let mut ids = Vec::new();
    let mut collected = Collected::default();
    while let Some(seen) = reader.next().await {
        collected.take(&seen);
        ids.extend(seen.id);
    }
    collected.assert_exactly_once_in_order(30, "a connected reader behind a small store");
    let mallory = server.open_session(V_NEW).await;
    let (status, body) = server.resume(&mallory, V_NEW, &ids[5]).await;
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "another session's event id: {text}"
    );
    assert!(text.contains("names no event of this session"), "{text}");
    assert!(!text.contains("seq"), "none of alice's events leak: {text}");

    for forged in [
        "not-an-id",
        "AAAAAAAAAAAA-3",
        &format!("{}9", ids[ids.len() - 1]),
    ] {
        let (status, _) = server.resume(&alice, V_NEW, forged).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "forged {forged}");
    }
    // Only the last 10 events are kept: resuming from the start says they are gone.
    let (status, body) = server.resume(&alice, V_NEW, &ids[0]).await;
    assert_eq!(status, StatusCode::GONE);
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.contains("evicted"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priming_and_retry_are_sent_to_2025_11_25_clients_only() {
    let server = start(SseResumeLayer::new()).await;
    let session = server.open_session(V_NEW).await;
    let mut reader = server.call_emit(&session, V_NEW, 2, 0).await;
    let priming = reader.next().await.unwrap();
    assert!(
        priming.id.as_deref().unwrap().ends_with("-0"),
        "{priming:?}"
    );
    assert_eq!(priming.retry.as_deref(), Some("3000"));
    assert_eq!(priming.data, "");
    let first = reader.next().await.unwrap();
    assert!(first.id.as_deref().unwrap().ends_with("-1") && !first.data.is_empty());

    let old = server.open_session(V_OLD).await;
    let mut reader = server.call_emit(&old, V_OLD, 2, 0).await;
    let first = reader.next().await.unwrap();
    assert!(
        first.id.as_deref().unwrap().ends_with("-1"),
        "no priming event before 2025-11-25: {first:?}"
    );
    assert_eq!(first.retry, None);
    assert!(!first.data.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_closes_connections_and_the_client_resumes_to_the_end() {
    let polling = Polling {
        after_events: Some(100),
        after: None,
    };
    let server = start(
        SseResumeLayer::builder(MemoryEventStore::default())
            .polling(polling)
            .build(),
    )
    .await;
    let session = server.open_session(V_NEW).await;
    let mut reader = server.call_emit(&session, V_NEW, 1000, 0).await;
    let mut collected = Collected::default();
    let mut last_id = None;
    let mut connections = 1;
    loop {
        let mut events = 0;
        let mut closing_retry = false;
        while let Some(seen) = reader.next().await {
            if seen.id.is_none() && seen.retry.is_some() {
                closing_retry = true;
                continue;
            }
            collected.take(&seen);
            last_id = seen.id.clone().or(last_id);
            events += 1;
        }
        if collected.results == 1 {
            break;
        }
        assert!(
            events <= 101,
            "a polled connection carries at most 100 events (+ priming): {events}"
        );
        assert!(
            closing_retry,
            "the server says when to come back before it closes"
        );
        let (status, body) = server
            .resume(&session, V_NEW, last_id.as_deref().unwrap())
            .await;
        assert_eq!(status, StatusCode::OK);
        reader = Reader {
            body,
            buffer: String::new(),
        };
        connections += 1;
    }
    assert!(
        connections >= 10,
        "{connections} connections for 1001 events at 100 each"
    );
    collected.assert_exactly_once_in_order(1000, "polling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateless_era_disconnect_cancels_the_handler() {
    let server = start(
        SseResumeLayer::builder(MemoryEventStore::default())
            .keep_alive(Duration::from_millis(100))
            .build(),
    )
    .await;
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}});
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "hang", "arguments": {}, "_meta": meta}});
    let request = Request::post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "hang")
        .body(Full::from(call.to_string()))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), server.client.request(request))
        .await
        .expect("the stream starts with the handler's first message")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    assert!(response.headers().get("mcp-session-id").is_none());
    let mut reader = Reader {
        body: response.into_body(),
        buffer: String::new(),
    };
    // The handler's first message, then (it hangs) keep-alive comments.
    let mut raw = String::new();
    while !raw.contains(": keep-alive") {
        let frame = tokio::time::timeout(Duration::from_secs(5), reader.body.frame())
            .await
            .expect("keep-alive comments flow while the handler is silent")
            .unwrap()
            .unwrap();
        raw.push_str(std::str::from_utf8(&frame.into_data().unwrap()).unwrap());
    }
    assert!(raw.contains("\"hanging\":true"), "{raw}");
    assert!(
        !raw.contains("id:"),
        "no event ids in the stateless era: {raw}"
    );
    assert_eq!(server.cancelled.load(Ordering::SeqCst), 0);
    drop(reader);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.cancelled.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the handler was not cancelled by the disconnect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.store.stored_events(),
        0,
        "nothing of the stateless era is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_stream_is_drained_only_for_the_drain_timeout() {
    let resume = SseResumeLayer::builder(MemoryEventStore::default())
        .drain_timeout(Duration::from_millis(200))
        .build();
    let server = start(resume).await;
    let session = server.open_session(V_NEW).await;
    // 200 events, 20 ms apart: four seconds of work nobody will read.
    let mut reader = server.call_emit(&session, V_NEW, 200, 20).await;
    reader.next().await.unwrap();
    reader.next().await.unwrap();
    drop(reader);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stored = server.store.stored_events();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.store.stored_events(),
        stored,
        "the drain stopped after its timeout"
    );
    assert!(
        stored < 100,
        "it did not run on to the end: {stored} events stored"
    );
}

/// Counts the log notifications a real MCP client receives.
#[derive(Clone, Default)]
struct CountingClient {
    logs: Arc<std::sync::Mutex<Vec<u64>>>,
}

impl rmcp::ClientHandler for CountingClient {
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        if let Some(seq) = params.data["seq"].as_u64() {
            self.logs.lock().unwrap().push(seq);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_reads_the_layers_ids_priming_and_events() {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let server = start(SseResumeLayer::new()).await;
    let handler = CountingClient::default();
    let logs = handler.logs.clone();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.url.clone()),
    );
    let client = handler
        .serve(transport)
        .await
        .expect("a real MCP client initializes through the layers");
    let mut arguments = serde_json::Map::new();
    arguments.insert("count".into(), json!(500));
    let result = client
        .call_tool(CallToolRequestParams::new("emit").with_arguments(arguments))
        .await
        .expect("the tool result arrives on the layer's stream");
    assert!(
        serde_json::to_string(&result.content)
            .unwrap()
            .contains("emitted 500")
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while logs.lock().unwrap().len() < 500 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the client got {} of 500 notifications",
            logs.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // rmcp runs notification handlers concurrently, so arrival order at the
    // handler is not wire order (the raw-HTTP tests above check wire order);
    // here: each of the 500 exactly once.
    let mut seen = logs.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..500).collect::<Vec<_>>(),
        "every notification exactly once"
    );
    assert!(
        server.store.stored_events() >= 501,
        "the events went through the store"
    );
    client.cancel().await.unwrap();
}

/// The session layer hands its `DELETE` to the layers inside with the
/// session's context (the root crate's `ending_a_session_purges_its_events`
/// tests the real one stacked with this layer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_in_a_session_purges_its_events() {
    let server = start(SseResumeLayer::new()).await;
    let session = server.open_session(V_NEW).await;
    let mut reader = server.call_emit(&session, V_NEW, 20, 0).await;
    while reader.next().await.is_some() {}
    assert_eq!(server.store.stored_events(), 21);
    let request = Request::delete(&server.url)
        .header("mcp-session-id", session.as_str())
        .header("mcp-protocol-version", V_NEW)
        .body(Full::default())
        .unwrap();
    server.client.request(request).await.unwrap();
    assert_eq!(
        server.store.stored_events(),
        0,
        "the session's events went with it"
    );
}
