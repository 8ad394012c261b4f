//! The in-memory event store: the cost of storing an event, and of replaying
//! 10 000 events after a cursor.
//!
//! ```text
//! cargo bench -p mcp-sse-resume --bench event_store
//! ```

#![allow(clippy::unwrap_used, clippy::panic, missing_docs)] // A benchmark that fails loudly.

mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_sse_resume::{EventStore, EventStoreLimits, MemoryEventStore};
use support::{events_after, filled, notification, open, runtime};

fn benches(c: &mut Criterion) {
    let runtime = runtime();

    let store = MemoryEventStore::default();
    let key = runtime.block_on(open(&store, "bench"));
    let mut seq = 0u64;
    c.bench_function(
        "append one event (steady state at the 10k-per-stream cap)",
        |b| {
            b.to_async(&runtime).iter(|| {
                seq += 1;
                let event = notification(seq);
                let (store, key) = (&store, &key);
                async move { black_box(store.append(key, event).await.unwrap()) }
            })
        },
    );

    let big = MemoryEventStore::new(EventStoreLimits {
        max_events_per_stream: 20_000,
        max_bytes_per_session: 64 * 1024 * 1024,
        max_bytes_per_principal: 64 * 1024 * 1024,
        ..EventStoreLimits::default()
    })
    .unwrap();
    let big_key = runtime.block_on(filled(&big, "bench", 20_000));
    c.bench_function("replay 10000 events after a cursor (of 20000)", |b| {
        b.to_async(&runtime).iter(|| {
            let (big, key) = (&big, &big_key);
            async move {
                let events = events_after(big, key, 10_000, 10_000).await;
                assert_eq!(events.len(), 10_000);
                black_box(events)
            }
        })
    });
}

criterion_group!(store, benches);
criterion_main!(store);
