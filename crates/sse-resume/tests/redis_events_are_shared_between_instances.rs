//! Two server instances, each with its own `RedisEventStore` (its own
//! connections) on the same Redis: what one appends the other replays,
//! follows live (its waiters wake on the other's appends and close), sees
//! evicted, and sees purged; sequences stay unique when both append; and a
//! client resumes through the second instance's layers a stream the first
//! instance's layers stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use mcp_guard_test_support::RedisServer;
use mcp_sse_resume::{EventStore, EventStoreLimits, RedisEventStore, Replay, StreamKey};
use support::{CALL, INITIALIZE, datas, event, ids, post, resume, server};
use tower::ServiceExt;

async fn instance(redis: &RedisServer, limits: EventStoreLimits) -> RedisEventStore {
    RedisEventStore::builder(redis.url())
        .key_prefix("shared:")
        .limits(limits)
        .build()
        .await
        .unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stored_through_one_instance_resumes_through_the_other() {
    let redis = RedisServer::start();
    // The session stand-in keeps no state: both instances know every
    // session, as two on one shared session store would.
    let first = server(instance(&redis, EventStoreLimits::default()).await);
    let second = server(instance(&redis, EventStoreLimits::default()).await);

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
    let resume = resume(&session, &seen[1]);
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
