use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{
    EventStore, EventStoreLimits, EventStoreLimitsConfigError, IdMap, Replay, StoreError,
    StreamKey, StreamTail, event_bytes, gone_message,
};
use crate::{SseEvent, StreamId};

/// The embedded event store. Streams are ring buffers indexed by sequence, so
/// finding the position after a cursor is one subtraction (no scan, no sort);
/// the live tail is a `watch` channel per stream a reader waits on. It enforces
/// [`EventStoreLimits`], per principal too.
///
/// Cloning shares the store; the default has the default caps.
#[derive(Debug, Clone, Default)]
pub struct MemoryEventStore {
    inner: Arc<Mutex<Inner>>,
    limits: EventStoreLimits,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: IdMap<Arc<str>, Session>,
    // Keyed by principal (issuer and subject from a verified token, or the
    // one anonymous key): a client cannot mint these at will, so the same
    // seeded hash as the id maps.
    owners: IdMap<Arc<str>, Owner>,
    total_bytes: usize,
    last_sweep: Option<Instant>,
}

#[derive(Debug, Default)]
struct Session {
    streams: IdMap<StreamId, Stream>,
    /// Stream ids, oldest first.
    order: VecDeque<StreamId>,
    bytes: usize,
    /// How many streams the session has opened: the next one's
    /// [`Stream::opened`].
    opened: u64,
}

impl Session {
    /// The stream a session at its stream cap gives up for a new one: the
    /// oldest closed stream nobody reads, else the oldest closed one, else
    /// (every stream still running) the oldest. A running stream's drain
    /// would fail to store its next event, and its client would miss the
    /// result; the cap stays a hard bound all the same.
    fn stream_to_give_up(&self, now: Instant) -> Option<StreamId> {
        let rank = |stream: &Stream| match (stream.closed, stream.protected(now)) {
            (true, false) => 0,
            (true, true) => 1,
            (false, _) => 2,
        };
        // The oldest stream, if it is closed and nobody reads it, is the
        // answer at once: one lookup. It usually is: the client that opened
        // a stream reads it to its end and detaches.
        if let Some(oldest) = self.order.front()
            && self
                .streams
                .get(oldest)
                .is_some_and(|stream| rank(stream) == 0)
        {
            return Some(oldest.clone());
        }
        // Else one pass over the streams themselves, oldest of the lowest
        // rank first: no id hashed or compared (with every stream of a busy
        // session still running, ranking them through `order` hashed all 32).
        self.streams
            .iter()
            .min_by_key(|(_, stream)| (rank(stream), stream.opened))
            .map(|(id, _)| id.clone())
    }
}

/// What one principal holds, over all its sessions.
#[derive(Debug, Default)]
struct Owner {
    bytes: usize,
    /// Its streams, oldest first.
    streams: VecDeque<StreamKey>,
}

#[derive(Debug)]
struct Stream {
    owner: Arc<str>,
    /// Its place in the session's order of opening (oldest lowest).
    opened: u64,
    /// Sequence of `events[0]`.
    first_seq: u64,
    events: VecDeque<SseEvent>,
    closed: bool,
    last_activity: Instant,
    /// A reader is attached until then.
    attached_until: Option<Instant>,
    /// The last sequence and whether closed: what live readers wait on.
    /// Made when the first reader waits, not with the stream: most streams
    /// are read by the client that opened them, which polls the drain
    /// itself and never waits here (a channel costs an allocation to make
    /// and a wake-up pass over its notifiers to drop).
    tail: Option<watch::Sender<(u64, bool)>>,
}

