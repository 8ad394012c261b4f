use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use mcp_guard_core::GuardBody;
use pin_project_lite::pin_project;

type AuthFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<GuardBody<B>>, E>> + Send>>;

pin_project! {
    /// Response future of [`BearerAuth`](crate::BearerAuth).
    pub struct ResponseFuture<B, E> {
        #[pin]
        kind: Kind<B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B, E> {
        Ready { response: Option<Response<GuardBody<B>>> },
        Authenticating { future: AuthFuture<B, E> },
    }
}

impl<B, E> ResponseFuture<B, E> {
    pub(crate) fn ready(response: Response<GuardBody<B>>) -> Self {
        ResponseFuture {
            kind: Kind::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn boxed(future: AuthFuture<B, E>) -> Self {
        ResponseFuture {
            kind: Kind::Authenticating { future },
        }
    }
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<GuardBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            KindProj::Authenticating { future } => future.as_mut().poll(cx),
        }
    }
}
