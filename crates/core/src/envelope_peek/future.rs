use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::Method;
use http_body::Body;
use pin_project_lite::pin_project;

use crate::{BoxError, GuardBody, PeekFuture, Verdict, guard};

pin_project! {
    /// The check of [`EnvelopePeek`](super::EnvelopePeek): the bounded body
    /// read ([`PeekFuture`]), its refusal named
    /// [`guard::ENVELOPE_PEEK`](crate::guard::ENVELOPE_PEEK) and logged.
    /// Nameable, so the peek's response future is not boxed.
    #[derive(Debug)]
    pub struct EnvelopeCheck<B> {
        #[pin]
        read: PeekFuture<B>,
    }
}

impl<B> EnvelopeCheck<B> {
    pub(super) fn new(read: PeekFuture<B>) -> Self {
        EnvelopeCheck { read }
    }
}

impl<B> Future for EnvelopeCheck<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Verdict<GuardBody<B>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(match ready!(self.project().read.poll(cx)) {
            Ok(request) => Verdict::Pass(request),
            Err(error) => Verdict::refuse(error.rejected_by(guard::ENVELOPE_PEEK), &Method::POST),
        })
    }
}
