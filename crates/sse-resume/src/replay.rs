//! The two halves of a resumable stream: the drain, which reads the handler's
//! events into the store, and the reader, which sends the client what the
//! store holds after its cursor, then follows live.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::{Body, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use mcp_guard_core::BoxError;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::EventId;
use crate::body::KEEP_ALIVE;
use crate::parser::{SseEvent, SseParser};
use crate::store::{EventStore, Replay, StreamKey};

/// How many clients read a stream right now, and since when none has.
#[derive(Debug, Default)]
pub(crate) struct Attachment {
    readers: AtomicUsize,
    alone_since: Mutex<Option<Instant>>,
    /// The furthest sequence an attached reader has sent.
    cursor: AtomicU64,
    advanced: Notify,
}

/// The streams being drained, so a resuming reader counts as attached.
#[derive(Debug, Default)]
pub(crate) struct Drains {
    streams: Mutex<HashMap<StreamKey, Arc<Attachment>>>,
}

impl Drains {
    fn register(&self, key: &StreamKey) -> Arc<Attachment> {
        let attachment = Arc::new(Attachment::default());
        self.lock().insert(key.clone(), attachment.clone());
        attachment
    }

    fn finished(&self, key: &StreamKey) {
        self.lock().remove(key);
    }

    pub(crate) fn attach(&self, key: &StreamKey) -> Option<ReaderGuard> {
        let attachment = self.lock().get(key).cloned()?;
        Some(ReaderGuard::new(attachment))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StreamKey, Arc<Attachment>>> {
        self.streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Held by a client-facing body: while any exists, the drain has a reader.
#[derive(Debug)]
pub(crate) struct ReaderGuard(Arc<Attachment>);

impl ReaderGuard {
    fn new(attachment: Arc<Attachment>) -> Self {
        attachment.readers.fetch_add(1, Ordering::SeqCst);
        ReaderGuard(attachment)
    }

    /// The reader has sent everything up to `seq`.
    fn advance(&self, seq: u64) {
        self.0.cursor.fetch_max(seq, Ordering::SeqCst);
        self.0.advanced.notify_waiters();
    }
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        if self.0.readers.fetch_sub(1, Ordering::SeqCst) == 1 {
            let mut alone = self
                .0
                .alone_since
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *alone = Some(Instant::now());
        }
    }
}

/// Starts draining the handler's event stream into the store, in its own task:
/// it goes on when the client disconnects, until the handler's stream ends or
/// no client has read it for `drain_timeout`. Returns the first reader's guard.
pub(crate) fn spawn_drain<St, B>(
    store: Arc<St>,
    drains: Arc<Drains>,
    key: StreamKey,
    body: B,
    max_event_bytes: usize,
    drain_timeout: Duration,
    max_unread: u64,
) -> ReaderGuard
where
    St: EventStore,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let attachment = drains.register(&key);
    let guard = ReaderGuard::new(attachment.clone());
    tokio::spawn(async move {
        let limits = DrainLimits {
            max_event_bytes,
            drain_timeout,
            max_unread,
        };
        drain(&*store, &key, body, limits, &attachment).await;
        if let Err(error) = store.close_stream(&key).await {
            tracing::warn!(stream = %key.stream, error = error.message(), "could not close a drained stream");
        }
        drains.finished(&key);
    });
    guard
}

struct DrainLimits {
    max_event_bytes: usize,
    drain_timeout: Duration,
    max_unread: u64,
}

async fn drain<St, B>(
    store: &St,
    key: &StreamKey,
    body: B,
    limits: DrainLimits,
    attachment: &Attachment,
) where
    St: EventStore,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let DrainLimits {
        max_event_bytes,
        drain_timeout,
        max_unread,
    } = limits;
    let mut parser = SseParser::new(max_event_bytes);
    let mut body = std::pin::pin!(body);
    let check_every = (drain_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut appended = 0u64;
    loop {
        // Checked on every turn, not only on the timer: a handler that keeps
        // talking must not keep an abandoned drain alive.
        if abandoned(attachment, drain_timeout) {
            tracing::info!(stream = %key.stream, "no client read this stream for the drain timeout; the handler's stream is dropped");
            return;
        }
        let next = tokio::select! {
            frame = body.frame() => Next::from(frame),
            () = tokio::time::sleep(check_every) => Next::Tick,
        };
        let data = match next {
            Next::Data(data) => data,
            Next::Other => continue,
            Next::Tick => continue,
            Next::End => return,
            Next::Failed(error) => {
                tracing::warn!(stream = %key.stream, %error, "the handler's event stream failed");
                return;
            }
        };
        let events = match parser.push(&data) {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(stream = %key.stream, %error, "the handler's event stream is not readable");
                return;
            }
        };
        for event in events.into_iter().filter(|event| !event.data.is_empty()) {
            // A handler's own priming event (empty data) is dropped: the layer
            // primes the client itself, and never replays one as data.
            wait_for_attached_reader(attachment, appended, max_unread).await;
            match store.append(key, event).await {
                Ok(seq) => appended = seq,
                Err(error) => {
                    tracing::warn!(stream = %key.stream, error = error.message(), "an event could not be stored; the stream ends");
                    return;
                }
            }
        }
    }
}

