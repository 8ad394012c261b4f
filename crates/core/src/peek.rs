use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http::{Method, Request, StatusCode};
use http_body::Body;
use http_body_util::{LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::{BoxError, GuardBody, McpError, RpcEnvelope, error_code};

/// Reads the JSON-RPC envelope of a POST body once, with a size limit and a read
/// timeout, and caches it in the request's extensions.
///
/// The first layer that needs the envelope calls [`EnvelopeLimits::peek`]: the body
/// is buffered (up to [`max_body_bytes`](EnvelopeLimits::max_body_bytes), else
/// `413`), parsed into an [`RpcEnvelope`] that goes into the request's
/// extensions, and handed on byte for byte in a [`GuardBody`]. A later layer that
/// calls `peek` again finds the cached envelope and reads nothing. Requests other
/// than POST pass through unread.
///
/// Malformed JSON is not rejected here (the envelope is
/// [`RpcEnvelope::Unparsable`]); a body larger than the limit is (`413`), as is
/// one that does not arrive within [`read_timeout`](EnvelopeLimits::read_timeout)
/// (`408`) or whose transfer fails (`400`). Their [`Rejection`](crate::Rejection)
/// reasons are `body_too_large`, `body_read_timeout` and `body_unreadable`; the
/// guard that called `peek` names itself.
///
/// ```
/// use bytes::Bytes;
/// use http::Request;
/// use http_body_util::{BodyExt, Full};
/// use mcp_guard_core::{EnvelopeLimits, RpcEnvelope};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
/// let request = Request::post("/mcp").body(Full::new(Bytes::from(body))).unwrap();
///
/// let peek = EnvelopeLimits::new().max_body_bytes(64 * 1024);
/// let request = peek.peek(request).await.unwrap();
/// let envelope = request.extensions().get::<RpcEnvelope>().unwrap();
/// assert_eq!(envelope.single().unwrap().method(), Some("tools/list"));
///
/// // The handler still gets the original bytes.
/// let bytes = request.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(bytes, body);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct EnvelopeLimits {
    max_body_bytes: usize,
    read_timeout: Duration,
}

impl Default for EnvelopeLimits {
    fn default() -> Self {
        EnvelopeLimits::new()
    }
}

impl EnvelopeLimits {
    /// The default body size limit: 4 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

    /// The default time the whole body has to arrive in: 30 seconds.
    pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

    /// A peek with the default limits.
    pub fn new() -> Self {
        EnvelopeLimits {
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            read_timeout: Self::DEFAULT_READ_TIMEOUT,
        }
    }