impl Stream {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }

    /// The stream's tail moved: live readers waiting on it are woken. The
    /// value is always updated (a reader that comes later checks it first),
    /// but with no reader subscribed nobody is notified: a stream nobody
    /// tails costs no wake-up. Readers subscribe under the store's lock, the
    /// same lock this runs under, so none is missed.
    fn tail_moved(&self, last: u64, closed: bool) {
        let Some(tail) = &self.tail else {
            // Nobody ever waited: the first to wait makes the channel with
            // the tail as it is then.
            return;
        };
        let tailed = tail.receiver_count() > 0;
        tail.send_if_modified(|value| {
            *value = (last, closed);
            tailed
        });
    }

    /// A live reader's receiver, made under the store's lock with the tail
    /// as it stands.
    fn subscribe(&mut self) -> watch::Receiver<(u64, bool)> {
        let now = (self.next_seq() - 1, self.closed);
        self.tail
            .get_or_insert_with(|| watch::channel(now).0)
            .subscribe()
    }

    /// Drops its oldest event; that event's bytes, which the caller takes
    /// off every count they are in.
    fn pop_oldest(&mut self) -> Option<usize> {
        let bytes = event_bytes(&self.events.pop_front()?);
        self.first_seq += 1;
        Some(bytes)
    }

    /// Its drain is running or a reader is attached: other principals'
    /// appends leave it alone.
    fn protected(&self, now: Instant) -> bool {
        !self.closed || self.attached_until.is_some_and(|until| until > now)
    }
}

impl MemoryEventStore {
    /// An empty store with these caps; refuses caps it could not keep
    /// ([`EventStoreLimits::validate`]).
    pub fn new(limits: EventStoreLimits) -> Result<Self, EventStoreLimitsConfigError> {
        limits.validate()?;
        Ok(MemoryEventStore {
            inner: Arc::default(),
            limits,
        })
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
    fn stream(&self, key: &StreamKey) -> Option<&Stream> {
        self.sessions.get(&key.session)?.streams.get(&key.stream)
    }

    fn stream_mut(&mut self, key: &StreamKey) -> Option<&mut Stream> {
        self.sessions
            .get_mut(&key.session)?
            .streams
            .get_mut(&key.stream)
    }

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
        let expired: Vec<StreamKey> = self
            .sessions
            .iter()
            .flat_map(|(session, streams)| {
                streams
                    .streams
                    .iter()
                    .filter(|(_, stream)| now.duration_since(stream.last_activity) >= ttl)
                    .map(|(id, _)| StreamKey {
                        session: session.clone(),
                        stream: id.clone(),
                    })
            })
            .collect();
        for key in &expired {
            self.remove_stream(key);
        }
        self.sessions
            .retain(|_, session| !session.streams.is_empty());
    }

    /// Removes a stream, waking its readers (dropping its `watch` sender
    /// does: they find it gone), and forgets its bytes everywhere.
    fn remove_stream(&mut self, key: &StreamKey) {
        let Some(session) = self.sessions.get_mut(&key.session) else {
            return;
        };
        let Some(stream) = session.streams.remove(&key.stream) else {
            return;
        };
        // Each stream is in the order once, usually at its front (the
        // oldest goes first): found from the front, not a scan of all.
        if let Some(at) = session.order.iter().position(|id| *id == key.stream) {
            session.order.remove(at);
        }
        let bytes: usize = stream.events.iter().map(event_bytes).sum();
        session.bytes -= bytes;
        self.total_bytes -= bytes;
        if let Some(owner) = self.owners.get_mut(&stream.owner) {
            owner.bytes -= bytes;
            if let Some(at) = owner.streams.iter().position(|known| known == key) {
                owner.streams.remove(at);
            }
            if owner.streams.is_empty() {
                self.owners.remove(&stream.owner);
            }
        }
    }

    /// Evicts the stream's oldest event; its bytes, or `None` if it has none.
    fn pop_oldest(&mut self, key: &StreamKey) -> Option<usize> {
        let session = self.sessions.get_mut(&key.session)?;
        let stream = session.streams.get_mut(&key.stream)?;
        let bytes = stream.pop_oldest()?;
        session.bytes -= bytes;
        self.total_bytes -= bytes;
        if let Some(owner) = self.owners.get_mut(&stream.owner) {
            owner.bytes -= bytes;
        }
        Some(bytes)
    }

