use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`McpCors`](crate::McpCors).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Cors { #[pin] future: tower_http::cors::ResponseFuture<F> },
        NotCors { #[pin] future: F },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(future: tower_http::cors::ResponseFuture<F>) -> Self {
        ResponseFuture {
            kind: Kind::Cors { future },
        }
    }

    /// A request CORS has nothing to say about: the handler's response as is.
    pub(crate) fn not_cors(future: F) -> Self {
        ResponseFuture {
            kind: Kind::NotCors { future },
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Cors { future } => future.poll(cx),
            KindProj::NotCors { future } => future.poll(cx),
        }
    }
}
