//! What the event store benchmarks share: the runtime, a stream to fill, a
//! typical event, and the replay they time.

#![allow(dead_code)] // Each benchmark uses its own part.

use mcp_sse_resume::{EventStore, Replay, SseEvent, StreamKey};

/// A current-thread runtime with timers and I/O (the Redis store needs both).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A typical progress notification, about 150 bytes.
pub(crate) fn notification(seq: u64) -> SseEvent {
    SseEvent {
        event: None,
        data: format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":"tok-1","progress":{seq},"total":100000,"message":"step {seq}"}}}}"#
        ),
        retry: None,
    }
}

/// A new stream of `session` (owned by `owner`).
pub(crate) async fn open<St: EventStore>(store: &St, session: &str) -> StreamKey {
    StreamKey {
        session: session.into(),
        stream: store.open_stream(session, "owner").await.unwrap(),
    }
}

/// A new stream holding `count` notifications.
pub(crate) async fn filled<St: EventStore>(store: &St, session: &str, count: u64) -> StreamKey {
    let key = open(store, session).await;
    for seq in 1..=count {
        store.append(&key, notification(seq)).await.unwrap();
    }
    key
}

/// The events after `after`, at most `max`; a benchmark fails on anything else.
pub(crate) async fn events_after<St: EventStore>(
    store: &St,
    key: &StreamKey,
    after: u64,
    max: usize,
) -> Vec<(u64, SseEvent)> {
    match store.read_after(key, after, max).await.unwrap() {
        Replay::Events { events, .. } => events,
        other => panic!("expected events after {after}, got {other:?}"),
    }
}
