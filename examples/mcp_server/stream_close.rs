//! Lets a tool end its caller's SSE connection mid-call, the way SEP-1699
//! ("polling") allows a server to: the connection closes, the stream does
//! not. `test_reconnection` uses it.
//!
//! rmcp 3.11 can close a request's SSE stream only from its own session
//! manager in legacy session mode (`LocalSessionHandle::close_sse_stream`),
//! which this example keeps off, and it gives a handler no handle for it. So
//! this layer sits outside the guards: it puts a [`CloseConnection`] in each
//! request's extensions (rmcp hands them to tools with the request's
//! `http::request::Parts`), and when a tool asks, it ends the response body
//! at the next event boundary. Inside, mcp-guard's sse-resume layer sees a
//! client that went away: it keeps draining the handler's stream into its
//! event store, and a `GET` with `Last-Event-ID` replays the rest.
//!
//! A close is honoured only after an event with an id has reached the client
//! (the 2025-11-25 priming event), so the client always has something to
//! resume from; otherwise the request simply completes on the open stream.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

/// A request's handle on its own response connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct CloseConnection(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    requested: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl CloseConnection {
    /// Asks for the client's connection to end after the current event.
    pub(crate) fn close(&self) {
        self.0.requested.store(true, Ordering::Release);
        let waker = self.0.waker.lock().map(|mut slot| slot.take());
        if let Ok(Some(waker)) = waker {
            waker.wake();
        }
    }

    fn register(&self, waker: &Waker) {
        if let Ok(mut slot) = self.0.waker.lock() {
            match slot.as_ref() {
                Some(current) if current.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
    }

    fn requested(&self) -> bool {
        self.0.requested.load(Ordering::Acquire)
    }
}

/// Adds [`CloseConnection`] to every request (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CloseOnRequestLayer;

impl<S> tower::Layer<S> for CloseOnRequestLayer {
    type Service = CloseOnRequest<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CloseOnRequest { inner }
    }
}

/// The service of [`CloseOnRequestLayer`].
#[derive(Debug, Clone)]
pub(crate) struct CloseOnRequest<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> tower::Service<Request<Body>> for CloseOnRequest<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let handle = CloseConnection::default();
        request.extensions_mut().insert(handle.clone());
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let is_sse = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("text/event-stream"));
            Ok(if is_sse {
                response.map(|body| Body::new(ClosableBody::new(body, handle)))
            } else {
                response
            })
        })
    }
}

pin_project! {
    /// An SSE body that ends early, at an event boundary, once asked to.
    struct ClosableBody {
        #[pin]
        inner: Body,
        handle: CloseConnection,
        at_boundary: bool,
        sent_event_id: bool,
        ended: bool,
    }
}

impl ClosableBody {
    fn new(inner: Body, handle: CloseConnection) -> Self {
        ClosableBody {
            inner,
            handle,
            at_boundary: true,
            sent_event_id: false,
            ended: false,
        }
    }
}

impl http_body::Body for ClosableBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        if *this.at_boundary && *this.sent_event_id {
            // Register before looking, so a close in between still wakes us.
            this.handle.register(cx.waker());
            if this.handle.requested() {
                *this.ended = true;
                return Poll::Ready(None);
            }
        }
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        if let Some(data) = frame
            .as_ref()
            .and_then(|frame| frame.as_ref().ok())
            .and_then(Frame::data_ref)
            .filter(|data| !data.is_empty())
        {
            *this.sent_event_id |= carries_event_id(data);
            *this.at_boundary = ends_event(data);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Whether an SSE chunk has an `id:` field line.
fn carries_event_id(data: &[u8]) -> bool {
    data.starts_with(b"id:")
        || data
            .windows(4)
            .any(|window| matches!(window, [b'\n' | b'\r', b'i', b'd', b':']))
}

/// Whether an SSE chunk ends with a blank line (an event's end).
fn ends_event(data: &[u8]) -> bool {
    data.ends_with(b"\n\n") || data.ends_with(b"\r\r") || data.ends_with(b"\r\n\r\n")
}