    /// Sets the largest body, in bytes, that is read; larger bodies get `413`.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Sets how long the whole body may take to arrive; slower bodies get `408`,
    /// so a client trickling bytes cannot hold the read open.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Reads the envelope of a POST body into the request's extensions, unless an
    /// earlier layer already did. See the type's documentation.
    pub async fn peek<B>(&self, request: Request<B>) -> Result<Request<GuardBody<B>>, McpError>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        match self.start_peek(request) {
            PeekStart::Ready(result) => result,
            PeekStart::Reading(read) => read.await,
        }
    }

    /// [`peek`](EnvelopeLimits::peek) as a nameable future, for a layer
    /// whose response future must not box: what can be decided without
    /// reading is decided now ([`PeekStart::Ready`]: a request that is not a
    /// POST or was read already passes unread, a declared `Content-Length`
    /// over the limit is refused); otherwise the body read is a
    /// [`PeekFuture`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::Request;
    /// use http_body_util::Full;
    /// use mcp_guard_core::{EnvelopeLimits, PeekStart, RpcEnvelope};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let limits = EnvelopeLimits::new();
    /// let get = Request::get("/mcp").body(Full::new(Bytes::new())).unwrap();
    /// assert!(matches!(limits.start_peek(get), PeekStart::Ready(Ok(_))));
    ///
    /// let post = Request::post("/mcp").body(Full::new(Bytes::from_static(b"{\"id\":1,\"method\":\"ping\"}"))).unwrap();
    /// let PeekStart::Reading(read) = limits.start_peek(post) else { unreachable!() };
    /// let request = read.await.unwrap();
    /// assert!(request.extensions().get::<RpcEnvelope>().is_some());
    /// # });
    /// ```
    pub fn start_peek<B>(&self, request: Request<B>) -> PeekStart<B>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        if request.method() != Method::POST || request.extensions().get::<RpcEnvelope>().is_some() {
            return PeekStart::Ready(Ok(request.map(GuardBody::new)));
        }
        if let Some(declared) = declared_length(&request)
            && declared > self.max_body_bytes as u64
        {
            return PeekStart::Ready(Err(self.too_large()));
        }
        let (parts, body) = request.into_parts();
        PeekFuture {
            state: ReadState::Waiting { body: Some(body) },
            parts: Some(parts),
            limits: self.clone(),
        }
        .into()
    }

    /// The refusal of a body whose read failed.
    fn read_failed(&self, error: Option<BoxError>) -> McpError {
        // `Limited` reports the size limit as a `LengthLimitError`.
        match error {
            Some(error) if error.is::<LengthLimitError>() => self.too_large(),
            Some(_) => McpError::new(
                StatusCode::BAD_REQUEST,
                error_code::INVALID_REQUEST,
                "the request body could not be read to its end; send it again",
            )
            .with_reason("body_unreadable"),
            None => McpError::new(
                StatusCode::REQUEST_TIMEOUT,
                error_code::INVALID_REQUEST,
                format!(
                    "the request body did not arrive within {} ms; send the whole body promptly",
                    self.read_timeout.as_millis()
                ),
            )
            .with_reason("body_read_timeout"),
        }
    }

    fn too_large(&self) -> McpError {
        McpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            error_code::INVALID_REQUEST,
            format!(
                "the request body is larger than this server's limit of {} bytes; send a smaller request",
                self.max_body_bytes
            ),
        )
        .with_reason("body_too_large")
    }
}

/// How [`EnvelopeLimits::start_peek`] begins: decided without reading, or
/// reading the body.
#[derive(Debug)]
pub enum PeekStart<B> {
    /// Decided without reading: the request (passed on unread, body wrapped
    /// in [`GuardBody::new`]), or the refusal of a declared length over the
    /// limit.
    Ready(Result<Request<GuardBody<B>>, McpError>),
    /// The body is to be read: await this.
    Reading(PeekFuture<B>),
}

impl<B> From<PeekFuture<B>> for PeekStart<B> {
    fn from(read: PeekFuture<B>) -> Self {
        PeekStart::Reading(read)
    }
}

pin_project! {
    /// The bounded read of a POST body (see [`EnvelopeLimits::start_peek`]):
    /// resolves to the request with its [`RpcEnvelope`] in the extensions and
    /// its bytes in a [`GuardBody::full`], or to the refusal (`413`, `408`,
    /// `400`; the reasons of [`EnvelopeLimits`]). Nothing is boxed. The read
    /// timeout starts when the body first makes it wait: a body that is
    /// already complete (the usual small POST) never arms a timer.
    pub struct PeekFuture<B> {
        #[pin]
        state: ReadState<B>,
        parts: Option<Parts>,
        limits: EnvelopeLimits,
    }
}

pin_project! {
    #[project = ReadStateProj]
    enum ReadState<B> {
        // Not polled yet.
        Waiting { body: Option<B> },
        // The body, cut off past the size limit, against the deadline (set
        // when the body first returns `Pending`).
        Reading {
            #[pin] body: Limited<B>,
            #[pin] deadline: Option<Sleep>,
            chunks: BodyChunks,
        },
    }
}

