//! [`ResponseFuture`]: the response future of [`Observe`](crate::Observe).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::Response;
use http_body::Body;
use pin_project_lite::pin_project;

use crate::ObserveBody;
use crate::exchange::Exchange;

pin_project! {
    /// The response future of [`Observe`](crate::Observe): polls the stack
    /// inside the request's span and wraps the response body in an
    /// [`ObserveBody`], which emits the events when it ends.
    ///
    /// Dropped before the response head (the client went away, a timeout
    /// gave up on a slow handler), it emits the request's events as
    /// [`Aborted`](crate::Outcome::Aborted): every request leaves one event.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        exchange: Option<Box<Exchange>>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            // `None` once the response (or the inner error) was handed on.
            if let Some(exchange) = this.project().exchange.take() {
                exchange.abandon();
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, exchange: Box<Exchange>) -> Self {
        ResponseFuture {
            inner,
            exchange: Some(exchange),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
{
    type Output = Result<Response<ObserveBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(exchange) = this.exchange.as_mut() else {
            panic!("ResponseFuture polled after completion");
        };
        // Once the envelope peek inside has run, the span gets the
        // request's attributes (and, with `opentelemetry`, its parent).
        exchange.annotate();
        let result = {
            let _entered = exchange.entered();
            ready!(this.inner.poll(cx))
        };
        let Some(mut exchange) = this.exchange.take() else {
            unreachable!("checked above")
        };
        match result {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                exchange.respond(parts.status, &parts.headers, &parts.extensions);
                Poll::Ready(Ok(Response::from_parts(
                    parts,
                    ObserveBody::new(body, exchange),
                )))
            }
            Err(error) => {
                exchange.fail();
                Poll::Ready(Err(error))
            }
        }
    }
}