    /// The first of `streams` (oldest first) with an event to evict; the
    /// newest event of `keep`, the one just appended, is never one.
    fn oldest_evictable<'a>(
        &self,
        mut streams: impl Iterator<Item = &'a StreamKey>,
        keep: &StreamKey,
    ) -> Option<StreamKey> {
        streams
            .find(|key| {
                self.stream(key)
                    .is_some_and(|stream| stream.events.len() > usize::from(*key == keep))
            })
            .cloned()
    }

    /// Evicts the session's oldest events (its oldest streams first) until
    /// it holds at most `limit` bytes.
    fn trim_session(&mut self, key: &StreamKey, limit: usize) {
        while self
            .sessions
            .get(&key.session)
            .is_some_and(|session| session.bytes > limit)
        {
            let Some(session) = self.sessions.get(&key.session) else {
                return;
            };
            let streams: Vec<StreamKey> = session
                .order
                .iter()
                .map(|id| StreamKey {
                    session: key.session.clone(),
                    stream: id.clone(),
                })
                .collect();
            let Some(victim) = self.oldest_evictable(streams.iter(), key) else {
                return;
            };
            self.pop_oldest(&victim);
        }
    }

    /// Evicts the principal's oldest events (its oldest streams first, in
    /// any of its sessions) until it holds at most `limit` bytes.
    fn trim_owner(&mut self, owner: &str, keep: &StreamKey, limit: usize) {
        while let Some(held) = self.owners.get(owner).filter(|held| held.bytes > limit) {
            let Some(victim) = self.oldest_evictable(held.streams.iter(), keep) else {
                return;
            };
            self.pop_oldest(&victim);
        }
    }

    /// Frees bytes overall: the appending principal's own unprotected
    /// streams first (oldest first), then other principals' unprotected
    /// streams, idle longest first; when only protected streams are left,
    /// the appending principal's own oldest events.
    fn shrink_to(&mut self, max_total_bytes: usize, keep: &StreamKey, owner: &str) {
        let now = Instant::now();
        let evictable = |session: &str, id: &StreamId, stream: &Stream| {
            !(stream.protected(now) || (session == &*keep.session && *id == keep.stream))
        };
        while self.total_bytes > max_total_bytes {
            let own = self.owners.get(owner).and_then(|held| {
                held.streams.iter().find(|key| {
                    self.stream(key)
                        .is_some_and(|stream| evictable(&key.session, &key.stream, stream))
                })
            });
            let victim = own.cloned().or_else(|| {
                self.sessions
                    .iter()
                    .flat_map(|(session, streams)| {
                        streams
                            .streams
                            .iter()
                            .map(move |(id, stream)| (session, id, stream))
                    })
                    .filter(|(session, id, stream)| evictable(session, id, stream))
                    .min_by_key(|(_, _, stream)| stream.last_activity)
                    .map(|(session, id, _)| StreamKey {
                        session: session.clone(),
                        stream: id.clone(),
                    })
            });
            if let Some(victim) = victim {
                self.remove_stream(&victim);
                continue;
            }
            let own = self
                .owners
                .get(owner)
                .and_then(|held| self.oldest_evictable(held.streams.iter(), keep));
            let Some(own) = own else {
                return;
            };
            self.pop_oldest(&own);
        }
    }
}

impl EventStore for MemoryEventStore {
    async fn open_stream(&self, session_id: &str, owner: &str) -> Result<StreamId, StoreError> {
        let id = StreamId::generate().map_err(|error| {
            StoreError::new(
                format!("no randomness for a stream id: {error}"),
                Duration::from_secs(1),
            )
        })?;
        let mut inner = self.lock();
        inner.sweep(self.limits.ttl);
        let max_streams = self.limits.max_streams_per_session.max(1);
        let now = Instant::now();
        // The session's key, shared by every key of its streams.
        let session_key: Arc<str> = match inner.sessions.get_key_value(session_id) {
            Some((known, _)) => known.clone(),
            None => Arc::from(session_id),
        };
        while let Some(victim) = inner
            .sessions
            .get(session_id)
            .filter(|session| session.order.len() >= max_streams)
            .and_then(|session| session.stream_to_give_up(now))
        {
            inner.remove_stream(&StreamKey {
                session: session_key.clone(),
                stream: victim,
            });
        }
        let key = StreamKey {
            session: session_key.clone(),
            stream: id.clone(),
        };
        let owner: Arc<str> = match inner.owners.get_key_value(owner) {
            Some((known, _)) => known.clone(),
            None => Arc::from(owner),
        };
        inner
            .owners
            .entry(owner.clone())
            .or_default()
            .streams
            .push_back(key);
        let session = inner.sessions.entry(session_key).or_default();
        session.opened += 1;
        let stream = Stream {
            owner,
            opened: session.opened,
            first_seq: 1,
            events: VecDeque::new(),
            closed: false,
            last_activity: Instant::now(),
            attached_until: None,
            tail: None,
        };
        session.streams.insert(id.clone(), stream);
        session.order.push_back(id.clone());
        Ok(id)
    }

