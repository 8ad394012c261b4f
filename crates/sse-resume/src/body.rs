use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use http_body_util::combinators::UnsyncBoxBody;
use mcp_guard_core::BoxError;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

/// A keep-alive comment line: ignored by every SSE client, it keeps proxies
/// from closing an idle connection.
pub(crate) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

pin_project! {
    /// The response body of [`SseResume`](crate::SseResume): the handler's own
    /// body (not an event stream, or no session to scope one to), a resumable
    /// stream read back from the event store, a stateless-era stream with
    /// keep-alives, or a rejection.
    pub struct ResumeBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Handler { #[pin] body: B },
        FromStore { body: UnsyncBoxBody<Bytes, BoxError> },
        KeepAlive { #[pin] body: B, sleep: Pin<Box<Sleep>>, interval: Duration },
        Full { body: Full<Bytes> },
    }
}

impl<B> std::fmt::Debug for ResumeBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumeBody").finish_non_exhaustive()
    }
}

impl<B> ResumeBody<B> {
    /// The handler's body, passed through untouched. For stacks that keep one
    /// type whether or not the resume layer is on.
    pub fn passthrough(body: B) -> Self {
        Self::handler(body)
    }

    pub(crate) fn handler(body: B) -> Self {
        ResumeBody {
            kind: Kind::Handler { body },
        }
    }

    pub(crate) fn from_store(body: UnsyncBoxBody<Bytes, BoxError>) -> Self {
        ResumeBody {
            kind: Kind::FromStore { body },
        }
    }

    pub(crate) fn keep_alive(body: B, interval: Duration) -> Self {
        ResumeBody {
            kind: Kind::KeepAlive {
                body,
                sleep: Box::pin(tokio::time::sleep(interval)),
                interval,
            },
        }
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        ResumeBody {
            kind: Kind::Full {
                body: Full::new(bytes),
            },
        }
    }
}

impl<B> Body for ResumeBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            KindProj::Handler { body } => body.poll_frame(cx).map_err(Into::into),
            KindProj::FromStore { body } => Pin::new(body).poll_frame(cx),
            KindProj::KeepAlive {
                body,
                sleep,
                interval,
            } => match body.poll_frame(cx) {
                Poll::Ready(frame) => {
                    sleep
                        .as_mut()
                        .reset(tokio::time::Instant::now() + *interval);
                    Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
                }
                Poll::Pending => {
                    std::task::ready!(sleep.as_mut().poll(cx));
                    sleep
                        .as_mut()
                        .reset(tokio::time::Instant::now() + *interval);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(KEEP_ALIVE)))))
                }
            },
            KindProj::Full { body } => Pin::new(body)
                .poll_frame(cx)
                .map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Handler { body } | Kind::KeepAlive { body, .. } => body.is_end_stream(),
            Kind::FromStore { body } => body.is_end_stream(),
            Kind::Full { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Handler { body } => body.size_hint(),
            Kind::FromStore { .. } | Kind::KeepAlive { .. } => SizeHint::default(),
            Kind::Full { body } => body.size_hint(),
        }
    }
}
