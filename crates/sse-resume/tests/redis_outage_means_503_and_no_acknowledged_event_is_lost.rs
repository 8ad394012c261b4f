//! When Redis goes away, the Redis event store fails fast with a
//! `StoreError` (no hang, no panic, no fallback to memory), the sse-resume
//! layer answers `503` with `Retry-After` and a JSON-RPC error, and when
//! Redis is back the same store serves again, every event it acknowledged
//! before the outage still there to replay.
//!
//! The outage is a real crash: `redis-server` is killed (SIGKILL) and started
//! again on the same port. That breaks the store's connections, so the test
//! also proves the store reconnects by itself. Redis is run with an
//! append-only file fsynced on every write (`--appendonly yes --appendfsync
//! always`), so what it acknowledged survives the crash — the property under
//! test is ours: `append` returns a sequence only once Redis has the event
//! (nothing buffered or fire-and-forget on our side). A `SIGSTOP` pause would
//! keep the data too, but never breaks a connection; it is the second test,
//! for the hung-server bound.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use mcp_guard_test_support::RedisServer;
use mcp_guard_test_support::outage::{self, COMMAND_TIMEOUT, FAILS_WITHIN};
use mcp_sse_resume::{EventId, EventStore, RedisEventStore, Replay, SseEvent, StreamKey};
use support::{CALL, INITIALIZE, Svc, ids, post, resume, server};

async fn store(redis: &RedisServer) -> RedisEventStore {
    RedisEventStore::builder(redis.url())
        .command_timeout(COMMAND_TIMEOUT)
        .retry_after(Duration::from_secs(3))
        .build()
        .await
        .unwrap()
}

async fn send(service: &Svc, request: Request<Full<Bytes>>) -> (Response<Bytes>, Duration) {
    outage::timed(service, request).await
}

fn assert_unavailable(case: &str, response: &Response<Bytes>, took: Duration) {
    outage::assert_unavailable(case, response, "event", "3");
    outage::assert_fails_fast(case, took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_redis_means_503_and_acknowledged_events_replay_after_restart() {
    let mut redis = RedisServer::start_persistent();
    let store = store(&redis).await;
    let service = server(store.clone());

    let (initialized, _) = send(&service, post(None, INITIALIZE)).await;
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (streamed, _) = send(&service, post(Some(&session), CALL)).await;
    let seen = ids(std::str::from_utf8(streamed.body()).unwrap());
    assert_eq!(seen.len(), 5, "every event was stored and sent");

    // An idle live-tail wait leaves its blocking connection in the pool; the
    // crash kills that connection, and the store must not reuse it blindly.
    let tail = StreamKey {
        session: session.as_str().into(),
        stream: store.open_stream(&session, "owner").await.unwrap(),
    };
    store
        .wait_after(&tail, 0, Duration::from_millis(50))
        .await
        .unwrap();

    redis.stop();
    let (refused, took) = send(&service, resume(&session, &seen[1])).await;
    assert_unavailable("a resume", &refused, took);
    let (refused, took) = send(&service, post(Some(&session), CALL)).await;
    assert_unavailable("a new event stream", &refused, took);

    // Every store call fails with a StoreError within the bound.
    let key = StreamKey {
        session: session.as_str().into(),
        stream: seen[0].parse::<EventId>().unwrap().stream().clone(),
    };
    let started = Instant::now();
    let error = store.open_stream(&session, "owner").await.unwrap_err();
    assert_eq!(error.retry_after(), Duration::from_secs(3));
    assert!(store.read_after(&key, 0, 10).await.is_err());
    assert!(
        store
            .wait_after(&key, 5, Duration::from_secs(30))
            .await
            .is_err()
    );
    assert!(store.close_stream(&key).await.is_err());
    assert!(store.purge_session(&session).await.is_err());
    assert!(
        started.elapsed() < FAILS_WITHIN,
        "five calls on a stopped Redis: {:?}",
        started.elapsed()
    );

    // Back on the same port, the append-only file reloaded; the same store,
    // not rebuilt, replays what it acknowledged before the crash.
    redis.restart();
    let resumed = outage::once_available(&service, || resume(&session, &seen[1])).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    let text = std::str::from_utf8(resumed.body()).unwrap();
    assert_eq!(ids(text), seen[2..], "no acknowledged event lost: {text}");
    let (streamed, _) = send(&service, post(Some(&session), CALL)).await;
    assert_eq!(
        ids(std::str::from_utf8(streamed.body()).unwrap()).len(),
        5,
        "new streams work again: {streamed:?}"
    );
    let waiter = {
        let (store, tail) = (store.clone(), tail.clone());
        tokio::spawn(async move { store.wait_after(&tail, 0, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    store
        .append(
            &tail,
            SseEvent {
                data: "live again".into(),
                ..SseEvent::default()
            },
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the live tail wakes after the restart")
        .unwrap()
        .expect("the wait does not fail on a connection the crash killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_fails_calls_within_the_timeout_and_the_stream_goes_on_after() {
    let redis = RedisServer::start();
    let store = store(&redis).await;
    let key = StreamKey {
        session: "s".into(),
        stream: store.open_stream("s", "owner").await.unwrap(),
    };
    for index in 1..=3 {
        store
            .append(
                &key,
                SseEvent {
                    data: format!("e{index}"),
                    ..SseEvent::default()
                },
            )
            .await
            .unwrap();
    }

    redis.pause();
    let started = Instant::now();
    assert!(store.read_after(&key, 0, 10).await.is_err());
    assert!(
        store
            .wait_after(&key, 3, Duration::from_secs(30))
            .await
            .is_err(),
        "a live-tail wait on a hung Redis fails, not waits 30 s"
    );
    assert!(
        store
            .append(
                &key,
                SseEvent {
                    data: "during".into(),
                    ..SseEvent::default()
                }
            )
            .await
            .is_err()
    );
    assert!(
        started.elapsed() < FAILS_WITHIN * 3,
        "three calls on a hung Redis, each bounded by the command timeout: {:?}",
        started.elapsed()
    );

    redis.resume();
    // A timed-out append may still run once Redis thaws (it was sent): the
    // stream goes on, contiguous, with nothing acknowledged missing.
    let deadline = Instant::now() + Duration::from_secs(10);
    let seq = loop {
        let appended = store
            .append(
                &key,
                SseEvent {
                    data: "after".into(),
                    ..SseEvent::default()
                },
            )
            .await;
        match appended {
            Ok(seq) => break seq,
            Err(error) => assert!(Instant::now() < deadline, "{error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    match store.read_after(&key, 0, 100).await.unwrap() {
        Replay::Events { events, .. } => {
            let seqs: Vec<u64> = events.iter().map(|(seq, _)| *seq).collect();
            assert_eq!(seqs, (1..=seq).collect::<Vec<u64>>());
            let datas: Vec<&str> = events.iter().map(|(_, e)| e.data.as_str()).collect();
            assert_eq!(datas[..3], ["e1", "e2", "e3"]);
            assert_eq!(datas.last(), Some(&"after"));
        }
        other => panic!("{other:?}"),
    }
}
