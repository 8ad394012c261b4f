//! One principal flooding its own streams cannot evict another principal's
//! events: through protocol guard → (a stand-in for bearer auth) → (a
//! stand-in for the session layer) → sse-resume → an rmcp server, over real
//! HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Test helpers fail loudly by design.
// Log notifications are deprecated by SEP-2577 for later revisions, but are part
// of the 2025 revisions these streams speak.
#![allow(deprecated)]

mod support;

use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use mcp_sse_resume::{EventStoreLimits, MemoryEventStore, SseResumeLayer};
use serde_json::{Value, json};
use support::Server;

const VERSION: &str = "2025-11-25";

async fn start(store: MemoryEventStore) -> Server {
    Server::start(SseResumeLayer::builder(store).build()).await
}

/// The events of an SSE body, read to its end: `(id, data)`, priming left out.
async fn events(body: hyper::body::Incoming) -> Vec<(String, Value)> {
    let bytes = tokio::time::timeout(Duration::from_secs(20), body.collect())
        .await
        .expect("the stream ends")
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let id = block.lines().find_map(|line| line.strip_prefix("id: "))?;
            let data = block.lines().find_map(|line| line.strip_prefix("data: "))?;
            let data = serde_json::from_str(data).ok()?;
            Some((id.to_owned(), data))
        })
        .collect()
}

fn is_result(data: &Value) -> bool {
    data["id"] == 2 && data["result"]["content"][0]["text"] == "emitted 3"
}

impl Server {
    async fn send_as(
        &self,
        user: &str,
        method: Method,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> http::Response<hyper::body::Incoming> {
        let mut headers = headers.to_vec();
        headers.extend([("x-test-user", user), ("mcp-protocol-version", VERSION)]);
        self.send(method, &headers, body).await
    }

    /// initialize + initialized as `user`; the session id.
    async fn open_session(&self, user: &str) -> String {
        self.initialize(VERSION, &[("x-test-user", user)]).await
    }

    /// Calls `emit` and reads its stream to the end.
    async fn emit(&self, user: &str, session: &str, count: u64, size: u64) -> Vec<(String, Value)> {
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "emit", "arguments": {"count": count, "size": size}}});
        let response = self
            .send_as(
                user,
                Method::POST,
                &[("mcp-session-id", session)],
                Some(call),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        events(response.into_body()).await
    }

    async fn resume(
        &self,
        user: &str,
        session: &str,
        last_event_id: &str,
    ) -> (StatusCode, hyper::body::Incoming) {
        let response = self
            .send_as(
                user,
                Method::GET,
                &[
                    ("mcp-session-id", session),
                    ("last-event-id", last_event_id),
                ],
                None,
            )
            .await;
        (response.status(), response.into_body())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_victims_result_stays_resumable_while_another_principal_floods() {
    // 64 KiB overall, 16 KiB per principal; the flood below is twice the store.
    let store = MemoryEventStore::new(EventStoreLimits {
        max_bytes_per_principal: 16 * 1024,
        max_total_bytes: 64 * 1024,
        ..EventStoreLimits::default()
    })
    .unwrap();
    let server = start(store).await;

    // Bob's call finishes; he has read its first event only (say his
    // connection dropped) and will resume for the result later.
    let bob = server.open_session("bob").await;
    let seen = server.emit("bob", &bob, 3, 100).await;
    assert!(is_result(&seen.last().unwrap().1), "{seen:?}");
    let first = seen.first().unwrap().0.clone();

    // Mallory floods streams of her own: 2 sessions × 8 calls × 9 KiB, each
    // call within her budget, all of them twice the store.
    let mut mallory_first = None;
    for _ in 0..2 {
        let session = server.open_session("mallory").await;
        for _ in 0..8 {
            let flood = server.emit("mallory", &session, 8, 1000).await;
            assert_eq!(flood.len(), 9, "the flood itself is delivered");
            mallory_first.get_or_insert((session.clone(), flood[0].0.clone()));
        }
    }

    let (status, body) = server.resume("bob", &bob, &first).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "bob's stored stream survives the flood"
    );
    let rest = events(body).await;
    assert_eq!(
        rest.len(),
        3,
        "bob gets every event after his cursor: {rest:?}"
    );
    assert!(
        is_result(&rest.last().unwrap().1),
        "bob's result is still there"
    );

    // The flood cost the flooder: her own oldest events went.
    let (session, id) = mallory_first.unwrap();
    let (status, _) = server.resume("mallory", &session, &id).await;
    assert!(
        status == StatusCode::GONE || status == StatusCode::BAD_REQUEST,
        "the flooder's own oldest stream paid for the flood: {status}"
    );
}
