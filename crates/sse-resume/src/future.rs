use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body::Body;
use mcp_guard_core::sse::is_event_stream;
use mcp_guard_core::{BoxError, GuardBody, GuardFuture, Verdict};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::body::ResumeBody;
use crate::service::Resumable;
use crate::store::EventStore;

/// A store call that ends in the client's answer: opening a stream for the
/// handler's events, or a resume's read. Boxed, as the store's futures are
/// `impl Future`s that no field can name; one per new stream or resume,
/// beside the drain and the store I/O it starts anyway.
pub(crate) type StoreFuture<B> = Pin<Box<dyn Future<Output = Response<ResumeBody<B>>> + Send>>;

/// The purge a session's `DELETE` waits for before it reaches the handler:
/// the kit future's asynchronous check (boxed for the same reason).
pub(crate) type PurgeCheck<B> = Pin<Box<dyn Future<Output = Verdict<B>> + Send>>;

pin_project! {
    /// Response future of [`SseResume`](crate::SseResume): the guard kit's
    /// [`GuardFuture`] (the handler's answer, after a `DELETE`'s purge), then
    /// what the layer does with an event stream; or a resume read from the
    /// store. Nothing is boxed unless the store is called.
    pub struct ResponseFuture<S, ReqB, ResB, St>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        kind: Kind<GuardFuture<S, ReqB, PurgeCheck<ReqB>>, ResB, St>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<G, ResB, St> {
        // The handler's answer, then `then` with it.
        Handler { #[pin] future: G, then: Then<St> },
        // The store makes the answer.
        Store { future: StoreFuture<ResB> },
    }
}

/// What becomes of the handler's answer.
pub(crate) enum Then<St> {
    /// Handed on as it is.
    Pass,
    /// An event stream gets keep-alive comments (the stateless era).
    KeepAlive(Duration),
    /// An event stream is stored and read back (a legacy-era session).
    Resume(Resumable<St>),
}

impl<S, ReqB, ResB, St> ResponseFuture<S, ReqB, ResB, St>
where
    S: Service<Request<ReqB>>,
{
    /// The handler's answer to a request already handed to it, then `then`.
    pub(crate) fn handler(future: S::Future, then: Then<St>) -> Self {
        Self::guarded(GuardFuture::pass(future), then)
    }

    /// `purge`, then the handler's answer.
    pub(crate) fn after_purge(purge: PurgeCheck<ReqB>, inner: S) -> Self {
        Self::guarded(GuardFuture::check(purge, inner), Then::Pass)
    }

    /// The store makes the answer; the handler is not called.
    pub(crate) fn store(future: StoreFuture<ResB>) -> Self {
        ResponseFuture {
            kind: Kind::Store { future },
        }
    }

    fn guarded(future: GuardFuture<S, ReqB, PurgeCheck<ReqB>>, then: Then<St>) -> Self {
        ResponseFuture {
            kind: Kind::Handler { future, then },
        }
    }
}

impl<S, ReqB, ResB, St> fmt::Debug for ResponseFuture<S, ReqB, ResB, St>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, ReqB, ResB, St> Future for ResponseFuture<S, ReqB, ResB, St>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
    St: EventStore,
{
    type Output = Result<Response<ResumeBody<ResB>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut kind = self.project().kind;
        loop {
            let response = match kind.as_mut().project() {
                KindProj::Handler { future, then } => {
                    let response = ready!(future.poll(cx))?;
                    let then = std::mem::replace(then, Then::Pass);
                    if !is_event_stream(&response) {
                        return Poll::Ready(Ok(response.map(ResumeBody::guard)));
                    }
                    match then {
                        Then::Pass => response.map(ResumeBody::guard),
                        Then::KeepAlive(interval) => with_keep_alive(response, interval),
                        Then::Resume(resumable) => {
                            let future = Box::pin(resumable.store_stream(response));
                            kind.set(Kind::Store { future });
                            continue;
                        }
                    }
                }
                KindProj::Store { future } => ready!(future.as_mut().poll(cx)),
            };
            return Poll::Ready(Ok(response));
        }
    }
}

/// A stateless-era event stream: keep-alive comments while the handler is
/// silent, and no buffering by proxies.
fn with_keep_alive<B>(
    response: Response<GuardBody<B>>,
    interval: Duration,
) -> Response<ResumeBody<B>> {
    let mut response = response.map(|body| ResumeBody::keep_alive(body, interval));
    // Proxies must not buffer a stream the client is waiting on.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
