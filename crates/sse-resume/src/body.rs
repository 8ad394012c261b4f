use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use mcp_guard_core::{BoxError, GuardBody};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

/// A keep-alive comment line: ignored by every SSE client, it keeps proxies
/// from closing an idle connection.
pub(crate) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

pin_project! {
    /// The response body of [`SseResume`](crate::SseResume): the handler's own
    /// body (not an event stream, or no session to scope one to) or a
    /// rejection, both as the guards' [`GuardBody`]; a resumable stream read
    /// back from the event store; or a stateless-era stream with keep-alives.
    pub struct ResumeBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Guard { #[pin] body: GuardBody<B> },
        FromStore { body: UnsyncBoxBody<Bytes, BoxError> },
        // The timer and its times in one box: every response through the
        // layer carries this body type, copied at each layer on the way out.
        KeepAlive { #[pin] body: GuardBody<B>, timer: Pin<Box<KeepAliveTimer>> },
    }
}

pin_project! {
    /// An event stream's keep-alive timer.
    #[project = KeepAliveTimerProj]
    struct KeepAliveTimer {
        #[pin]
        sleep: Sleep,
        interval: Duration,
        // When the last frame or keep-alive went out. The timer is re-armed
        // from it only when it fires, not on every frame (each re-arm can
        // make the runtime wake its timer driver).
        last: Instant,
    }
}

impl<B> std::fmt::Debug for ResumeBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumeBody").finish_non_exhaustive()
    }
}

impl<B> ResumeBody<B> {
    /// The handler's body, passed through untouched (what a
    /// [disabled](crate::SseResumeLayer::disabled) layer answers with).
    pub fn passthrough(body: B) -> Self {
        Self::guard(GuardBody::new(body))
    }

    /// The handler's body as the kit future hands it on, or a rejection.
    pub(crate) fn guard(body: GuardBody<B>) -> Self {
        ResumeBody {
            kind: Kind::Guard { body },
        }
    }

    pub(crate) fn from_store(body: UnsyncBoxBody<Bytes, BoxError>) -> Self {
        ResumeBody {
            kind: Kind::FromStore { body },
        }
    }

    pub(crate) fn keep_alive(body: GuardBody<B>, interval: Duration) -> Self {
        ResumeBody {
            kind: Kind::KeepAlive {
                body,
                timer: Box::pin(KeepAliveTimer {
                    sleep: tokio::time::sleep(interval),
                    interval,
                    last: Instant::now(),
                }),
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
            KindProj::Guard { body } => body.poll_frame(cx).map_err(Into::into),
            KindProj::FromStore { body } => Pin::new(body).poll_frame(cx),
            KindProj::KeepAlive { body, timer } => match body.poll_frame(cx) {
                Poll::Ready(frame) => {
                    *timer.as_mut().project().last = Instant::now();
                    Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
                }
                Poll::Pending => loop {
                    let KeepAliveTimerProj {
                        mut sleep,
                        interval,
                        last,
                    } = timer.as_mut().project();
                    std::task::ready!(sleep.as_mut().poll(cx));
                    let due = *last + *interval;
                    let now = Instant::now();
                    if now >= due {
                        *last = now;
                        sleep.as_mut().reset(now + *interval);
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(KEEP_ALIVE)))));
                    }
                    // A frame went out since it was armed: silent for less
                    // than the interval yet.
                    sleep.as_mut().reset(due);
                },
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Guard { body } | Kind::KeepAlive { body, .. } => body.is_end_stream(),
            Kind::FromStore { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Guard { body } => body.size_hint(),
            Kind::FromStore { .. } | Kind::KeepAlive { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;
    use mcp_guard_test_support::memory::assert_wraps_in_words;

    use super::*;

    /// Every response through the layer carries this body, moved at each
    /// layer on its way out: the keep-alive timer and its times are boxed
    /// together, so the body is the handler's and a pointer.
    #[test]
    fn the_body_is_the_handlers_and_a_pointer() {
        assert_wraps_in_words::<ResumeBody<Full<Bytes>>, GuardBody<Full<Bytes>>>(2);
    }
}
