//! The contract every [`EventStore`] must pass. A store's tests call [`run`]
//! with a factory of empty stores whose caps are at least the defaults; each
//! check panics with what broke.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use mcp_sse_resume::store::{EventStoreLimits, MemoryEventStore, contract};
//!
//! contract::run(|limits| MemoryEventStore::new(limits).expect("valid limits")).await;
//! # }
//! ```

// A contract check fails by panicking with what broke, like a test.
#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use super::{EventStore, EventStoreLimits, Replay, StreamKey};
use crate::SseEvent;

fn event(text: &str) -> SseEvent {
    SseEvent {
        event: None,
        data: text.to_owned(),
        retry: None,
    }
}

/// Opens a stream of `session`, owned by a principal of the same name.
async fn open<S: EventStore>(store: &S, session: &str) -> StreamKey {
    open_as(store, session, session).await
}

async fn open_as<S: EventStore>(store: &S, session: &str, owner: &str) -> StreamKey {
    StreamKey {
        session: session.into(),
        stream: store
            .open_stream(session, owner)
            .await
            .expect("open_stream"),
    }
}

async fn all_after<S: EventStore>(
    store: &S,
    key: &StreamKey,
    after: u64,
) -> (Vec<(u64, String)>, bool) {
    match store
        .read_after(key, after, usize::MAX)
        .await
        .expect("read_after")
    {
        Replay::Events { events, closed } => (
            events
                .into_iter()
                .map(|(seq, event)| (seq, event.data))
                .collect(),
            closed,
        ),
        other => panic!("expected events after {after}, got {other:?}"),
    }
}

/// Runs every check, each on a fresh store from `fresh(limits)`.
pub async fn run<S, F>(fresh: F)
where
    S: EventStore,
    F: Fn(EventStoreLimits) -> S,
{
    appends_replay_as_the_exact_suffix(fresh(EventStoreLimits::default())).await;
    sessions_never_see_each_others_streams(fresh(EventStoreLimits::default())).await;
    streams_of_one_session_have_distinct_ids(fresh(EventStoreLimits::default())).await;
    closing_marks_the_end(fresh(EventStoreLimits::default())).await;
    the_live_tail_wakes_on_append_and_close(Arc::new(fresh(EventStoreLimits::default()))).await;
    caps_evict_the_oldest_and_say_so(&fresh).await;
    a_full_session_gives_up_a_finished_stream_before_a_running_one(&fresh).await;
    a_stream_its_reader_finished_goes_before_one_still_read(&fresh).await;
    purging_a_session_removes_everything(fresh(EventStoreLimits::default())).await;
    events_keep_their_name_retry_and_lines(fresh(EventStoreLimits::default())).await;
    empty_events_and_streams_can_be_evicted(&fresh).await;
    concurrent_appends_get_distinct_contiguous_sequences(Arc::new(fresh(
        EventStoreLimits::default(),
    )))
    .await;
    one_principal_cannot_crowd_out_another(&fresh).await;
}

async fn appends_replay_as_the_exact_suffix<S: EventStore>(store: S) {
    let key = open(&store, "s1").await;
    for index in 1..=50u64 {
        assert_eq!(
            store
                .append(&key, event(&format!("e{index}")))
                .await
                .expect("append"),
            index,
            "sequences count from 1"
        );
    }
    for cursor in [0u64, 1, 25, 49, 50] {
        let (events, closed) = all_after(&store, &key, cursor).await;
        let expected: Vec<(u64, String)> = (cursor + 1..=50)
            .map(|seq| (seq, format!("e{seq}")))
            .collect();
        assert_eq!(
            events, expected,
            "replay after {cursor} is exactly the suffix"
        );
        assert!(!closed);
    }
    match store.read_after(&key, 0, 10).await.expect("read_after") {
        Replay::Events { events, .. } => assert_eq!(events.len(), 10, "max is honoured"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.read_after(&key, 51, 10).await.expect("read_after"),
        Replay::Unknown,
        "a cursor past the end is unknown"
    );
}

async fn sessions_never_see_each_others_streams<S: EventStore>(store: S) {
    let alice = open(&store, "alice-session").await;
    store
        .append(&alice, event("alice's secret"))
        .await
        .expect("append");
    let forged = StreamKey {
        session: "mallory-session".into(),
        stream: alice.stream.clone(),
    };
    assert_eq!(
        store.read_after(&forged, 0, 10).await.expect("read_after"),
        Replay::Unknown,
        "another session's stream is unknown"
    );
    assert!(
        store.append(&forged, event("injected")).await.is_err(),
        "no appending to another session's stream"
    );
    let (events, _) = all_after(&store, &alice, 0).await;
    assert_eq!(events, [(1, "alice's secret".to_owned())]);
}

async fn streams_of_one_session_have_distinct_ids<S: EventStore>(store: S) {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        assert!(
            seen.insert(open(&store, "s").await.stream),
            "stream ids are unique in a session"
        );
    }
}

