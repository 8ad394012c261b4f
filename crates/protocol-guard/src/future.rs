use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use mcp_guard_core::GuardBody;
use pin_project_lite::pin_project;

use crate::body::ObservedBody;

type GuardedResponse<B> = Response<GuardBody<ObservedBody<B>>>;

/// The boxed part of a POST: the one body read, the envelope checks, then the
/// inner call. Boxed because it awaits the body before the inner future exists.
type BodyFuture<B, E> = Pin<Box<dyn Future<Output = Result<GuardedResponse<B>, E>> + Send>>;

pin_project! {
    /// Response future of [`ProtocolGuard`](crate::ProtocolGuard).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Rejected { response: Option<GuardedResponse<B>> },
        Inner { #[pin] future: F },
        ReadingBody { future: BodyFuture<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn rejected(response: GuardedResponse<B>) -> Self {
        ResponseFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn reading_body(future: BodyFuture<B, E>) -> Self {
        ResponseFuture {
            kind: Kind::ReadingBody { future },
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
    type Output = Result<GuardedResponse<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            KindProj::Inner { future } => {
                let response = std::task::ready!(future.poll(cx))?;
                Poll::Ready(Ok(
                    response.map(|body| GuardBody::new(ObservedBody::passthrough(body)))
                ))
            }
            KindProj::ReadingBody { future } => future.as_mut().poll(cx),
        }
    }
}