/// What the drain got from the handler's body (or its timer), owned and `Send`.
enum Next {
    Data(Bytes),
    Other,
    Tick,
    End,
    Failed(BoxError),
}

impl<E: Into<BoxError>> From<Option<Result<Frame<Bytes>, E>>> for Next {
    fn from(frame: Option<Result<Frame<Bytes>, E>>) -> Self {
        match frame {
            None => Next::End,
            Some(Err(error)) => Next::Failed(error.into()),
            Some(Ok(frame)) => frame.into_data().map_or(Next::Other, Next::Data),
        }
    }
}

/// Backpressure while a client is connected: the drain stays at most
/// `max_unread` events ahead of the reader, so a connected client is never
/// overtaken by the store's eviction. Without a reader it runs free (bounded
/// by the store's caps and the drain timeout).
async fn wait_for_attached_reader(attachment: &Attachment, appended: u64, max_unread: u64) {
    loop {
        let advanced = attachment.advanced.notified();
        let attached = attachment.readers.load(Ordering::SeqCst) > 0;
        let unread = appended.saturating_sub(attachment.cursor.load(Ordering::SeqCst));
        if !attached || unread < max_unread {
            return;
        }
        // The timeout re-checks whether the reader went away.
        let _ = tokio::time::timeout(Duration::from_millis(50), advanced).await;
    }
}

fn abandoned(attachment: &Attachment, drain_timeout: Duration) -> bool {
    if attachment.readers.load(Ordering::SeqCst) > 0 {
        return false;
    }
    let alone = attachment
        .alone_since
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    alone.is_some_and(|since| since.elapsed() >= drain_timeout)
}

/// How long a reader's attachment protects its stream from other
/// principals' appends ([`EventStore::attach`]); renewed every third of it
/// while the reader reads, left to lapse when the reader goes.
const READER_LEASE: Duration = Duration::from_secs(60);

/// What a client-facing stream sends besides events.
#[derive(Debug, Clone)]
pub(crate) struct ReaderOptions {
    /// Send the priming event (id, empty data) first (2025-11-25 clients).
    pub(crate) priming: bool,
    /// The `retry:` to send, in milliseconds (2025-11-25 clients).
    pub(crate) retry: Option<Duration>,
    /// A keep-alive comment after this long without events.
    pub(crate) keep_alive: Duration,
    /// Close the connection (not the stream) after this many events…
    pub(crate) poll_after_events: Option<usize>,
    /// …or after this long (SEP-1699 polling).
    pub(crate) poll_after: Option<Duration>,
    /// Events read from the store per batch.
    pub(crate) batch: usize,
}

struct Reader<St> {
    store: Arc<St>,
    key: StreamKey,
    cursor: u64,
    options: ReaderOptions,
    sent: usize,
    started: Instant,
    preamble: Option<Bytes>,
    done: bool,
    guard: Option<ReaderGuard>,
    attached_at: Option<Instant>,
}

