//! The two halves of a resumable stream: the drain, which reads the handler's
//! events into the store, and the reader, which sends the client what the
//! store holds after its cursor, then follows live.
//!
//! While the client that opened a stream is connected, its body polls the
//! drain itself, in the connection's task: the handler's event is stored and
//! read back in one poll, with no task between them to wake (each wake-up of
//! another task can cost a system call to wake another worker thread) and no
//! timer per event (a timer earlier than the runtime's next wake-up makes it
//! write its eventfd). Only when that body goes before the handler's stream
//! ends does the drain get a task of its own, to go on storing while the
//! client is away.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body::{Body, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use mcp_guard_core::BoxError;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use crate::StreamId;
use crate::body::KEEP_ALIVE;
use crate::parser::{SseEvent, SseParser};
use crate::store::{EventStore, IdMap, Replay, StreamKey};

/// How many clients read a stream right now, and since when none has.
#[derive(Debug, Default)]
pub(crate) struct Attachment {
    readers: AtomicUsize,
    alone_since: Mutex<Option<Instant>>,
    /// The furthest sequence an attached reader has sent.
    cursor: AtomicU64,
    advanced: Notify,
    /// The last sequence the drain stored: what the connected body that
    /// polls the drain waits for.
    appended: AtomicU64,
    /// The drain runs in a task of its own (its client's body went): it
    /// checks on a timer whether it was abandoned.
    detached: AtomicBool,
    /// The drain, while its client's body polls it; taken out to run in a
    /// task of its own.
    drain: DrainSlot,
    /// A resuming reader asked for the drain to run on its own: the body
    /// that polls it must not be the only thing that moves it (that body's
    /// connection may be stalled, or half-open, and never polled again).
    release_requested: AtomicBool,
    /// The body polling the drain, woken when the drain leaves it.
    owner: AtomicWaker,
}

impl Attachment {
    /// Moves the drain, if a body still polls it, into a task of its own.
    /// `wait`: block for a body that is polling it right now; without, such
    /// a body hands it over itself after that poll.
    fn release_drain(&self, wait: bool) {
        let future = if wait {
            self.drain.lock().take()
        } else {
            match self.drain.0.try_lock() {
                Ok(mut slot) => slot.take(),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        };
        let Some(future) = future else {
            return;
        };
        // From now on nothing polls it when the handler is silent: it
        // checks for abandonment on a timer of its own.
        self.detached.store(true, Ordering::SeqCst);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(future)),
            Err(_) => tracing::warn!(
                "a stream's client went outside a Tokio runtime: its handler's stream is not drained"
            ),
        }
        // The body that polled it follows the store from now on.
        self.owner.wake();
    }
}

/// The drain's future while a client's body polls it.
#[derive(Default)]
struct DrainSlot(Mutex<Option<DrainFuture>>);

impl DrainSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<DrainFuture>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for DrainSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrainSlot").finish_non_exhaustive()
    }
}

/// The streams being drained, so a resuming reader counts as attached.
#[derive(Debug, Default)]
pub(crate) struct Drains {
    streams: Mutex<IdMap<StreamKey, Arc<Attachment>>>,
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