impl<B> std::fmt::Debug for PeekFuture<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeekFuture")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<B> Future for PeekFuture<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Request<GuardBody<B>>, McpError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                ReadStateProj::Waiting { body } => {
                    let Some(body) = body.take() else {
                        return Poll::Ready(Err(polled_after_completion()));
                    };
                    this.state.set(ReadState::Reading {
                        body: Limited::new(body, this.limits.max_body_bytes),
                        deadline: None,
                        chunks: BodyChunks::default(),
                    });
                }
                ReadStateProj::Reading {
                    body,
                    mut deadline,
                    chunks,
                } => {
                    // The body first, as `tokio::time::timeout` does: a body
                    // complete by the deadline is accepted.
                    let read = match chunks.poll_read_to_end(body, cx) {
                        Poll::Ready(read) => read,
                        Poll::Pending => {
                            if deadline.is_none() {
                                deadline.set(Some(tokio::time::sleep(this.limits.read_timeout)));
                            }
                            if let Some(deadline) = deadline.as_pin_mut() {
                                ready!(deadline.poll(cx));
                            }
                            return Poll::Ready(Err(this.limits.read_failed(None)));
                        }
                    };
                    if let Err(error) = read {
                        return Poll::Ready(Err(this.limits.read_failed(Some(error))));
                    }
                    let Some(mut parts) = this.parts.take() else {
                        return Poll::Ready(Err(polled_after_completion()));
                    };
                    let bytes = std::mem::take(chunks).into_bytes();
                    // A small body's strings are slices of it (no copies);
                    // a large one's are copied, so that a few strings kept
                    // for the request's life do not keep megabytes alive.
                    let envelope = if bytes.len() <= SHARED_BODY_BYTES {
                        RpcEnvelope::parse_shared(&bytes)
                    } else {
                        RpcEnvelope::parse(&bytes)
                    };
                    // For an observer outside the stack (one lookup when none).
                    crate::Trail::record_envelope_in(
                        &parts.extensions,
                        &envelope,
                        bytes.len() as u64,
                    );
                    parts.extensions.insert(envelope);
                    return Poll::Ready(Ok(Request::from_parts(parts, GuardBody::full(bytes))));
                }
            }
        }
    }
}

/// The largest body whose envelope keeps slices of it rather than copies:
/// MCP requests are a few hundred bytes; above this, keeping the body alive
/// for the request's life (and a connection's read buffer with it) would
/// cost more than copying the few strings the guards read.
const SHARED_BODY_BYTES: usize = 16 * 1024;

/// The data frames of a body read so far, for a layer that reads a body to
/// its end itself (the envelope read here, the session layer's read of an
/// `initialize` answer). Most bodies arrive in one frame: it is kept as is
/// (no copy, no allocation); a second frame starts one buffer.
///
/// ```
/// use std::pin::pin;
///
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use mcp_guard_core::BodyChunks;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut body = pin!(Full::new(Bytes::from_static(b"{}")));
/// let mut chunks = BodyChunks::default();
/// std::future::poll_fn(|cx| chunks.poll_read_to_end(body.as_mut(), cx))
///     .await
///     .unwrap();
/// assert_eq!(chunks.into_bytes(), "{}");
/// # }
/// ```
#[derive(Debug, Default)]
pub struct BodyChunks(Chunks);

impl BodyChunks {
    /// Reads `body`'s data frames until its end (trailers are dropped: the
    /// bytes are what the readers keep).
    pub fn poll_read_to_end<B>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), B::Error>>
    where
        B: Body<Data = Bytes>,
    {
        loop {
            match ready!(body.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Err(error)) => return Poll::Ready(Err(error)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        self.0.push(data);
                    }
                }
            }
        }
    }

    /// What was read, as one `Bytes`.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

#[derive(Debug, Default)]
enum Chunks {
    #[default]
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl Chunks {
    fn push(&mut self, data: Bytes) {
        *self = match std::mem::take(self) {
            Chunks::Empty => Chunks::One(data),
            Chunks::One(first) => {
                let mut whole = BytesMut::with_capacity(first.len() + data.len());
                whole.extend_from_slice(&first);
                whole.extend_from_slice(&data);
                Chunks::Many(whole)
            }
            Chunks::Many(mut whole) => {
                whole.extend_from_slice(&data);
                Chunks::Many(whole)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Chunks::Empty => Bytes::new(),
            Chunks::One(bytes) => bytes,
            Chunks::Many(whole) => whole.freeze(),
        }
    }
}

/// Polled again after it resolved: a caller's bug, answered as a server
/// error rather than a panic.
fn polled_after_completion() -> McpError {
    McpError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        error_code::INTERNAL_ERROR,
        "the request body was already read",
    )
    .with_reason("body_already_read")
}

/// The `Content-Length` the client declared, when it is a plain number.
fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::Frame;
    use http_body_util::{BodyExt, Full};
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::StreamBody;
    use tokio::sync::mpsc;

