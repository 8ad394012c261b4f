use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use crate::replay::Drains;
use crate::service::SseResume;
use crate::store::{EventStore, MemoryEventStore};

/// SEP-1699 polling: close a 2025-11-25 client's connection (never the
/// stream) after a number of events or a time budget; the client resumes with
/// `Last-Event-ID` after the `retry:` interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Polling {
    /// Close after this many events.
    pub after_events: Option<usize>,
    /// Close after this long.
    pub after: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) retry: Duration,
    pub(crate) drain_timeout: Duration,
    pub(crate) keep_alive: Duration,
    pub(crate) polling: Polling,
    pub(crate) max_event_bytes: usize,
    pub(crate) replay_batch: usize,
    pub(crate) max_unread_events: u64,
}

/// Applies [`SseResume`]: resumable SSE for any handler, scoped to the
/// session, stored before sent, drained while the client is away.
///
/// See the [crate documentation](crate).
pub struct SseResumeLayer<St = MemoryEventStore> {
    store: Arc<St>,
    settings: Arc<Settings>,
    drains: Arc<Drains>,
}

impl<St> Clone for SseResumeLayer<St> {
    fn clone(&self) -> Self {
        SseResumeLayer {
            store: self.store.clone(),
            settings: self.settings.clone(),
            drains: self.drains.clone(),
        }
    }
}

impl<St> fmt::Debug for SseResumeLayer<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseResumeLayer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SseResumeLayer<MemoryEventStore> {
    /// The in-memory store with its default caps, and the default settings.
    pub fn new() -> Self {
        SseResumeLayer::builder(MemoryEventStore::default()).build()
    }
}

impl Default for SseResumeLayer<MemoryEventStore> {
    fn default() -> Self {
        SseResumeLayer::new()
    }
}

impl<St: EventStore> SseResumeLayer<St> {
    /// Starts a configuration on `store`.
    pub fn builder(store: St) -> SseResumeLayerBuilder<St> {
        SseResumeLayerBuilder {
            store,
            settings: Settings {
                retry: Duration::from_secs(3),
                drain_timeout: Duration::from_secs(5 * 60),
                keep_alive: Duration::from_secs(15),
                polling: Polling::default(),
                max_event_bytes: 4 * 1024 * 1024,
                replay_batch: 256,
                max_unread_events: 1000,
            },
        }
    }

    /// The store (e.g. for metrics).
    pub fn store(&self) -> &St {
        &self.store
    }
}

impl<S, St> Layer<S> for SseResumeLayer<St> {
    type Service = SseResume<S, St>;

    fn layer(&self, inner: S) -> Self::Service {
        SseResume {
            inner,
            store: self.store.clone(),
            settings: self.settings.clone(),
            drains: self.drains.clone(),
        }
    }
}

/// Configures an [`SseResumeLayer`].
#[must_use = "call .build() to get the layer"]
pub struct SseResumeLayerBuilder<St> {
    store: St,
    settings: Settings,
}

impl<St> fmt::Debug for SseResumeLayerBuilder<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseResumeLayerBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<St: EventStore> SseResumeLayerBuilder<St> {
    /// The `retry:` interval sent to 2025-11-25 clients (default 3 s).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.settings.retry = retry;
        self
    }

    /// How long the handler's stream is still drained into the store after
    /// the last client stopped reading it (default 5 min).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.settings.drain_timeout = timeout;
        self
    }

    /// A keep-alive comment after this long without events (default 15 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.settings.keep_alive = interval.max(Duration::from_millis(10));
        self
    }

    /// Enables polling for 2025-11-25 clients (off by default).
    pub fn polling(mut self, polling: Polling) -> Self {
        self.settings.polling = polling;
        self
    }

    /// The largest single event accepted from the handler (default 4 MiB).
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_event_bytes = bytes;
        self
    }

    /// While a client is connected, the handler's stream is read at most this
    /// many events ahead of what the client has been sent (default 1 000), so
    /// the store's per-stream cap never evicts events a connected client has
    /// not seen. Keep it below the store's per-stream cap.
    pub fn max_unread_events(mut self, events: u64) -> Self {
        self.settings.max_unread_events = events.max(1);
        self
    }

    /// Builds the layer.
    pub fn build(self) -> SseResumeLayer<St> {
        SseResumeLayer {
            store: Arc::new(self.store),
            settings: Arc::new(self.settings),
            drains: Arc::new(Drains::default()),
        }
    }
}