async fn closing_marks_the_end<S: EventStore>(store: S) {
    let key = open(&store, "s").await;
    store.append(&key, event("a")).await.expect("append");
    store.append(&key, event("b")).await.expect("append");
    store.close_stream(&key).await.expect("close");
    let (events, closed) = all_after(&store, &key, 0).await;
    assert_eq!(events.len(), 2);
    assert!(closed, "the end of a closed stream says so");
    match store.read_after(&key, 0, 1).await.expect("read_after") {
        Replay::Events { closed, .. } => assert!(!closed, "not closed before its end is reached"),
        other => panic!("{other:?}"),
    }
}

/// A reader waiting (up to 10 s) for news after `after`: joins with how
/// long it waited.
fn spawn_waiter<S: EventStore>(
    store: &Arc<S>,
    key: &StreamKey,
    after: u64,
) -> tokio::task::JoinHandle<Duration> {
    let (store, key) = (store.clone(), key.clone());
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        store
            .wait_after(&key, after, Duration::from_secs(10))
            .await
            .expect("wait");
        started.elapsed()
    })
}

async fn the_live_tail_wakes_on_append_and_close<S: EventStore>(store: Arc<S>) {
    let key = open(&*store, "s").await;
    let waiter = spawn_waiter(&store, &key, 0);
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.append(&key, event("live")).await.expect("append");
    let waited = waiter.await.expect("join");
    assert!(
        waited < Duration::from_secs(5),
        "an append wakes a waiting reader ({waited:?})"
    );

    let closer = spawn_waiter(&store, &key, 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.close_stream(&key).await.expect("close");
    assert!(
        closer.await.expect("join") < Duration::from_secs(5),
        "closing wakes a waiting reader"
    );

    let started = tokio::time::Instant::now();
    let idle = open(&*store, "s").await;
    store
        .wait_after(&idle, 0, Duration::from_millis(100))
        .await
        .expect("wait");
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "with nothing new, the wait lasts its timeout"
    );
}

async fn caps_evict_the_oldest_and_say_so<S, F>(fresh: &F)
where
    S: EventStore,
    F: Fn(EventStoreLimits) -> S,
{
    let store = fresh(EventStoreLimits {
        max_events_per_stream: 5,
        ..EventStoreLimits::default()
    });
    let key = open(&store, "s").await;
    for index in 1..=8 {
        store
            .append(&key, event(&format!("e{index}")))
            .await
            .expect("append");
    }
    assert_eq!(
        store.read_after(&key, 1, 10).await.expect("read"),
        Replay::Evicted { oldest_kept: 4 }
    );
    let (events, _) = all_after(&store, &key, 3).await;
    assert_eq!(
        events.first().map(|(seq, _)| *seq),
        Some(4),
        "the newest events are kept"
    );

    let store = fresh(EventStoreLimits {
        max_streams_per_session: 2,
        ..EventStoreLimits::default()
    });
    // Every stream still running (none closed): the cap is a hard bound, so
    // the oldest goes all the same.
    let first = open(&store, "s").await;
    store.append(&first, event("x")).await.expect("append");
    let second = open(&store, "s").await;
    let third = open(&store, "s").await;
    assert_eq!(
        store.read_after(&first, 0, 10).await.expect("read"),
        Replay::Unknown,
        "the oldest stream goes"
    );
    for kept in [&second, &third] {
        assert_eq!(
            all_after(&store, kept, 0).await,
            (Vec::new(), false),
            "the newer running streams stay"
        );
    }

    let store = fresh(EventStoreLimits {
        max_bytes_per_session: 100,
        ..EventStoreLimits::default()
    });
    let key = open(&store, "s").await;
    for index in 0..10 {
        store
            .append(&key, event(&format!("{index:0>20}")))
            .await
            .expect("append");
    }
    match store.read_after(&key, 0, 100).await.expect("read") {
        Replay::Evicted { oldest_kept } => assert!(oldest_kept > 1),
        other => panic!("bytes per session are capped: {other:?}"),
    }
}