    /// A resuming reader of `key`: it counts as attached, and the stream's
    /// drain goes on in a task of its own, so that the resume does not
    /// depend on the first client's body being polled.
    pub(crate) fn attach(&self, key: &StreamKey) -> Option<ReaderGuard> {
        let attachment = self.lock().get(key).cloned()?;
        attachment.release_requested.store(true, Ordering::SeqCst);
        attachment.release_drain(false);
        Some(ReaderGuard::new(attachment))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdMap<StreamKey, Arc<Attachment>>> {
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

/// The drain of one stream, boxed once: polled by its client's body while
/// that is connected, then by a task of its own.
type DrainFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts draining the handler's event stream into the store. The drain is
/// polled by the first reader's body ([`OwnedDrain`]) while that client is
/// connected; it goes on in a task of its own when the client disconnects,
/// until the handler's stream ends or no client has read it for
/// `drain_timeout`. Returns the first reader's guard and the drain.
pub(crate) fn start_drain<St, B>(
    store: Arc<St>,
    drains: Arc<Drains>,
    key: StreamKey,
    body: B,
    max_event_bytes: usize,
    drain_timeout: Duration,
    max_unread: u64,
) -> (ReaderGuard, OwnedDrain)
where
    St: EventStore,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let attachment = drains.register(&key);
    let guard = ReaderGuard::new(attachment.clone());
    let drained = attachment.clone();
    let future: DrainFuture = Box::pin(async move {
        let limits = DrainLimits {
            max_event_bytes,
            drain_timeout,
            max_unread,
        };
        drain(&*store, &key, body, limits, &drained).await;
        if let Err(error) = store.close_stream(&key).await {
            tracing::warn!(stream = %key.stream, error = error.message(), "could not close a drained stream");
        }
        drains.finished(&key);
    });
    *attachment.drain.lock() = Some(future);
    (guard, OwnedDrain { attachment })
}

/// A drain polled by its client's body, in the connection's task. Dropped
/// before the drain ended (the client went, or polling closed the
/// connection), it hands the drain to a task of its own: the handler's stream
/// is still stored while the client is away. A resume of the stream hands it
/// over too ([`Drains::attach`]).
pub(crate) struct OwnedDrain {
    attachment: Arc<Attachment>,
}

impl OwnedDrain {
    /// Drives the drain as far as it goes now; `Ready` once this body no
    /// longer drives it: it has ended (the stream is closed in the store),
    /// or it runs in a task of its own.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut slot = self.attachment.drain.lock();
        let Some(future) = slot.as_mut() else {
            return Poll::Ready(());
        };
        self.attachment.owner.register(cx.waker());
        if future.as_mut().poll(cx).is_ready() {
            *slot = None;
            return Poll::Ready(());
        }
        drop(slot);
        if self.attachment.release_requested.load(Ordering::SeqCst) {
            self.attachment.release_drain(true);
            return Poll::Ready(());
        }
        Poll::Pending
    }

    fn running(&self) -> bool {
        self.attachment.drain.lock().is_some()
    }
}

impl Drop for OwnedDrain {
    fn drop(&mut self) {
        self.attachment.release_drain(true);
    }
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
    // Armed only once the drain runs alone, then re-armed when it fires.
    let mut tick: Option<Pin<Box<Sleep>>> = None;
    let mut appended = 0u64;
    // The events of one chunk; reused, not a new `Vec` per chunk.
    let mut events = Vec::new();
    loop {
        // Checked on every turn, not only on the timer: a handler that keeps
        // talking must not keep an abandoned drain alive.
        if abandoned(attachment, drain_timeout) {
            tracing::info!(stream = %key.stream, "no client read this stream for the drain timeout; the handler's stream is dropped");
            return;
        }
        let next = std::future::poll_fn(|cx| {
            poll_next(body.as_mut(), cx, attachment, &mut tick, check_every)
        })
        .await;
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
        if let Err(error) = parser.push_into(&data, &mut events) {
            tracing::warn!(stream = %key.stream, %error, "the handler's event stream is not readable");
            return;
        }
        for event in events.drain(..).filter(|event| !event.data.is_empty()) {
            // A handler's own priming event (empty data) is dropped: the layer
            // primes the client itself, and never replays one as data.
            wait_for_attached_reader(attachment, appended, max_unread).await;
            match store.append(key, event).await {
                Ok(seq) => {
                    appended = seq;
                    attachment.appended.fetch_max(seq, Ordering::SeqCst);
                }
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

/// The handler's next frame; while the drain runs alone, a tick every
/// `every` to check whether it was abandoned. While a connected client's
/// body polls it, no timer: that body is there.
fn poll_next<B>(
    body: Pin<&mut B>,
    cx: &mut Context<'_>,
    attachment: &Attachment,
    tick: &mut Option<Pin<Box<Sleep>>>,
    every: Duration,
) -> Poll<Next>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if let Poll::Ready(frame) = body.poll_frame(cx) {
        return Poll::Ready(Next::from(frame));
    }
    if !attachment.detached.load(Ordering::SeqCst) {
        return Poll::Pending;
    }
    let sleep = tick.get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
    ready!(sleep.as_mut().poll(cx));
    sleep.as_mut().reset(Instant::now() + every);
    Poll::Ready(Next::Tick)
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

/// A deadline that does not come: about 30 years.
const NEVER: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

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
    /// The last event of the closed stream went out: the end, not a
    /// polling close.
    finished: bool,
    guard: Option<ReaderGuard>,
    attached_at: Option<Instant>,
    /// The stream's drain, while this reader's body polls it (the client
    /// that opened the stream); `None` for a resume, which follows the store.
    drain: Option<OwnedDrain>,
    /// The keep-alive timer of a reader that polls its drain: made once, at
    /// its first wait, and re-armed only when it fires (not per event).
    keep_alive: Option<Pin<Box<Sleep>>>,
}

/// The client-facing body: the store's events after `cursor`, then live.
/// With `drain`, the body polls the drain itself while the client is
/// connected.
pub(crate) fn reader_body<St: EventStore>(
    store: Arc<St>,
    key: StreamKey,
    cursor: u64,
    options: ReaderOptions,
    guard: Option<ReaderGuard>,
    drain: Option<OwnedDrain>,
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
        finished: false,
        guard,
        attached_at: None,
        drain,
        keep_alive: None,
    };
    let frames = futures_util::stream::unfold(reader, |mut reader| async move {
        let bytes = reader.next_chunk().await?;
        Some((Ok::<_, BoxError>(Frame::data(bytes)), reader))
    });
    // One box: the stream is pinned inside the body, not boxed again.
    BodyExt::boxed_unsync(StreamBody::new(frames))
}

/// The priming event and/or `retry:` a stream starts with.
fn preamble(key: &StreamKey, options: &ReaderOptions) -> Option<Bytes> {
    if !options.priming && options.retry.is_none() {
        return None;
    }
    let reserved = preamble_len(key, options);
    let mut text = String::with_capacity(reserved);
    if options.priming {
        text.push_str("id: ");
        text.push_str(key.stream.as_str());
        text.push_str("-0\n");
    }
    if let Some(retry) = options.retry {
        push_line(&mut text, "retry: ", retry.as_millis());
    }
    if options.priming {
        text.push_str("data: \n");
    }
    text.push('\n');
    // Exactly as long as reserved: `Bytes` takes the string's buffer as it
    // is (no spare capacity), without a second allocation to share it.
    debug_assert_eq!(text.len(), reserved);
    Some(Bytes::from(text))
}

/// `<field><n>\n`, the number written by `itoa` (not through `core::fmt`).
fn push_line(text: &mut String, field: &str, n: impl itoa::Integer) {
    text.push_str(field);
    text.push_str(itoa::Buffer::new().format(n));
    text.push('\n');
}

/// The length of [`preamble`]'s text, exactly.
fn preamble_len(key: &StreamKey, options: &ReaderOptions) -> usize {
    let id = match options.priming {
        // "id: <stream>-0\n" and "data: \n"
        true => 4 + key.stream.as_str().len() + 3 + 7,
        false => 0,
    };
    // "retry: <ms>\n"
    let retry = options
        .retry
        .map_or(0, |retry| 8 + digits(retry.as_millis()));
    id + retry + 1
}

/// Decimal digits of `n`.
fn digits(n: impl Into<u128>) -> usize {
    let n: u128 = n.into();
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// What a reader that polls its drain waited for.
enum Waited {
    /// The drain stored an event after the cursor, or ended.
    Progress,
    /// Nothing for the keep-alive interval.
    KeepAlive,
}

impl<St: EventStore> Reader<St> {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(preamble) = self.preamble.take() {
            return Some(preamble);
        }
        loop {
            if self.finished {
                self.detach().await;
                return None;
            }
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
            // Whatever the handler has sent by now is stored before it is read.
            let ended = std::future::poll_fn(|cx| {
                Poll::Ready(
                    self.drain
                        .as_mut()
                        .is_some_and(|drain| drain.poll(cx).is_ready()),
                )
            })
            .await;
            if !ended && !self.stored_after_cursor() {
                // Only this body's drain adds to the stream, and it stored
                // nothing new: no read, wait for it.
                let since = Instant::now();
                let waited = std::future::poll_fn(|cx| self.poll_drain_progress(cx, since));
                if let Waited::KeepAlive = waited.await {
                    return Some(Bytes::from_static(KEEP_ALIVE));
                }
                continue;
            }
            let replay = self.store.read_after(&self.key, self.cursor, max).await;
            match replay {
                Ok(Replay::Events { events, closed }) if !events.is_empty() => {
                    self.finished = closed;
                    let chunk = self.format(events);
                    if !closed {
                        self.stay_protected().await;
                    }
                    return Some(chunk);
                }
                Ok(Replay::Events { closed: true, .. }) => self.finished = true,
                Ok(Replay::Events { .. }) if self.polls_drain() => {
                    let since = Instant::now();
                    let waited = std::future::poll_fn(|cx| self.poll_drain_progress(cx, since));
                    if let Waited::KeepAlive = waited.await {
                        return Some(Bytes::from_static(KEEP_ALIVE));
                    }
                }
                Ok(Replay::Events { .. }) => {
                    self.stay_protected().await;
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

    /// This body polls the stream's drain, which has not ended.
    fn polls_drain(&self) -> bool {
        self.drain.as_ref().is_some_and(OwnedDrain::running)
    }

    /// Whether the store may hold events after the cursor: always, unless
    /// this body polls the stream's running drain (the only writer of the
    /// stream) and it stored none after the cursor.
    fn stored_after_cursor(&self) -> bool {
        match &self.drain {
            Some(drain) if drain.running() => {
                drain.attachment.appended.load(Ordering::SeqCst) > self.cursor
            }
            _ => true,
        }
    }

    /// Waits, polling the drain, until it stored an event after the cursor
    /// or ended; or until nothing came for the keep-alive interval since
    /// `since` (the live tail's keep-alive, without the store's wait).
    fn poll_drain_progress(&mut self, cx: &mut Context<'_>, since: Instant) -> Poll<Waited> {
        if let Some(drain) = &mut self.drain
            && drain.poll(cx).is_ready()
        {
            return Poll::Ready(Waited::Progress);
        }
        let appended = self
            .drain
            .as_ref()
            .map_or(0, |drain| drain.attachment.appended.load(Ordering::SeqCst));
        if appended > self.cursor {
            return Poll::Ready(Waited::Progress);
        }
        // A keep-alive too long for the clock (`Duration::MAX` for "never")
        // is a deadline that does not come.
        let deadline = since
            .checked_add(self.options.keep_alive)
            .unwrap_or_else(|| since + NEVER);
        let sleep = self
            .keep_alive
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            ready!(sleep.as_mut().poll(cx));
            if sleep.deadline() >= deadline {
                return Poll::Ready(Waited::KeepAlive);
            }
            // It fired for an earlier wait: this one's keep-alive is later.
            sleep.as_mut().reset(deadline);
        }
    }

    /// The whole closed stream went out: the lease this reader holds ends
    /// now, if no other reader of this process reads the stream (a resume
    /// that came after the drain ended is not counted, and keeps reading
    /// unprotected until it renews). The stream is then the first its
    /// session gives up when full, instead of every finished stream staying
    /// protected for the lease's minute and each new one ranking them all.
    async fn detach(&mut self) {
        self.finished = false;
        self.done = true;
        let alone = self
            .guard
            .as_ref()
            .is_some_and(|guard| guard.0.readers.load(Ordering::SeqCst) == 1);
        if !alone || self.attached_at.is_none() {
            return;
        }
        if let Err(error) = self.store.detach(&self.key).await {
            tracing::debug!(stream = %self.key.stream, error = error.message(), "a reader could not detach from its finished stream; its lease will lapse");
        }
    }

    /// The reader comes back for more: the stream must stay while it does,
    /// even once it is closed. While this body polls the running drain, the
    /// stream is protected as a running one: no lease to take. A reader that
    /// goes on after the drain ended, or a resume, attaches (after its first
    /// read, which is whole: a reader that gets the whole closed stream at
    /// once never takes a lease, nor gives one back).
    async fn stay_protected(&mut self) {
        if !self.polls_drain() {
            self.renew_attachment().await;
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
        let stream = self.key.stream.as_str().len();
        let reserved = events
            .iter()
            .map(|event| formatted_len(stream, event))
            .sum();
        let mut text = String::with_capacity(reserved);
        for (seq, event) in events {
            write_event(&mut text, &self.key.stream, seq, &event);
            self.cursor = seq;
            self.sent += 1;
        }
        if let Some(guard) = &self.guard {
            guard.advance(self.cursor);
        }
        // Exactly as long as reserved: `Bytes` takes the string's buffer as
        // it is (no spare capacity), without a second allocation to share it.
        debug_assert_eq!(text.len(), reserved);
        Bytes::from(text)
    }
}

/// Writes one stored event as the client gets it, with its id.
fn write_event(text: &mut String, stream: &StreamId, seq: u64, event: &SseEvent) {
    // `EventId`'s form, `<stream>-<seq>`, written in place.
    text.push_str("id: ");
    text.push_str(stream.as_str());
    push_line(text, "-", seq);
    if let Some(name) = &event.event {
        text.push_str("event: ");
        text.push_str(name);
        text.push('\n');
    }
    if let Some(retry) = event.retry {
        push_line(text, "retry: ", retry);
    }
    for line in event.data.split('\n') {
        text.push_str("data: ");
        text.push_str(line);
        text.push('\n');
    }
    text.push('\n');
}

/// The length of an event as [`write_event`] writes it, exactly, for a
/// stream id of `stream` bytes: `id: <stream>-<seq>`, the name and `retry:`
/// when present, each data line with its `data: ` prefix, the blank line.
fn formatted_len(stream: usize, (seq, event): &(u64, SseEvent)) -> usize {
    let id = 4 + stream + 1 + digits(*seq) + 1;
    let name = event.event.as_ref().map_or(0, |name| 7 + name.len() + 1);
    let retry = event.retry.map_or(0, |retry| 7 + digits(retry) + 1);
    // Each LF of the data becomes a line end after a `data: ` prefix.
    let newlines = memchr::memchr_iter(b'\n', event.data.as_bytes()).count();
    id + name + retry + event.data.len() + (newlines + 1) * 6 + 1 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventStoreLimits, MemoryEventStore};
    use futures_util::StreamExt;

    proptest::proptest! {
        /// The length an event is given before it is written is the length
        /// it is written with, so its bytes go out in the buffer they were
        /// written to.
        #[test]
        fn an_event_is_written_in_exactly_the_length_reserved_for_it(
            data in "[a-z\n{}\":]{0,40}",
            name in proptest::option::of("[a-z]{1,8}"),
            retry in proptest::option::of(proptest::prelude::any::<u64>()),
            seq in proptest::prelude::any::<u64>(),
        ) {
            let stream = StreamId::generate().unwrap();
            let event = SseEvent { event: name, data, retry };
            let mut text = String::new();
            write_event(&mut text, &stream, seq, &event);
            proptest::prop_assert_eq!(text.len(), formatted_len(stream.as_str().len(), &(seq, event)));
        }

        /// The same for the priming event and `retry:` a stream starts with.
        #[test]
        fn a_preamble_is_written_in_exactly_the_length_reserved_for_it(
            priming in proptest::prelude::any::<bool>(),
            retry in proptest::option::of(0u64..u64::MAX / 2_000),
        ) {
            let key = StreamKey { session: "session".into(), stream: StreamId::generate().unwrap() };
            let options = ReaderOptions { priming, retry: retry.map(Duration::from_millis), ..options() };
            let expected = (priming || retry.is_some()).then(|| preamble_len(&key, &options));
            proptest::prop_assert_eq!(preamble(&key, &options).map(|text| text.len()), expected);
        }
    }

    fn options() -> ReaderOptions {
        ReaderOptions {
            priming: false,
            retry: None,
            keep_alive: Duration::MAX,
            poll_after_events: None,
            poll_after: None,
            batch: 100,
        }
    }

    /// The first client's connection stalls (its body is never polled again,
    /// as hyper does when it cannot write): a resume of the stream still gets
    /// what the handler sends from then on.
    #[tokio::test]
    async fn a_resume_does_not_wait_for_a_stalled_first_client() {
        let store = Arc::new(MemoryEventStore::new(EventStoreLimits::default()).unwrap());
        let drains = Arc::new(Drains::default());
        let stream = store.open_stream("session", "owner").await.unwrap();
        let key = StreamKey {
            session: "session".into(),
            stream,
        };
        let (sender, events) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let handler = StreamBody::new(
            tokio_stream_of(events)
                .map(|data| Ok::<_, std::convert::Infallible>(Frame::data(data))),
        );
        let (guard, drain) = start_drain(
            store.clone(),
            drains.clone(),
            key.clone(),
            handler,
            1 << 20,
            Duration::from_secs(60),
            1_000,
        );
        let mut first = reader_body(
            store.clone(),
            key.clone(),
            0,
            options(),
            Some(guard),
            Some(drain),
        );
        // Nothing sent yet: the body waits, and a keep-alive of
        // `Duration::MAX` ("never") is a deadline that does not come, not a
        // panic.
        let waited = tokio::time::timeout(Duration::from_millis(50), first.frame()).await;
        assert!(waited.is_err(), "nothing to send yet");
        sender.send(Bytes::from_static(b"data: one\n\n")).unwrap();
        let chunk = first.frame().await.unwrap().unwrap().into_data().unwrap();
        let text = std::str::from_utf8(&chunk).unwrap();
        assert!(
            text.starts_with("id: ") && text.contains("data: one"),
            "the first client got the first event: {text:?}"
        );
        // From here on nothing polls `first`.
        let resumed_guard = drains.attach(&key);
        let mut resumed = reader_body(
            store.clone(),
            key.clone(),
            1,
            options(),
            resumed_guard,
            None,
        );
        sender.send(Bytes::from_static(b"data: two\n\n")).unwrap();
        let chunk = tokio::time::timeout(Duration::from_secs(5), resumed.frame())
            .await
            .expect("the resume waited for the stalled first client's body")
            .unwrap()
            .unwrap()
            .into_data()
            .unwrap();
        assert!(
            std::str::from_utf8(&chunk).unwrap().contains("data: two"),
            "{chunk:?}"
        );
        drop(first);
    }

    /// An unbounded receiver as a stream of its items.
    fn tokio_stream_of(
        mut receiver: tokio::sync::mpsc::UnboundedReceiver<Bytes>,
    ) -> impl futures_util::Stream<Item = Bytes> {
        futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
    }
}
