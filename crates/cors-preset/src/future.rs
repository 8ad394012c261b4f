use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use mcp_guard_core::{Rejection, guard};
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`McpCors`](crate::McpCors).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
        // The reason of a refused preflight, put on its answer.
        refusal: Option<&'static str>,
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
            refusal: None,
        }
    }

    /// A preflight answered without granting what it asked for: its answer
    /// names CORS and `reason`.
    pub(crate) fn refused(mut self, reason: Option<&'static str>) -> Self {
        self.refusal = reason;
        self
    }

    /// A request CORS has nothing to say about: the handler's response as is.
    pub(crate) fn not_cors(future: F) -> Self {
        ResponseFuture {
            kind: Kind::NotCors { future },
            refusal: None,
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
        let this = self.project();
        let mut response = ready!(match this.kind.project() {
            KindProj::Cors { future } => future.poll(cx),
            KindProj::NotCors { future } => future.poll(cx),
        })?;
        if let Some(reason) = this.refusal.take() {
            response.extensions_mut().insert(Rejection {
                guard: guard::CORS,
                reason,
            });
        }
        Poll::Ready(Ok(response))
    }
}
