use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{EventStore, Replay, StoreError, StreamKey};
use crate::{SseEvent, StreamId};

/// The caps of a [`MemoryEventStore`]. Over a cap the oldest events go, and a
/// resume from an evicted position is told so ([`Replay::Evicted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStoreLimits {
    /// Events kept per stream (default 10 000).
    pub max_events_per_stream: usize,
    /// Streams kept per session (default 32); the oldest stream goes first.
    pub max_streams_per_session: usize,
    /// Bytes of event data kept per session (default 8 MiB).
    pub max_bytes_per_session: usize,
    /// Bytes of event data kept overall (default 256 MiB); the stream idle
    /// longest goes first.
    pub max_total_bytes: usize,
    /// A stream is dropped this long after its last event (default 30 min).
    pub ttl: Duration,
}

impl Default for EventStoreLimits {
    fn default() -> Self {
        EventStoreLimits {
            max_events_per_stream: 10_000,
            max_streams_per_session: 32,
            max_bytes_per_session: 8 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024,
            ttl: Duration::from_secs(30 * 60),
        }
    }
}

/// The embedded event store. Streams are ring buffers indexed by sequence, so
/// finding the position after a cursor is one subtraction (no scan, no sort);
/// the live tail is a `watch` channel per stream.
///
/// Cloning shares the store.
#[derive(Debug, Clone)]
pub struct MemoryEventStore {
    inner: Arc<Mutex<Inner>>,
    limits: EventStoreLimits,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    total_bytes: usize,
    last_sweep: Option<Instant>,
}

#[derive(Debug, Default)]
struct Session {
    streams: HashMap<StreamId, Stream>,
    /// Stream ids, oldest first.
    order: VecDeque<StreamId>,
    bytes: usize,
}

#[derive(Debug)]
struct Stream {
    /// Sequence of `events[0]`.
    first_seq: u64,
    events: VecDeque<SseEvent>,
    closed: bool,
    last_activity: Instant,
    /// The last sequence and whether closed: what live readers wait on.
    tail: watch::Sender<(u64, bool)>,
}

impl Stream {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }

    fn evict_oldest(&mut self) -> usize {
        match self.events.pop_front() {
            Some(event) => {
                self.first_seq += 1;
                event_bytes(&event)
            }
            None => 0,
        }
    }
}

fn event_bytes(event: &SseEvent) -> usize {
    event.data.len() + event.event.as_ref().map_or(0, String::len)
}

impl Default for MemoryEventStore {
    fn default() -> Self {
        MemoryEventStore::new(EventStoreLimits::default())
    }
}

impl MemoryEventStore {
    /// An empty store with these caps.
    pub fn new(limits: EventStoreLimits) -> Self {
        MemoryEventStore {
            inner: Arc::new(Mutex::new(Inner::default())),
            limits,
        }
    }

    /// Events kept overall (for tests and metrics).
    pub fn stored_events(&self) -> usize {
        let inner = self.lock();
        inner
            .sessions
            .values()
            .flat_map(|session| session.streams.values())
            .map(|stream| stream.events.len())
            .sum()
    }

    /// Bytes of event data kept overall.
    pub fn stored_bytes(&self) -> usize {
        self.lock().total_bytes
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// Drops streams idle past the TTL; runs at most once a second.
    fn sweep(&mut self, ttl: Duration) {
        let now = Instant::now();
        if self
            .last_sweep
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(1))
        {
            return;
        }
        self.last_sweep = Some(now);
        let mut freed = 0;
        for session in self.sessions.values_mut() {
            let expired: Vec<StreamId> = session
                .streams
                .iter()
                .filter(|(_, stream)| now.duration_since(stream.last_activity) >= ttl)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                freed += remove_stream(session, &id);
            }
        }
        self.total_bytes -= freed;
        self.sessions
            .retain(|_, session| !session.streams.is_empty());
    }

    /// Frees bytes overall by dropping the stream idle longest (closed ones first).
    fn shrink_to(&mut self, max_total_bytes: usize, keep: &StreamKey) {
        while self.total_bytes > max_total_bytes {
            let victim = self
                .sessions
                .iter()
                .flat_map(|(session, streams)| {
                    streams
                        .streams
                        .iter()
                        .map(move |(id, stream)| (session, id, stream))
                })
                .filter(|(session, id, _)| !(**session == keep.session && **id == keep.stream))
                .min_by_key(|(_, _, stream)| (!stream.closed, stream.last_activity))
                .map(|(session, id, _)| (session.clone(), id.clone()));
            let Some((session_id, stream_id)) = victim else {
                break;
            };
            if let Some(session) = self.sessions.get_mut(&session_id) {
                self.total_bytes -= remove_stream(session, &stream_id);
            }
        }
    }
}

