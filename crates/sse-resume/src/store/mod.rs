//! Where events live between the handler and the client: the [`EventStore`]
//! trait, the in-memory default [`MemoryEventStore`], (feature `redis`)
//! `RedisEventStore` on Redis Streams for streams shared by many server
//! instances, and (feature `contract-tests`) the contract every store must
//! pass.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::{SseEvent, StreamId};

mod memory;

/// A map keyed by what clients cannot choose at will (session and stream
/// ids this layer or the session layer minted at random; principals from
/// verified tokens), hashed with a seeded foldhash instead of SipHash: a
/// legacy-era request looks its stream up a dozen times, and SipHash of the
/// ids was ~4 900 instructions of it in the example server, a twelfth of
/// what the guards add (`scripts/server-instructions.sh`). A client only
/// looks ids up, so it cannot fill a bucket with keys of its choosing.
pub(crate) type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use memory::MemoryEventStore;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_KEY_PREFIX, RedisEventStore, RedisEventStoreBuilder};

/// The caps of an event store. Over a cap the oldest events go, and a
/// resume from an evicted position is told so ([`Replay::Evicted`]).
///
/// # Who pays for room
///
/// Each stream belongs to the principal that owns its session (the `owner`
/// of [`EventStore::open_stream`]). An append makes room from the appending
/// principal's own data first: its session's bytes, then its
/// [budget](Self::max_bytes_per_principal). Only when the store as a whole is
/// over [`max_total_bytes`](Self::max_total_bytes) does another principal's
/// stream go, the one idle longest, and never one that is *protected*: not
/// yet closed (its drain is running) or with a reader attached
/// ([`EventStore::attach`]). When everything left is protected, the appending
/// principal's own oldest events go instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStoreLimits {
    /// Events kept per stream (default 10 000).
    pub max_events_per_stream: usize,
    /// Streams kept per session (default 32). Opening one more gives one up:
    /// the oldest *closed* stream (its handler's stream ended) with no
    /// reader attached (a reader that sent a stream to its end
    /// [detaches](EventStore::detach)), else the oldest closed one. A stream still running
    /// goes only when every stream kept is running, the oldest first: the
    /// cap is a hard bound, but that stream's next event cannot be stored
    /// and its client misses the rest of its answer, so keep this above the
    /// calls one session runs at once.
    pub max_streams_per_session: usize,
    /// Bytes of event data kept per session (default 8 MiB).
    pub max_bytes_per_session: usize,
    /// Bytes of event data kept per principal, over all its sessions
    /// (default 32 MiB, an eighth of the overall cap): one principal cannot
    /// fill the store, it takes eight at their budgets; one principal still
    /// has four sessions' worth at the per-session cap. Anonymous sessions
    /// share one budget (they cannot be told apart, so together they cannot
    /// crowd out a named principal; the session layer counts them as one
    /// binding too). Must not exceed `max_total_bytes`.
    pub max_bytes_per_principal: usize,
    /// Bytes of event data kept overall (default 256 MiB); the unprotected
    /// stream idle longest goes first.
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
            max_bytes_per_principal: 32 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024,
            ttl: Duration::from_secs(30 * 60),
        }
    }
}

impl EventStoreLimits {
    /// Refuses caps a store could not keep: a zero cap or TTL (nothing could
    /// be stored or resumed), or a per-principal budget above the overall cap
    /// (one principal could fill the store). Stores check this when built.
    pub fn validate(&self) -> Result<(), EventStoreLimitsConfigError> {
        let zero = [
            ("max_events_per_stream", self.max_events_per_stream),
            ("max_streams_per_session", self.max_streams_per_session),
            ("max_bytes_per_session", self.max_bytes_per_session),
            ("max_bytes_per_principal", self.max_bytes_per_principal),
            ("max_total_bytes", self.max_total_bytes),
        ]
        .into_iter()
        .find(|(_, cap)| *cap == 0);
        if let Some((setting, _)) = zero {
            return Err(EventStoreLimitsConfigError::new(
                setting,
                "must be at least 1: with 0 nothing could be kept for a resume",
            ));
        }
        if self.ttl.is_zero() {
            return Err(EventStoreLimitsConfigError::new(
                "ttl",
                "must be longer than zero: every stream would expire at once",
            ));
        }
        if self.max_bytes_per_principal > self.max_total_bytes {
            return Err(EventStoreLimitsConfigError::new(
                "max_bytes_per_principal",
                "must not exceed max_total_bytes: one principal could fill the whole store and evict everyone else's events",
            ));
        }
        Ok(())
    }
}

/// A cap of [`EventStoreLimits`] a store refuses, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStoreLimitsConfigError {
    setting: &'static str,
    reason: &'static str,
}

impl EventStoreLimitsConfigError {
    fn new(setting: &'static str, reason: &'static str) -> Self {
        EventStoreLimitsConfigError { setting, reason }
    }

