//! The in-memory event store: the cost of storing an event, and of replaying
//! 10 000 events after a cursor.
//!
//! ```text
//! cargo bench -p mcp-sse-resume --bench event_store
//! ```

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark that fails loudly.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_sse_resume::{EventStore, EventStoreLimits, MemoryEventStore, Replay, SseEvent, StreamKey};

/// A typical progress notification, about 150 bytes.
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let store = MemoryEventStore::default();
    let key = runtime.block_on(async {
        StreamKey {
            session: "bench".into(),
            stream: store.open_stream("bench", "owner").await.unwrap(),
        }
    });
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
    let big_key = runtime.block_on(async {
        let key = StreamKey {
            session: "bench".into(),
            stream: big.open_stream("bench", "owner").await.unwrap(),
        };
        for seq in 1..=20_000 {
            big.append(&key, notification(seq)).await.unwrap();
        }
        key
    });
    c.bench_function("replay 10000 events after a cursor (of 20000)", |b| {
        b.to_async(&runtime).iter(|| {
            let (big, key) = (&big, &big_key);
            async move {
                match big.read_after(key, 10_000, 10_000).await.unwrap() {
                    Replay::Events { events, .. } => {
                        assert_eq!(events.len(), 10_000);
                        black_box(events)
                    }
                    other => panic!("{other:?}"),
                }
            }
        })
    });
}

criterion_group!(store, benches);
criterion_main!(store);