/// Removes a stream, waking its readers; returns the bytes freed.
fn remove_stream(session: &mut Session, id: &StreamId) -> usize {
    session.order.retain(|known| known != id);
    match session.streams.remove(id) {
        Some(stream) => {
            let bytes: usize = stream.events.iter().map(event_bytes).sum();
            session.bytes -= bytes;
            // Dropping the sender wakes waiting readers; they find the stream gone.
            drop(stream.tail);
            bytes
        }
        None => 0,
    }
}

impl EventStore for MemoryEventStore {
    async fn open_stream(&self, session_id: &str) -> Result<StreamId, StoreError> {
        let id = StreamId::generate().map_err(|error| {
            StoreError::new(
                format!("no randomness for a stream id: {error}"),
                Duration::from_secs(1),
            )
        })?;
        let mut inner = self.lock();
        inner.sweep(self.limits.ttl);
        let session = inner.sessions.entry(session_id.to_owned()).or_default();
        let mut freed = 0;
        while session.order.len() >= self.limits.max_streams_per_session.max(1) {
            let Some(oldest) = session.order.front().cloned() else {
                break;
            };
            freed += remove_stream(session, &oldest);
        }
        let (tail, _) = watch::channel((0, false));
        let stream = Stream {
            first_seq: 1,
            events: VecDeque::new(),
            closed: false,
            last_activity: Instant::now(),
            tail,
        };
        session.streams.insert(id.clone(), stream);
        session.order.push_back(id.clone());
        inner.total_bytes -= freed;
        Ok(id)
    }

    async fn append(&self, key: &StreamKey, event: SseEvent) -> Result<u64, StoreError> {
        let limits = self.limits;
        let size = event_bytes(&event);
        let mut inner = self.lock();
        let Some(session) = inner.sessions.get_mut(&key.session) else {
            return Err(gone(key));
        };
        let mut freed = 0;
        // Per-session bytes: the session's oldest streams lose their oldest events first.
        while session.bytes + size > limits.max_bytes_per_session {
            let Some(oldest) = session
                .order
                .iter()
                .find(|id| {
                    session
                        .streams
                        .get(*id)
                        .is_some_and(|s| !s.events.is_empty())
                })
                .cloned()
            else {
                break;
            };
            if let Some(stream) = session.streams.get_mut(&oldest) {
                let bytes = stream.evict_oldest();
                session.bytes -= bytes;
                freed += bytes;
            }
        }
        let Some(stream) = session.streams.get_mut(&key.stream) else {
            inner.total_bytes -= freed;
            return Err(gone(key));
        };
        if stream.events.len() >= limits.max_events_per_stream.max(1) {
            let bytes = stream.evict_oldest();
            session.bytes -= bytes;
            freed += bytes;
        }
        stream.events.push_back(event);
        stream.last_activity = Instant::now();
        let seq = stream.next_seq() - 1;
        stream.tail.send_replace((seq, stream.closed));
        session.bytes += size;
        inner.total_bytes = inner.total_bytes - freed + size;
        inner.shrink_to(limits.max_total_bytes, key);
        Ok(seq)
    }

