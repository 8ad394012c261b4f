//! `RedisEventStore` against a local `redis-server` the bench starts itself
//! (loopback, no persistence): replaying 10 000 events after a cursor (the
//! resume of a client that missed them), and appending one event.
//!
//! ```text
//! cargo bench -p mcp-sse-resume --features redis --bench redis_replay -- --warm-up-time 1 --measurement-time 5
//! ```

#![allow(clippy::unwrap_used, clippy::panic, missing_docs)] // A benchmark that fails loudly.

mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_guard_test_support::RedisServer;
use mcp_sse_resume::{EventStore, EventStoreLimits, RedisEventStore};
use support::{events_after, filled, notification, open, runtime};

fn benches(c: &mut Criterion) {
    let redis = RedisServer::start();
    let runtime = runtime();
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

    let big_key = runtime.block_on(filled(&store, "bench", 20_000));
    c.bench_function(
        "redis: replay 10000 events after a cursor (of 20000)",
        |b| {
            b.to_async(&runtime).iter(|| {
                let (store, key) = (&store, &big_key);
                async move {
                    let events = events_after(store, key, 10_000, 10_000).await;
                    assert_eq!(events.len(), 10_000);
                    assert_eq!(events[0].0, 10_001);
                    black_box(events)
                }
            })
        },
    );

    c.bench_function("redis: replay 100 events after a cursor (of 20000)", |b| {
        b.to_async(&runtime).iter(|| {
            let (store, key) = (&store, &big_key);
            async move { black_box(events_after(store, key, 19_900, 100).await) }
        })
    });

    let capped = store.with_limits(EventStoreLimits::default()).unwrap();
    let key = runtime.block_on(open(&capped, "append"));
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