    /// A body fed chunk by chunk from a channel, like a client sending slowly.
    fn channel_body() -> (
        mpsc::Sender<Result<Frame<Bytes>, Infallible>>,
        impl Body<Data = Bytes, Error = Infallible>,
    ) {
        let (sender, mut receiver) = mpsc::channel(16);
        let stream = futures_lite_stream(move |cx| receiver.poll_recv(cx));
        (sender, StreamBody::new(stream))
    }

    /// A `Stream` over a poll function.
    fn futures_lite_stream<T, F>(poll: F) -> PollStream<F>
    where
        F: FnMut(&mut Context<'_>) -> Poll<Option<T>>,
    {
        PollStream(poll)
    }

    struct PollStream<F>(F);

    impl<T, F> futures_core::Stream for PollStream<F>
    where
        F: FnMut(&mut Context<'_>) -> Poll<Option<T>> + Unpin,
    {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            (self.0)(cx)
        }
    }

    async fn body_of<B: Body<Data = Bytes>>(body: B) -> Bytes
    where
        B::Error: std::fmt::Debug,
    {
        body.collect().await.unwrap().to_bytes()
    }

    fn rejection<T>(result: Result<T, McpError>) -> McpError {
        match result {
            Ok(_) => panic!("expected the peek to reject the request"),
            Err(error) => error,
        }
    }

    fn post(body: &'static str) -> Request<Full<Bytes>> {
        Request::post("/mcp")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    }

    #[tokio::test]
    async fn hands_the_exact_bytes_on() {
        let raw = "  {\"id\":1,\"method\":\"ping\" , \"x\":\"\\u00e9\"}\n";
        let request = EnvelopeLimits::new().peek(post(raw)).await.unwrap();
        assert!(request.extensions().get::<RpcEnvelope>().is_some());
        assert_eq!(body_of(request.into_body()).await, raw);
    }

    #[tokio::test]
    async fn malformed_json_passes_with_an_unparsable_envelope() {
        let request = EnvelopeLimits::new().peek(post("{oops")).await.unwrap();
        assert_eq!(
            request.extensions().get::<RpcEnvelope>(),
            Some(&RpcEnvelope::Unparsable)
        );
        assert_eq!(body_of(request.into_body()).await, "{oops");
    }

    #[tokio::test]
    async fn second_peek_reuses_the_cached_envelope_without_reading() {
        let peek = EnvelopeLimits::new();
        let once = peek
            .peek(post(r#"{"id":1,"method":"tools/list"}"#))
            .await
            .unwrap();
        let cached = once.extensions().get::<RpcEnvelope>().cloned();
        let twice = peek.peek(once).await.unwrap();
        assert_eq!(twice.extensions().get::<RpcEnvelope>().cloned(), cached);
        assert!(!twice.body().is_full());
        assert_eq!(
            body_of(twice.into_body()).await,
            r#"{"id":1,"method":"tools/list"}"#
        );
    }

    #[tokio::test]
    async fn requests_other_than_post_are_not_read() {
        let request = Request::get("/mcp")
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap();
        let request = EnvelopeLimits::new().peek(request).await.unwrap();
        assert!(request.extensions().get::<RpcEnvelope>().is_none());
        assert!(!request.body().is_full());
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let polled = Arc::new(AtomicUsize::new(0));
        let counter = polled.clone();
        let body = StreamBody::new(PollStream(move |_cx: &mut Context<'_>| {
            counter.fetch_add(1, Ordering::SeqCst);
            Poll::Ready(None::<Result<Frame<Bytes>, Infallible>>)
        }));
        let request = Request::post("/mcp")
            .header(CONTENT_LENGTH, "1000")
            .body(body)
            .unwrap();
        let error = rejection(
            EnvelopeLimits::new()
                .max_body_bytes(999)
                .peek(request)
                .await,
        );
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error.message().contains("999 bytes"), "{}", error.message());
        assert_eq!(polled.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_undeclared_body_over_the_limit_is_refused_while_reading() {
        let (sender, body) = channel_body();
        let feeder = tokio::spawn(async move {
            // Far more than the limit; the peek must stop reading early.
            for _ in 0..1000 {
                if sender
                    .send(Ok(Frame::data(Bytes::from(vec![b' '; 1024]))))
                    .await
                    .is_err()
                {
                    return true;
                }
            }
            false
        });
        let request = Request::post("/mcp").body(body).unwrap();
        let error = rejection(
            EnvelopeLimits::new()
                .max_body_bytes(10 * 1024)
                .peek(request)
                .await,
        );
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            feeder.await.unwrap(),
            "the peek kept reading past the limit"
        );
    }

    #[tokio::test]
    async fn exactly_the_limit_is_accepted() {
        let request = post("[1,2,3]");
        let request = EnvelopeLimits::new()
            .max_body_bytes(7)
            .peek(request)
            .await
            .unwrap();
        assert_eq!(body_of(request.into_body()).await, "[1,2,3]");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_body_is_cut_off_by_the_read_timeout() {
        let (sender, body) = channel_body();
        sender
            .send(Ok(Frame::data(Bytes::from_static(b"{\"id\":"))))
            .await
            .unwrap();
        let request = Request::post("/mcp").body(body).unwrap();
        let peek = EnvelopeLimits::new().read_timeout(Duration::from_secs(5));
        let error = rejection(peek.peek(request).await);
        assert_eq!(error.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(error.message().contains("5000 ms"), "{}", error.message());
        drop(sender);
    }

    #[tokio::test]
    async fn a_failing_body_is_a_bad_request() {
        let body = StreamBody::new(PollStream(|_cx: &mut Context<'_>| {
            Poll::Ready(Some(Err::<Frame<Bytes>, _>(std::io::Error::other(
                "connection reset",
            ))))
        }));
        let request = Request::post("/mcp").body(body).unwrap();
        let error = rejection(EnvelopeLimits::new().peek(request).await);
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert!(!error.message().contains("connection reset"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_read_timeout_starts_when_the_read_does() {
        let (sender, body) = channel_body();
        let limits = EnvelopeLimits::new().read_timeout(Duration::from_secs(5));
        let PeekStart::Reading(read) = limits.start_peek(Request::post("/mcp").body(body).unwrap())
        else {
            panic!("a POST without a declared length is read");
        };
        // Time passes between the service's `call` and the first poll.
        tokio::time::advance(Duration::from_secs(60)).await;
        sender
            .send(Ok(Frame::data(Bytes::from_static(b"{\"id\":1}"))))
            .await
            .unwrap();
        drop(sender);
        let request = read.await.unwrap();
        assert_eq!(body_of(request.into_body()).await, "{\"id\":1}");
    }

    #[tokio::test]
    async fn many_chunks_are_joined_in_order() {
        let (sender, body) = channel_body();
        for chunk in ["{\"id\":", "", "2,\"method\"", ":\"ping\"}"] {
            sender
                .send(Ok(Frame::data(Bytes::from_static(chunk.as_bytes()))))
                .await
                .unwrap();
        }
        drop(sender);
        let request = EnvelopeLimits::new()
            .peek(Request::post("/mcp").body(body).unwrap())
            .await
            .unwrap();
        let envelope = request.extensions().get::<RpcEnvelope>().unwrap();
        assert_eq!(envelope.single().unwrap().method(), Some("ping"));
        assert_eq!(
            body_of(request.into_body()).await,
            "{\"id\":2,\"method\":\"ping\"}"
        );
    }
}
