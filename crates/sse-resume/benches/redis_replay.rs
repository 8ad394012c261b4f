//! `RedisEventStore` against a local `redis-server` the bench starts itself
//! (loopback, no persistence): replaying 10 000 events after a cursor (the
//! resume of a client that missed them), and appending one event.
//!
//! ```text
//! cargo bench -p mcp-sse-resume --features redis --bench redis_replay -- --warm-up-time 1 --measurement-time 5
//! ```

#![allow(clippy::unwrap_used, clippy::panic, missing_docs)] // A benchmark that fails loudly.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_guard_test_support::RedisServer;
use mcp_sse_resume::{EventStore, EventStoreLimits, RedisEventStore, Replay, SseEvent, StreamKey};

/// A typical progress notification, about 150 bytes (as in the memory bench).
fn notification(seq: u64) -> SseEvent {
    SseEvent {
        event: None,
        data: format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":"tok-1","progress":{seq},"total":100000,"message":"step {seq}"}}}}"#
        ),
        retry: None,
    }
}

fn benches(c: &mut Criterion) {
    let redis = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(async {
        RedisEventStore::builder(redis.url())
            .limits(EventStoreLimits {
                max_events_per_stream: 20_000,
                max_bytes_per_session: 64 * 1024 * 1024,
                ..EventStoreLimits::default()
            })
            .build()
            .await
            .unwrap()
    });

    let big_key = runtime.block_on(async {
        let key = StreamKey {
            session: "bench".into(),
            stream: store.open_stream("bench", "owner").await.unwrap(),
        };
        for seq in 1..=20_000 {
            store.append(&key, notification(seq)).await.unwrap();
        }
        key
    });
    c.bench_function(
        "redis: replay 10000 events after a cursor (of 20000)",
        |b| {
            b.to_async(&runtime).iter(|| {
                let (store, key) = (&store, &big_key);
                async move {
                    match store.read_after(key, 10_000, 10_000).await.unwrap() {
                        Replay::Events { events, .. } => {
                            assert_eq!(events.len(), 10_000);
                            assert_eq!(events[0].0, 10_001);
                            black_box(events)
                        }
                        other => panic!("{other:?}"),
                    }
                }
            })
        },
    );

    c.bench_function("redis: replay 100 events after a cursor (of 20000)", |b| {
        b.to_async(&runtime).iter(|| {
            let (store, key) = (&store, &big_key);
            async move {
                match store.read_after(key, 19_900, 100).await.unwrap() {
                    Replay::Events { events, .. } => black_box(events),
                    other => panic!("{other:?}"),
                }
            }
        })
    });

    let capped = store.with_limits(EventStoreLimits::default()).unwrap();
    let key = runtime.block_on(async {
        StreamKey {
            session: "append".into(),
            stream: capped.open_stream("append", "owner").await.unwrap(),
        }
    });
    let mut seq = 0u64;
    c.bench_function("redis: append one event (10k-per-stream cap)", |b| {
        b.to_async(&runtime).iter(|| {
            seq += 1;
            let event = notification(seq);
            let (store, key) = (&capped, &key);
            async move { black_box(store.append(key, event).await.unwrap()) }
        })
    });
    drop(redis);
}

criterion_group!(replay, benches);
criterion_main!(replay);
