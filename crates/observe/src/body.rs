//! [`ObserveBody`]: the response body, counted and scanned as it passes.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::exchange::Exchange;

pin_project! {
    /// The response body of [`Observe`](crate::Observe): the handler's bytes,
    /// passed on unchanged and undelayed, counted and (bounded) scanned for
    /// the JSON-RPC answer. The request's events go out when it ends, or when
    /// it is dropped before its end (the client went away: `aborted`).
    pub struct ObserveBody<B> {
        #[pin]
        inner: B,
        exchange: Option<Box<Exchange>>,
    }

    impl<B> PinnedDrop for ObserveBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(exchange) = this.exchange.take() {
                exchange.finish(false);
            }
        }
    }
}

impl<B: Body> ObserveBody<B> {
    pub(crate) fn new(inner: B, exchange: Box<Exchange>) -> Self {
        // A body already at its end (an empty `202`) may be dropped unpolled:
        // that is its end, not an abort.
        let exchange = if inner.is_end_stream() {
            exchange.finish(true);
            None
        } else {
            Some(exchange)
        };
        ObserveBody { inner, exchange }
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for ObserveBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserveBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B> Body for ObserveBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(data), Some(exchange)) = (frame.data_ref(), this.exchange.as_mut()) {
                    exchange.response_bytes += data.len() as u64;
                    if let Some(scanner) = exchange.scanner.as_mut() {
                        scanner.feed(data);
                    }
                }
                if this.inner.is_end_stream()
                    && let Some(exchange) = this.exchange.take()
                {
                    exchange.finish(true);
                }
            }
            // A failed body did not reach its end.
            Some(Err(_)) => {
                if let Some(exchange) = this.exchange.take() {
                    exchange.finish(false);
                }
            }
            None => {
                if let Some(exchange) = this.exchange.take() {
                    exchange.finish(true);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