    async fn attach(&self, key: &StreamKey, lease: Duration) -> Result<(), StoreError> {
        let until = Instant::now() + lease;
        if let Some(stream) = self.lock().stream_mut(key) {
            stream.attached_until = stream.attached_until.max(Some(until));
        }
        Ok(())
    }

    async fn detach(&self, key: &StreamKey) -> Result<(), StoreError> {
        if let Some(stream) = self.lock().stream_mut(key) {
            stream.attached_until = None;
        }
        Ok(())
    }

    async fn append(&self, key: &StreamKey, event: SseEvent) -> Result<u64, StoreError> {
        let limits = self.limits;
        let size = event_bytes(&event);
        let mut guard = self.lock();
        let inner = &mut *guard;
        // One lookup each for the session, the stream and the principal; the
        // trims below look further only when a budget is over.
        let Some(session) = inner.sessions.get_mut(&key.session) else {
            return Err(gone(key));
        };
        let Some(stream) = session.streams.get_mut(&key.stream) else {
            return Err(gone(key));
        };
        stream.events.push_back(event);
        stream.last_activity = Instant::now();
        let seq = stream.next_seq() - 1;
        stream.tail_moved(seq, stream.closed);
        // The stream's own cap: its oldest events go (never the new one).
        let mut freed = 0;
        while stream.events.len() > limits.max_events_per_stream.max(1)
            && let Some(bytes) = stream.pop_oldest()
        {
            freed += bytes;
        }
        // `freed` was counted in every total when it was appended.
        session.bytes = session.bytes + size - freed;
        let session_over = session.bytes > limits.max_bytes_per_session;
        let owner_over = match inner.owners.get_mut(&*stream.owner) {
            Some(held) => {
                held.bytes = held.bytes + size - freed;
                held.bytes > limits.max_bytes_per_principal
            }
            None => false,
        };
        inner.total_bytes = inner.total_bytes + size - freed;
        let total_over = inner.total_bytes > limits.max_total_bytes;
        if !(session_over || owner_over || total_over) {
            return Ok(seq);
        }
        // Room comes from the appender's own data first: its session, then
        // its budget over all its sessions, then the store as a whole.
        let owner = stream.owner.clone();
        if session_over {
            inner.trim_session(key, limits.max_bytes_per_session);
        }
        if owner_over {
            inner.trim_owner(&owner, key, limits.max_bytes_per_principal);
        }
        inner.shrink_to(limits.max_total_bytes, key, &owner);
        Ok(seq)
    }

    async fn close_stream(&self, key: &StreamKey) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(stream) = inner.stream_mut(key) {
            stream.closed = true;
            stream.last_activity = Instant::now();
            let last = stream.next_seq() - 1;
            stream.tail_moved(last, true);
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
        let Some(stream) = inner.stream(key) else {
            return Ok(Replay::Unknown);
        };
        let last = stream.next_seq() - 1;
        // Sequences are contiguous: the position after the cursor is arithmetic.
        let start =
            usize::try_from((after + 1).saturating_sub(stream.first_seq)).unwrap_or(usize::MAX);
        let events: Vec<(u64, SseEvent)> = stream
            .events
            .iter()
            .skip(start)
            .take(max)
            .enumerate()
            .map(|(offset, event)| (after + 1 + offset as u64, event.clone()))
            .collect();
        let tail = StreamTail {
            last,
            first_kept: stream.first_seq,
            closed: stream.closed,
        };
        Ok(tail.replay_after(after, events, max))
    }