    async fn close_stream(&self, key: &StreamKey) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(stream) = inner
            .sessions
            .get_mut(&key.session)
            .and_then(|session| session.streams.get_mut(&key.stream))
        {
            stream.closed = true;
            stream.last_activity = Instant::now();
            let last = stream.next_seq() - 1;
            stream.tail.send_replace((last, true));
        }
        Ok(())
    }

    async fn read_after(
        &self,
        key: &StreamKey,
        after: u64,
        max: usize,
    ) -> Result<Replay, StoreError> {
        let inner = self.lock();
        let Some(stream) = inner
            .sessions
            .get(&key.session)
            .and_then(|session| session.streams.get(&key.stream))
        else {
            return Ok(Replay::Unknown);
        };
        let next = stream.next_seq();
        if after >= next {
            return Ok(Replay::Unknown);
        }
        if after + 1 < stream.first_seq {
            return Ok(Replay::Evicted {
                oldest_kept: stream.first_seq,
            });
        }
        // Sequences are contiguous: the position after the cursor is arithmetic.
        let start = usize::try_from(after + 1 - stream.first_seq).unwrap_or(usize::MAX);
        let events: Vec<(u64, SseEvent)> = stream
            .events
            .iter()
            .skip(start)
            .take(max)
            .enumerate()
            .map(|(offset, event)| (after + 1 + offset as u64, event.clone()))
            .collect();
        let reached_end = after + events.len() as u64 + 1 == next;
        Ok(Replay::Events {
            closed: stream.closed && reached_end,
            events,
        })
    }

    async fn wait_after(
        &self,
        key: &StreamKey,
        after: u64,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let receiver = {
            let inner = self.lock();
            let stream = inner
                .sessions
                .get(&key.session)
                .and_then(|session| session.streams.get(&key.stream));
            match stream {
                Some(stream) => stream.tail.subscribe(),
                None => return Ok(()),
            }
        };
        let mut receiver = receiver;
        let wait = receiver.wait_for(|(last, closed)| *last > after || *closed);
        // An error means the stream was removed: the caller finds it gone.
        let _ = tokio::time::timeout(timeout, wait).await;
        Ok(())
    }

    async fn purge_session(&self, session_id: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(mut session) = inner.sessions.remove(session_id) {
            let ids: Vec<StreamId> = session.order.iter().cloned().collect();
            let freed: usize = ids.iter().map(|id| remove_stream(&mut session, id)).sum();
            inner.total_bytes -= freed;
        }
        Ok(())
    }
}

fn gone(key: &StreamKey) -> StoreError {
    StoreError::new(
        format!(
            "stream {} of a session is gone (purged, expired or evicted)",
            key.stream
        ),
        Duration::from_secs(1),
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    proptest! {
        /// For any sequence of appends (under a per-stream cap) and any cursor,
        /// replay is exactly the kept suffix after the cursor, `Evicted` when
        /// the cursor's successor is gone, and `Unknown` past the end.
        #[test]
        fn replay_is_exactly_the_suffix(
            datas in proptest::collection::vec("[a-z]{0,8}", 0..60),
            cap in 1usize..20,
            cursor in 0u64..70,
        ) {
            runtime().block_on(async {
                let store = MemoryEventStore::new(EventStoreLimits { max_events_per_stream: cap, ..EventStoreLimits::default() });
                let key = StreamKey { session: "s".into(), stream: store.open_stream("s").await.unwrap() };
                for data in &datas {
                    store.append(&key, SseEvent { data: data.clone(), ..SseEvent::default() }).await.unwrap();
                }
                let appended = datas.len() as u64;
                let first_kept = appended.saturating_sub(cap as u64) + 1;
                let replay = store.read_after(&key, cursor, usize::MAX).await.unwrap();
                if cursor > appended {
                    prop_assert_eq!(replay, Replay::Unknown);
                } else if cursor + 1 < first_kept {
                    prop_assert_eq!(replay, Replay::Evicted { oldest_kept: first_kept });
                } else {
                    let expected: Vec<(u64, SseEvent)> = (cursor + 1..=appended)
                        .map(|seq| (seq, SseEvent { data: datas[(seq - 1) as usize].clone(), ..SseEvent::default() }))
                        .collect();
                    prop_assert_eq!(replay, Replay::Events { events: expected, closed: false });
                }
                Ok(())
            })?;
        }
    }

    #[test]
    fn byte_accounting_returns_to_zero_when_everything_goes() {
        runtime().block_on(async {
            let store = MemoryEventStore::default();
            for session in ["a", "b"] {
                let key = StreamKey {
                    session: session.into(),
                    stream: store.open_stream(session).await.unwrap(),
                };
                for _ in 0..10 {
                    store
                        .append(
                            &key,
                            SseEvent {
                                data: "0123456789".into(),
                                ..SseEvent::default()
                            },
                        )
                        .await
                        .unwrap();
                }
            }
            assert_eq!(store.stored_bytes(), 200);
            store.purge_session("a").await.unwrap();
            assert_eq!(store.stored_bytes(), 100);
            store.purge_session("b").await.unwrap();
            assert_eq!(store.stored_bytes(), 0);
            assert_eq!(store.stored_events(), 0);
        });
    }
}
