//! Bytes of overhead per stored event in the in-memory event store: resident
//! set growth while 100 000 events are stored, minus their data, per event.
//!
//! ```text
//! cargo bench -p mcp-sse-resume --bench stored_event_memory
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // A measurement that fails loudly.

mod support;

use mcp_guard_test_support::memory::resident_bytes;
use mcp_sse_resume::{EventStore, EventStoreLimits, MemoryEventStore, SseEvent};
use support::{open, runtime};

const EVENTS: u64 = 100_000;
const DATA_BYTES: usize = 150;

fn main() {
    runtime().block_on(async {
        let store = MemoryEventStore::new(EventStoreLimits {
            max_events_per_stream: EVENTS as usize,
            max_bytes_per_session: usize::MAX / 2,
            max_bytes_per_principal: usize::MAX / 2,
            max_total_bytes: usize::MAX / 2,
            ..EventStoreLimits::default()
        })
        .unwrap();
        let key = open(&store, "measure").await;
        let before = resident_bytes();
        for _ in 0..EVENTS {
            let event = SseEvent {
                event: None,
                data: "x".repeat(DATA_BYTES),
                retry: None,
            };
            store.append(&key, event).await.unwrap();
        }
        let after = resident_bytes();
        assert_eq!(store.stored_events() as u64, EVENTS);
        let per_event = (after - before) as f64 / EVENTS as f64;
        println!(
            "stored events: {EVENTS} of {DATA_BYTES} data bytes; resident set grew {:.1} MiB; {per_event:.0} bytes per event, {:.0} bytes of overhead per event",
            (after - before) as f64 / (1024.0 * 1024.0),
            per_event - DATA_BYTES as f64
        );
    });
}
