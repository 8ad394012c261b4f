use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

use crate::body::ResumeBody;
use crate::service::is_event_stream;

type ResumableFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResumeBody<B>>, E>> + Send>>;

pin_project! {
    /// Response future of [`SseResume`](crate::SseResume).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Passthrough { #[pin] future: F },
        Stateless { #[pin] future: F, keep_alive: Duration },
        Resumable { future: ResumableFuture<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn passthrough(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Passthrough { future },
        }
    }

    pub(crate) fn stateless(future: F, keep_alive: Duration) -> Self {
        ResponseFuture {
            kind: Kind::Stateless { future, keep_alive },
        }
    }

    pub(crate) fn boxed(future: ResumableFuture<B, E>) -> Self {
        ResponseFuture {
            kind: Kind::Resumable { future },
        }
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResumeBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passthrough { future } => {
                let response = std::task::ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResumeBody::handler)))
            }
            KindProj::Stateless { future, keep_alive } => {
                let response = std::task::ready!(future.poll(cx))?;
                if !is_event_stream(&response) {
                    return Poll::Ready(Ok(response.map(ResumeBody::handler)));
                }
                let interval = *keep_alive;
                let mut response = response.map(|body| ResumeBody::keep_alive(body, interval));
                // Proxies must not buffer a stream the client is waiting on.
                response
                    .headers_mut()
                    .insert("x-accel-buffering", HeaderValue::from_static("no"));
                Poll::Ready(Ok(response))
            }
            KindProj::Resumable { future } => future.as_mut().poll(cx),
        }
    }
}
