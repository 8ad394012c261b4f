//! Where events live between the handler and the client: the [`EventStore`]
//! trait, the in-memory default [`MemoryEventStore`], (feature `redis`)
//! `RedisEventStore` on Redis Streams for streams shared by many server
//! instances, and (feature `contract-tests`) the contract every store must
//! pass.

use std::future::Future;
use std::time::Duration;

use crate::{SseEvent, StreamId};

mod memory;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use memory::{EventStoreLimits, MemoryEventStore};
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_KEY_PREFIX, RedisEventStore, RedisEventStoreBuilder};

/// One stream of one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The session (its `Mcp-Session-Id`): every lookup is scoped to it.
    pub session: String,
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

/// Keeps each session's SSE events so a client can resume a stream. Async and
/// fallible, so a network store (Redis Streams, with blocking reads for the
/// live tail across instances) fits beside the embedded [`MemoryEventStore`].
///
/// Every operation is scoped to a session: a stream of another session is
/// [`Replay::Unknown`], never its events.
pub trait EventStore: Send + Sync + 'static {
    /// Opens a new stream in `session` and returns its id (unique in the
    /// session). Over the per-session stream cap, the oldest stream goes.
    fn open_stream(
        &self,
        session: &str,
    ) -> impl Future<Output = Result<StreamId, StoreError>> + Send;

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
