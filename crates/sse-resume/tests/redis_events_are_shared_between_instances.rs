//! Two server instances, each with its own `RedisEventStore` (its own
//! connections) on the same Redis: what one appends the other replays,
//! follows live (its waiters wake on the other's appends and close), sees
//! evicted, and sees purged; sequences stay unique when both append; and a
//! client resumes through the second instance's layers a stream the first
//! instance's layers stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::GuardBody;
use mcp_guard_test_support::RedisServer;
use mcp_session::store::MemorySessionStore;
use mcp_session::{Mode, SessionGuardLayer};
use mcp_sse_resume::{
    EventStore, EventStoreLimits, RedisEventStore, Replay, SseEvent, SseResumeLayer, StreamKey,
};
use tower::{ServiceBuilder, ServiceExt};

fn event(data: &str) -> SseEvent {
    SseEvent {
        data: data.to_owned(),
        ..SseEvent::default()
    }
}

async fn instance(redis: &RedisServer, limits: EventStoreLimits) -> RedisEventStore {
    RedisEventStore::builder(redis.url())
        .key_prefix("shared:")
        .limits(limits)
        .build()
        .await
        .unwrap()
}

fn datas(replay: Replay) -> (Vec<(u64, String)>, bool) {
    match replay {
        Replay::Events { events, closed } => (
            events
                .into_iter()
                .map(|(seq, event)| (seq, event.data))
                .collect(),
            closed,
        ),
        other => panic!("expected events, got {other:?}"),
    }
}

/// Spawns `wait_after` on `store`; the handle yields how long it waited.
fn waiter(
    store: &RedisEventStore,
    key: &StreamKey,
    after: u64,
) -> tokio::task::JoinHandle<Duration> {
    let (store, key) = (store.clone(), key.clone());
    tokio::spawn(async move {
        let started = Instant::now();
        store
            .wait_after(&key, after, Duration::from_secs(20))
            .await
            .unwrap();
        started.elapsed()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_appends_the_other_replays_and_follows_live() {
    let redis = RedisServer::start();
    let writer = instance(&redis, EventStoreLimits::default()).await;
    let reader = instance(&redis, EventStoreLimits::default()).await;

    let key = StreamKey {
        session: "session-1".into(),
        stream: writer.open_stream("session-1", "owner").await.unwrap(),
    };
    for index in 1..=5 {
        assert_eq!(
            writer
                .append(&key, event(&format!("e{index}")))
                .await
                .unwrap(),
            index
        );
    }
    let (events, closed) = datas(reader.read_after(&key, 2, 100).await.unwrap());
    assert_eq!(
        events,
        [(3, "e3".into()), (4, "e4".into()), (5, "e5".into())],
        "the other instance replays exactly the suffix"
    );
    assert!(!closed);

    // The live tail: a reader blocked on one instance wakes on the other's append…
    let waiting = waiter(&reader, &key, 5);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "nothing new yet: the reader waits");
    writer.append(&key, event("e6")).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("an append on another instance wakes the waiter")
        .unwrap();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let (events, _) = datas(reader.read_after(&key, 5, 100).await.unwrap());
    assert_eq!(events, [(6, "e6".into())]);

    // …and on the other's close.
    let waiting = waiter(&reader, &key, 6);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    writer.close_stream(&key).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("closing on another instance wakes the waiter")
        .unwrap();
    let (events, closed) = datas(reader.read_after(&key, 6, 100).await.unwrap());
    assert!(events.is_empty());
    assert!(closed, "the other instance sees the stream closed");

    // Purged on one instance: unknown on the other, and no appends there.
    reader.purge_session("session-1").await.unwrap();
    assert_eq!(
        writer.read_after(&key, 0, 10).await.unwrap(),
        Replay::Unknown
    );
    assert!(writer.append(&key, event("late")).await.is_err());
    assert_eq!(
        writer.stored_bytes().await.unwrap(),
        0,
        "purging frees every byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_stay_unique_when_two_instances_append_to_one_stream() {
    let redis = RedisServer::start();
    let first = Arc::new(instance(&redis, EventStoreLimits::default()).await);
    let second = Arc::new(instance(&redis, EventStoreLimits::default()).await);
    let key = StreamKey {
        session: "s".into(),
        stream: first.open_stream("s", "owner").await.unwrap(),
    };
    let mut tasks = Vec::new();
    for index in 0..60 {
        let store = if index % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append(&key, event(&format!("{index}")))
                .await
                .unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=60).collect::<Vec<u64>>());
    let (events, _) = datas(second.read_after(&key, 0, 1000).await.unwrap());
    assert_eq!(events.len(), 60);
}

#[tokio::test]
async fn eviction_by_one_instance_is_reported_by_the_other() {
    let redis = RedisServer::start();
    let capped = EventStoreLimits {
        max_events_per_stream: 3,
        ..EventStoreLimits::default()
    };
    let writer = instance(&redis, capped).await;
    let reader = instance(&redis, EventStoreLimits::default()).await;
    let key = StreamKey {
        session: "s".into(),
        stream: writer.open_stream("s", "owner").await.unwrap(),
    };
    for index in 1..=10 {
        writer
            .append(&key, event(&format!("e{index}")))
            .await
            .unwrap();
    }
    assert_eq!(
        reader.read_after(&key, 2, 10).await.unwrap(),
        Replay::Evicted { oldest_kept: 8 },
        "a cursor whose successors were trimmed is told so (the layer answers 410)"
    );
    let (events, _) = datas(reader.read_after(&key, 7, 10).await.unwrap());
    assert_eq!(
        events.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [8, 9, 10]
    );
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#;
const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"emit"}}"#;

type Svc = tower::util::BoxCloneService<Request<Full<Bytes>>, Response<Bytes>, Infallible>;

/// session (shared `MemorySessionStore`, standing in for a shared session store) →
/// sse-resume (this instance's Redis event store) → a handler that answers
/// initialize in JSON and anything else with five SSE events.
fn server(sessions: MemorySessionStore, events: RedisEventStore) -> Svc {
    let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let response = if body.windows(10).any(|w| w == b"initialize") {
            Response::builder()
                .header("content-type", "application/json")
                .body(Full::from(
                    r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#,
                ))
        } else {
            let events: String = (1..=5)
                .map(|n| format!("data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"n\":{n}}}}}\n\n"))
                .collect();
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Full::from(events))
        };
        Ok::<_, Infallible>(response.unwrap())
    });
    let service = ServiceBuilder::new()
        .layer(
            SessionGuardLayer::builder(Mode::Issue, sessions)
                .build()
                .unwrap(),
        )
        .layer(SseResumeLayer::builder(events).build())
        .service(handler);
    tower::util::BoxCloneService::new(service.and_then(|response: Response<_>| async move {
        let (parts, body) = response.into_parts();
        let bytes = BodyExt::collect(body).await.unwrap().to_bytes();
        Ok(Response::from_parts(parts, bytes))
    }))
}