    async fn wait_after(
        &self,
        key: &StreamKey,
        after: u64,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let Some(mut receiver) = self.lock().stream_mut(key).map(Stream::subscribe) else {
            return Ok(());
        };
        let wait = receiver.wait_for(|(last, closed)| *last > after || *closed);
        // An error means the stream was removed: the caller finds it gone.
        let _ = tokio::time::timeout(timeout, wait).await;
        Ok(())
    }

    async fn purge_session(&self, session_id: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let Some((session_key, session)) = inner.sessions.get_key_value(session_id) else {
            return Ok(());
        };
        let session_key = session_key.clone();
        let ids: Vec<StreamId> = session.order.iter().cloned().collect();
        for stream in ids {
            inner.remove_stream(&StreamKey {
                session: session_key.clone(),
                stream,
            });
        }
        inner.sessions.remove(session_id);
        Ok(())
    }
}

fn gone(key: &StreamKey) -> StoreError {
    StoreError::new(gone_message(key), Duration::from_secs(1))
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
                let store = MemoryEventStore::new(EventStoreLimits { max_events_per_stream: cap, ..EventStoreLimits::default() }).unwrap();
                let key = StreamKey { session: "s".into(), stream: store.open_stream("s", "owner").await.unwrap() };
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

    proptest! {
        /// Whatever the caps evict on the way, every count of bytes (the
        /// store's, each session's, each principal's) is the sum of the
        /// events kept, and no cap is exceeded after an append returns.
        #[test]
        fn byte_counts_are_the_kept_events_under_every_cap(
            appends in proptest::collection::vec((0usize..4, 0usize..12), 1..80),
            max_events_per_stream in 1usize..6,
            max_bytes_per_session in 1usize..40,
            max_bytes_per_principal in 1usize..50,
            extra_total in 0usize..30,
        ) {
            runtime().block_on(async {
                let limits = EventStoreLimits {
                    max_events_per_stream,
                    max_bytes_per_session,
                    max_bytes_per_principal,
                    max_total_bytes: max_bytes_per_principal + extra_total,
                    ..EventStoreLimits::default()
                };
                let store = MemoryEventStore::new(limits).unwrap();
                // Four streams: two sessions of one principal, one of another.
                let mut keys = Vec::new();
                for (session, owner) in [("a", "p"), ("a", "p"), ("b", "p"), ("c", "q")] {
                    let stream = store.open_stream(session, owner).await.unwrap();
                    keys.push(StreamKey { session: session.into(), stream });
                }
                for (stream, len) in appends {
                    let event = SseEvent { data: "x".repeat(len), ..SseEvent::default() };
                    // A stream the caps dropped whole is gone: no error to check here.
                    let _ = store.append(&keys[stream], event).await;
                    let inner = store.lock();
                    let mut total = 0;
                    for session in inner.sessions.values() {
                        let kept: usize = session.streams.values().flat_map(|s| s.events.iter()).map(event_bytes).sum();
                        prop_assert_eq!(session.bytes, kept);
                        total += kept;
                        for stream in session.streams.values() {
                            prop_assert!(stream.events.len() <= max_events_per_stream);
                        }
                    }
                    prop_assert_eq!(inner.total_bytes, total);
                    for (owner, held) in &inner.owners {
                        let kept: usize = inner.sessions.values()
                            .flat_map(|session| session.streams.values())
                            .filter(|stream| stream.owner == *owner)
                            .flat_map(|stream| stream.events.iter())
                            .map(event_bytes)
                            .sum();
                        prop_assert_eq!(held.bytes, kept);
                    }
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
                    stream: store.open_stream(session, session).await.unwrap(),
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
            let inner = store.lock();
            assert!(
                inner.owners.is_empty() && inner.sessions.is_empty(),
                "no principal or session is remembered once its streams are gone"
            );
        });
    }
}