/// Over the per-session stream cap, a stream whose handler is still running
/// (not closed) is given up last: its next event would have nowhere to go,
/// and its client would miss its result. A closed stream nobody reads goes
/// first, then a closed one with a reader, then (all running) the oldest.
async fn a_full_session_gives_up_a_finished_stream_before_a_running_one<S, F>(fresh: &F)
where
    S: EventStore,
    F: Fn(EventStoreLimits) -> S,
{
    let store = fresh(EventStoreLimits {
        max_streams_per_session: 2,
        ..EventStoreLimits::default()
    });
    // A: still running (its handler has more to say). B: finished.
    let running = open(&store, "s").await;
    store.append(&running, event("a1")).await.expect("append");
    let finished = open(&store, "s").await;
    store.append(&finished, event("b1")).await.expect("append");
    store.close_stream(&finished).await.expect("close");
    let newest = open(&store, "s").await;
    assert_eq!(
        store.read_after(&finished, 0, 10).await.expect("read"),
        Replay::Unknown,
        "the closed stream goes, though it is newer than the running one"
    );
    assert_eq!(
        store
            .append(&running, event("a2"))
            .await
            .expect("the oldest stream, still running, still takes its events"),
        2
    );
    assert_eq!(
        all_after(&store, &running, 0).await,
        (vec![(1, "a1".to_owned()), (2, "a2".to_owned())], false),
        "the running stream replays whole"
    );
    assert_eq!(all_after(&store, &newest, 0).await, (Vec::new(), false));

    // Among finished streams, one a reader is still reading stays longer.
    let store = fresh(EventStoreLimits {
        max_streams_per_session: 3,
        ..EventStoreLimits::default()
    });
    let running = open(&store, "s").await;
    let read = open(&store, "s").await;
    store.append(&read, event("result")).await.expect("append");
    store.close_stream(&read).await.expect("close");
    store
        .attach(&read, Duration::from_secs(60))
        .await
        .expect("attach");
    let unread = open(&store, "s").await;
    store.close_stream(&unread).await.expect("close");
    open(&store, "s").await;
    assert_eq!(
        store.read_after(&unread, 0, 10).await.expect("read"),
        Replay::Unknown,
        "the closed stream nobody reads goes first"
    );
    assert_eq!(
        all_after(&store, &read, 0).await,
        (vec![(1, "result".to_owned())], true),
        "the closed stream with a reader stays while another can go"
    );
    open(&store, "s").await;
    assert_eq!(
        store.read_after(&read, 0, 10).await.expect("read"),
        Replay::Unknown,
        "then the closed stream with a reader goes, before a running one"
    );
    assert_eq!(
        store.append(&running, event("late")).await.expect("append"),
        1,
        "the running stream outlives every finished one"
    );
}

async fn a_stream_its_reader_finished_goes_before_one_still_read<S, F>(fresh: &F)
where
    S: EventStore,
    F: Fn(EventStoreLimits) -> S,
{
    let store = fresh(EventStoreLimits {
        max_streams_per_session: 2,
        ..EventStoreLimits::default()
    });
    // Both closed and attached; the newer one's reader sent it to its end.
    let mut streams = Vec::new();
    for data in ["older", "newer"] {
        let key = open(&store, "s").await;
        store.append(&key, event(data)).await.expect("append");
        store.close_stream(&key).await.expect("close");
        store
            .attach(&key, Duration::from_secs(60))
            .await
            .expect("attach");
        streams.push(key);
    }
    let (older, newer) = (&streams[0], &streams[1]);
    store.detach(newer).await.expect("detach");
    assert_eq!(
        all_after(&store, newer, 0).await,
        (vec![(1, "newer".to_owned())], true),
        "a detached stream stays readable"
    );
    open(&store, "s").await;
    assert_eq!(
        store.read_after(newer, 0, 10).await.expect("read"),
        Replay::Unknown,
        "the stream read to its end goes, though it is the newer one"
    );
    assert_eq!(
        all_after(&store, older, 0).await,
        (vec![(1, "older".to_owned())], true),
        "the stream still read stays"
    );
    let gone = StreamKey {
        session: "s".into(),
        stream: newer.stream.clone(),
    };
    store
        .detach(&gone)
        .await
        .expect("detaching a gone stream is no error");
}

