//! Where events live between the handler and the client: the [`EventStore`]
//! trait, the in-memory default [`MemoryEventStore`], and (feature
//! `contract-tests`) the contract every store must pass.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::{SseEvent, StreamId};

mod memory;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use memory::{EventStoreLimits, MemoryEventStore};

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

/// A store that could not answer. The layer answers `503` with `Retry-After`.
#[derive(Debug, Clone)]
pub struct EventStoreError {
    message: String,
    retry_after: Duration,
}

impl EventStoreError {
    /// A failure; clients are told to retry after `retry_after`.
    pub fn new(message: impl Into<String>, retry_after: Duration) -> Self {
        EventStoreError {
            message: message.into(),
            retry_after,
        }
    }

    /// What went wrong (logged, never sent to the client).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How long clients should wait.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for EventStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event store unavailable: {}", self.message)
    }
}

impl std::error::Error for EventStoreError {}

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
    ) -> impl Future<Output = Result<StreamId, EventStoreError>> + Send;

    /// Appends an event; returns its sequence (1, 2, …). Stored before it is
    /// sent: the client only ever reads events back from the store.
    fn append(
        &self,
        key: &StreamKey,
        event: SseEvent,
    ) -> impl Future<Output = Result<u64, EventStoreError>> + Send;

    /// Marks the stream ended: readers get `closed` once they reach its end.
    fn close_stream(
        &self,
        key: &StreamKey,
    ) -> impl Future<Output = Result<(), EventStoreError>> + Send;

    /// Up to `max` events after sequence `after` (0 = from the start).
    fn read_after(
        &self,
        key: &StreamKey,
        after: u64,
        max: usize,
    ) -> impl Future<Output = Result<Replay, EventStoreError>> + Send;

    /// Waits until the stream has an event after `after`, is closed, is gone,
    /// or `timeout` passes (whichever first). The live tail.
    fn wait_after(
        &self,
        key: &StreamKey,
        after: u64,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), EventStoreError>> + Send;

    /// Removes everything of a session (it ended).
    fn purge_session(
        &self,
        session: &str,
    ) -> impl Future<Output = Result<(), EventStoreError>> + Send;
}