    /// The field of [`EventStoreLimits`] whose value was refused.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for EventStoreLimitsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventStoreLimits::{}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for EventStoreLimitsConfigError {}

/// One stream of one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The session (its `Mcp-Session-Id`): every lookup is scoped to it.
    pub session: Arc<str>,
    /// The stream within the session.
    pub stream: StreamId,
}

/// What [`EventStore::read_after`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// The events after the cursor, in order (possibly none yet), and whether
    /// the stream has ended (no more will come).
    Events {
        /// `(sequence, event)`, ascending, contiguous.
        events: Vec<(u64, SseEvent)>,
        /// The stream is closed and `events` reaches its end.
        closed: bool,
    },
    /// Events right after the cursor were evicted (a cap or the TTL): a resume
    /// from there would miss some.
    Evicted {
        /// The oldest sequence still kept.
        oldest_kept: u64,
    },
    /// This session has no such stream (never had, another session's, expired,
    /// or purged), or the cursor is beyond its end.
    Unknown,
}

pub use mcp_guard_core::StoreError;

/// The bytes an event counts for against the caps: its data and its name.
pub(crate) fn event_bytes(event: &SseEvent) -> usize {
    event.data.len() + event.event.as_ref().map_or(0, String::len)
}

/// Why an append found no stream to append to.
pub(crate) fn gone_message(key: &StreamKey) -> String {
    format!(
        "stream {} of a session is gone (purged, expired or evicted)",
        key.stream
    )
}

/// Where a stream stands when a read comes: its last sequence, its oldest
/// kept sequence, and whether it is closed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamTail {
    pub(crate) last: u64,
    pub(crate) first_kept: u64,
    pub(crate) closed: bool,
}

impl StreamTail {
    /// What a read after `after` found, the same rule for every store:
    /// `events` are the kept events after the cursor (ascending), of which up
    /// to `max` are replayed.
    pub(crate) fn replay_after(
        self,
        after: u64,
        mut events: Vec<(u64, SseEvent)>,
        max: usize,
    ) -> Replay {
        let Self {
            last,
            first_kept,
            closed,
        } = self;
        if after > last {
            return Replay::Unknown;
        }
        if after < last && first_kept > after + 1 {
            return Replay::Evicted {
                oldest_kept: first_kept,
            };
        }
        events.truncate(max);
        let reached_end = after + events.len() as u64 == last;
        Replay::Events {
            closed: closed && reached_end,
            events,
        }
    }
}

/// Keeps each session's SSE events so a client can resume a stream. Async and
/// fallible, so a network store (Redis Streams, with blocking reads for the
/// live tail across instances) fits beside the embedded [`MemoryEventStore`].
///
/// Every operation is scoped to a session: a stream of another session is
/// [`Replay::Unknown`], never its events. Every stream belongs to a
/// principal, whose budget it counts against; one principal's appends never
/// drop another principal's protected stream (see [`EventStoreLimits`]).
pub trait EventStore: Send + Sync + 'static {
    /// Opens a new stream in `session`, owned by the principal `owner` (a
    /// stable key of whoever the session belongs to), and returns its id
    /// (unique in the session). At the per-session stream cap, the session
    /// gives up a stream, a closed one before a running one (see
    /// [`EventStoreLimits::max_streams_per_session`]). The stream is
    /// protected from other principals' appends until it is closed: its
    /// drain is running.
    fn open_stream(
        &self,
        session: &str,
        owner: &str,
    ) -> impl Future<Output = Result<StreamId, StoreError>> + Send;

    /// A reader is attached to the stream: for `lease` from now, other
    /// principals' appends do not drop it even once it is closed. Readers
    /// renew the lease while they read; it lapses by itself, so a reader that
    /// vanished (or an instance that died) holds nothing for long. A gone
    /// stream is no error: the reader finds it gone when it reads.
    fn attach(
        &self,
        key: &StreamKey,
        lease: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The reader that [attached](Self::attach) sent the closed stream to its
    /// end, and no other reads it: its lease ends now. The stream stays
    /// readable (a client that lost the last bytes can still resume), but it
    /// is the first a full session gives up, and other principals' appends
    /// may drop it. A gone stream is no error.
    fn detach(&self, key: &StreamKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends an event; returns its sequence (1, 2, …). Stored before it is
    /// sent: the client only ever reads events back from the store.
    fn append(
        &self,
        key: &StreamKey,
        event: SseEvent,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Marks the stream ended: readers get `closed` once they reach its end.
    fn close_stream(&self, key: &StreamKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `max` events after sequence `after` (0 = from the start).
    fn read_after(
        &self,
        key: &StreamKey,
        after: u64,
        max: usize,
    ) -> impl Future<Output = Result<Replay, StoreError>> + Send;

    /// Waits until the stream has an event after `after`, is closed, is gone,
    /// or `timeout` passes (whichever first). The live tail.
    fn wait_after(
        &self,
        key: &StreamKey,
        after: u64,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes everything of a session (it ended).
    fn purge_session(&self, session: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