async fn purging_a_session_removes_everything<S: EventStore>(store: S) {
    let key = open(&store, "s").await;
    store.append(&key, event("a")).await.expect("append");
    let other = open(&store, "other").await;
    store.append(&other, event("b")).await.expect("append");
    store.purge_session("s").await.expect("purge");
    assert_eq!(
        store.read_after(&key, 0, 10).await.expect("read"),
        Replay::Unknown
    );
    let (events, _) = all_after(&store, &other, 0).await;
    assert_eq!(events.len(), 1, "other sessions are untouched");
}

async fn events_keep_their_name_retry_and_lines<S: EventStore>(store: S) {
    let key = open(&store, "s").await;
    let stored = SseEvent {
        event: Some("progress".to_owned()),
        data: "line one\n\nline three: with a colon\r and \u{e9}".to_owned(),
        retry: Some(2500),
    };
    store.append(&key, stored.clone()).await.expect("append");
    store.append(&key, event("")).await.expect("append");
    match store.read_after(&key, 0, 10).await.expect("read_after") {
        Replay::Events { events, .. } => assert_eq!(
            events,
            vec![(1, stored), (2, event(""))],
            "an event reads back exactly: name, retry, every line, empty data"
        ),
        other => panic!("{other:?}"),
    }
}

/// Evicting what holds no bytes (an event with empty data, a stream with no
/// events) works like evicting anything else.
async fn empty_events_and_streams_can_be_evicted<S, F>(fresh: &F)
where
    S: EventStore,
    F: Fn(EventStoreLimits) -> S,
{
    let store = fresh(EventStoreLimits {
        max_events_per_stream: 2,
        max_streams_per_session: 2,
        ..EventStoreLimits::default()
    });
    let empty = open(&store, "s").await;
    let key = open(&store, "s").await;
    for seq in 1..=3 {
        assert_eq!(
            store
                .append(&key, event(""))
                .await
                .expect("an append evicting an empty event"),
            seq
        );
    }
    assert_eq!(
        store.read_after(&key, 0, 10).await.expect("read"),
        Replay::Evicted { oldest_kept: 2 }
    );
    let newest = open(&store, "s").await;
    assert_eq!(
        store.read_after(&empty, 0, 10).await.expect("read"),
        Replay::Unknown,
        "the stream with no events went for the newest"
    );
    assert_eq!(all_after(&store, &newest, 0).await, (Vec::new(), false));
}

async fn concurrent_appends_get_distinct_contiguous_sequences<S: EventStore>(store: Arc<S>) {
    let key = open(&*store, "s").await;
    let appends = (0..40).map(|index| {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move {
            let data = format!("c{index}");
            let seq = store.append(&key, event(&data)).await.expect("append");
            (seq, data)
        })
    });
    let mut acknowledged = Vec::new();
    for append in appends {
        acknowledged.push(append.await.expect("join"));
    }
    acknowledged.sort();
    let seqs: Vec<u64> = acknowledged.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=40).collect::<Vec<u64>>(),
        "concurrent appends get 1..=40, each once"
    );
    let (events, _) = all_after(&*store, &key, 0).await;
    assert_eq!(
        events, acknowledged,
        "each event is stored under the sequence its append returned"
    );
}