fn post(session: Option<&str>, body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18");
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.body(Full::from(body)).unwrap()
}

fn ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stored_through_one_instance_resumes_through_the_other() {
    let redis = RedisServer::start();
    let sessions = MemorySessionStore::new();
    let first = server(
        sessions.clone(),
        instance(&redis, EventStoreLimits::default()).await,
    );
    let second = server(
        sessions,
        instance(&redis, EventStoreLimits::default()).await,
    );

    let initialized = first.clone().oneshot(post(None, INITIALIZE)).await.unwrap();
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let streamed = first
        .clone()
        .oneshot(post(Some(&session), CALL))
        .await
        .unwrap();
    let text = String::from_utf8(streamed.body().to_vec()).unwrap();
    let seen = ids(&text);
    assert_eq!(seen.len(), 5, "{text}");

    // The client kept only the first two events; it resumes on the other instance.
    let resume = Request::builder()
        .method(Method::GET)
        .uri("/mcp")
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header("mcp-session-id", &session)
        .header("last-event-id", &seen[1])
        .body(Full::default())
        .unwrap();
    let resumed = tokio::time::timeout(Duration::from_secs(10), second.clone().oneshot(resume))
        .await
        .expect("the closed stream ends the resumed response")
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::OK);
    let text = String::from_utf8(resumed.body().to_vec()).unwrap();
    assert_eq!(
        ids(&text),
        seen[2..],
        "exactly the missed events, from the other instance: {text}"
    );
    assert!(text.contains(r#""n":3"#) && text.contains(r#""n":5"#));
}
