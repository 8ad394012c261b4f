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

/// What an enabled layer and its services share: the store, the settings,
/// and the streams being drained.
pub(crate) struct Resuming<St> {
    pub(crate) store: Arc<St>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) drains: Arc<Drains>,
}

impl<St> Clone for Resuming<St> {
    fn clone(&self) -> Self {
        Resuming {
            store: self.store.clone(),
            settings: self.settings.clone(),
            drains: self.drains.clone(),
        }
    }
}

/// Applies [`SseResume`]: resumable SSE for any handler, scoped to the
/// session, stored before sent, drained while the client is away.
///
/// [`SseResumeLayer::disabled`] switches it off without changing the
/// stack's type. See the [crate documentation](crate).
pub struct SseResumeLayer<St = MemoryEventStore> {
    /// `None`: switched off, every request and response passes through.
    resuming: Option<Resuming<St>>,
}

impl<St> Clone for SseResumeLayer<St> {
    fn clone(&self) -> Self {
        SseResumeLayer {
            resuming: self.resuming.clone(),
        }
    }
}

impl<St> fmt::Debug for SseResumeLayer<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseResumeLayer")
            .field(
                "settings",
                &self.resuming.as_ref().map(|resuming| &resuming.settings),
            )
            .finish_non_exhaustive()
    }
}

impl<St> SseResumeLayer<St> {
    /// A layer that is switched off: its [`SseResume`] has the same type as
    /// an enabled one's, so a stack can switch the guard off by configuration
    /// without changing its type, but it passes every request and response
    /// through untouched (the body only wrapped as
    /// [`ResumeBody::passthrough`](crate::ResumeBody::passthrough)): no ids,
    /// no store, no replay, no keep-alives, no logs. It needs no store.
    ///
    /// ```
    /// use mcp_sse_resume::{MemoryEventStore, SseResumeLayer};
    ///
    /// let layer = SseResumeLayer::<MemoryEventStore>::disabled();
    /// assert!(!layer.is_enabled());
    /// assert!(layer.store().is_none());
    /// assert!(SseResumeLayer::new().is_enabled());
    /// ```
    pub fn disabled() -> Self {
        SseResumeLayer { resuming: None }
    }

    /// Whether the layer does its work (`false` once [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.resuming.is_some()
    }

    /// The store (e.g. for metrics); `None` when the layer is
    /// [`disabled`](Self::disabled).
    pub fn store(&self) -> Option<&St> {
        self.resuming.as_ref().map(|resuming| &*resuming.store)
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
}

impl<S, St> Layer<S> for SseResumeLayer<St> {
    type Service = SseResume<S, St>;

    fn layer(&self, inner: S) -> Self::Service {
        SseResume {
            inner,
            resuming: self.resuming.clone(),
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
            resuming: Some(Resuming {
                store: Arc::new(self.store),
                settings: Arc::new(self.settings),
                drains: Arc::new(Drains::default()),
            }),
        }
    }
}