/// The client-facing body: the store's events after `cursor`, then live.
pub(crate) fn reader_body<St: EventStore>(
    store: Arc<St>,
    key: StreamKey,
    cursor: u64,
    options: ReaderOptions,
    guard: Option<ReaderGuard>,
) -> UnsyncBoxBody<Bytes, BoxError> {
    let preamble = preamble(&key, &options);
    let reader = Reader {
        store,
        key,
        cursor,
        options,
        sent: 0,
        started: Instant::now(),
        preamble,
        done: false,
        guard,
        attached_at: None,
    };
    let frames = futures_util::stream::unfold(reader, |mut reader| async move {
        let bytes = reader.next_chunk().await?;
        Some((Ok::<_, BoxError>(Frame::data(bytes)), reader))
    });
    BodyExt::boxed_unsync(StreamBody::new(frames.boxed()))
}

/// The priming event and/or `retry:` a stream starts with.
fn preamble(key: &StreamKey, options: &ReaderOptions) -> Option<Bytes> {
    let mut text = String::new();
    if options.priming {
        text.push_str(&format!("id: {}\n", EventId::new(key.stream.clone(), 0)));
    }
    if let Some(retry) = options.retry {
        text.push_str(&format!("retry: {}\n", retry.as_millis()));
    }
    if options.priming {
        text.push_str("data: \n");
    }
    if text.is_empty() {
        return None;
    }
    text.push('\n');
    Some(Bytes::from(text))
}

impl<St: EventStore> Reader<St> {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(preamble) = self.preamble.take() {
            return Some(preamble);
        }
        loop {
            if self.done {
                return None;
            }
            if self.poll_budget_spent() {
                // Polling: close the connection, not the stream; say when to come back.
                self.done = true;
                let retry = self.options.retry?;
                return Some(Bytes::from(format!("retry: {}\n\n", retry.as_millis())));
            }
            let remaining = self
                .options
                .poll_after_events
                .map_or(usize::MAX, |limit| limit - self.sent);
            let max = self.options.batch.min(remaining).max(1);
            self.renew_attachment().await;
            let replay = self.store.read_after(&self.key, self.cursor, max).await;
            match replay {
                Ok(Replay::Events { events, closed }) if !events.is_empty() => {
                    self.done = closed;
                    return Some(self.format(events));
                }
                Ok(Replay::Events { closed: true, .. }) => return None,
                Ok(Replay::Events { .. }) => {
                    let waited = Instant::now();
                    if self
                        .store
                        .wait_after(&self.key, self.cursor, self.options.keep_alive)
                        .await
                        .is_err()
                    {
                        return None;
                    }
                    if waited.elapsed() >= self.options.keep_alive {
                        return Some(Bytes::from_static(KEEP_ALIVE));
                    }
                }
                // Evicted under the reader, gone, or a store failure: end this
                // connection; a resume gets the precise answer.
                Ok(Replay::Evicted { .. } | Replay::Unknown) | Err(_) => return None,
            }
        }
    }

    /// Keeps the stream protected while this reader reads it, even once its
    /// drain has closed it.
    async fn renew_attachment(&mut self) {
        if self
            .attached_at
            .is_some_and(|at| at.elapsed() < READER_LEASE / 3)
        {
            return;
        }
        self.attached_at = Some(Instant::now());
        if let Err(error) = self.store.attach(&self.key, READER_LEASE).await {
            tracing::debug!(stream = %self.key.stream, error = error.message(), "a reader could not attach to its stream; the read will tell");
        }
    }

    fn poll_budget_spent(&self) -> bool {
        let by_count = self
            .options
            .poll_after_events
            .is_some_and(|limit| self.sent >= limit);
        let by_time = self
            .options
            .poll_after
            .is_some_and(|limit| self.started.elapsed() >= limit);
        by_count || by_time
    }

    fn format(&mut self, events: Vec<(u64, SseEvent)>) -> Bytes {
        let mut text = String::new();
        for (seq, event) in events {
            text.push_str(&format!(
                "id: {}\n",
                EventId::new(self.key.stream.clone(), seq)
            ));
            if let Some(name) = &event.event {
                text.push_str(&format!("event: {name}\n"));
            }
            if let Some(retry) = event.retry {
                text.push_str(&format!("retry: {retry}\n"));
            }
            for line in event.data.split('\n') {
                text.push_str("data: ");
                text.push_str(line);
                text.push('\n');
            }
            text.push('\n');
            self.cursor = seq;
            self.sent += 1;
        }
        if let Some(guard) = &self.guard {
            guard.advance(self.cursor);
        }
        Bytes::from(text)
    }
}