async fn one_principal_cannot_crowd_out_another<S, F>(fresh: &F)
where
    S: EventStore,
    F: Fn(EventStoreLimits) -> S,
{
    let store = fresh(EventStoreLimits {
        max_bytes_per_principal: 1_000,
        max_total_bytes: 4_000,
        ..EventStoreLimits::default()
    });
    // Bob: a finished call whose result he has not fetched yet, a call still
    // running (its drain appends), and a finished one he is reading.
    let result = open_as(&store, "bob-1", "bob").await;
    for index in 1..=3 {
        store
            .append(&result, sized(&format!("result {index}"), 100))
            .await
            .expect("append");
    }
    store.close_stream(&result).await.expect("close");
    let in_flight = open_as(&store, "bob-1", "bob").await;
    for index in 1..=2 {
        store
            .append(&in_flight, sized(&format!("progress {index}"), 100))
            .await
            .expect("append");
    }
    let watched = open_as(&store, "bob-2", "bob").await;
    for index in 1..=2 {
        store
            .append(&watched, sized(&format!("watched {index}"), 100))
            .await
            .expect("append");
    }
    store.close_stream(&watched).await.expect("close");
    store
        .attach(&watched, Duration::from_secs(60))
        .await
        .expect("attach");

    // Alice floods streams of her own, five times her budget.
    let mut alice = Vec::new();
    for _ in 0..3 {
        alice.push(open_as(&store, "alice-1", "alice").await);
    }
    for index in 0..100 {
        store
            .append(&alice[index % 3], sized(&format!("flood {index}"), 50))
            .await
            .expect("a principal over its budget still appends");
    }

    let expect_all = |prefix: &'static str, count: u64| {
        (1..=count)
            .map(move |seq| (seq, sized(&format!("{prefix} {seq}"), 100).data))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        all_after(&store, &result, 0).await,
        (expect_all("result", 3), true),
        "another principal's stored result survives a flood"
    );
    assert_eq!(
        all_after(&store, &in_flight, 0).await,
        (expect_all("progress", 2), false),
        "another principal's running stream survives a flood"
    );
    assert_eq!(
        all_after(&store, &watched, 0).await,
        (expect_all("watched", 2), true),
        "another principal's stream with a reader survives a flood"
    );
    let mut kept = Vec::new();
    for key in &alice {
        kept.extend(kept_events(&store, key).await);
    }
    let kept_bytes: usize = kept.iter().map(String::len).sum();
    assert!(
        (950..=1_000).contains(&kept_bytes),
        "the flooder keeps her budget's worth, no more: {kept_bytes} bytes"
    );
    assert!(
        kept.contains(&sized("flood 99", 50).data) && !kept.contains(&sized("flood 0", 50).data),
        "her own oldest events went, her newest stayed"
    );

    // Principals each within their budget, together over the overall cap:
    // now streams go, but never a running one or one with a reader.
    for name in ["carol", "dave", "erin"] {
        let key = open_as(&store, name, name).await;
        for index in 0..10 {
            store
                .append(&key, sized(&format!("{name} {index}"), 100))
                .await
                .expect("append");
        }
        store.close_stream(&key).await.expect("close");
    }
    assert_eq!(
        all_after(&store, &in_flight, 0).await,
        (expect_all("progress", 2), false),
        "a running stream is never dropped for another principal"
    );
    assert_eq!(
        all_after(&store, &watched, 0).await,
        (expect_all("watched", 2), true),
        "a stream with a reader is never dropped for another principal"
    );
    let (newest, closed) = all_after(&store, &alice[0], 33).await;
    assert!(
        newest == [(34, sized("flood 99", 50).data)] && !closed,
        "the flooder's running stream is never dropped for another principal either"
    );
}

/// The data of every event the stream still keeps.
async fn kept_events<S: EventStore>(store: &S, key: &StreamKey) -> Vec<String> {
    let after = match store.read_after(key, 0, 1).await.expect("read") {
        Replay::Evicted { oldest_kept } => oldest_kept - 1,
        _ => 0,
    };
    match store
        .read_after(key, after, usize::MAX)
        .await
        .expect("read")
    {
        Replay::Events { events, .. } => events.into_iter().map(|(_, event)| event.data).collect(),
        // Every event evicted: the cursor after the last is past the end.
        Replay::Unknown => Vec::new(),
        other => panic!("{other:?}"),
    }
}

/// `text` padded with leading zeros to `bytes` bytes.
fn sized(text: &str, bytes: usize) -> SseEvent {
    event(&format!("{text:0>bytes$}"))
}
