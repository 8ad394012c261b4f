use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use mcp_guard_core::GuardBody;
use mcp_guard_core::headers::MCP_SESSION_ID;
use pin_project_lite::pin_project;

/// The lifecycle of a legacy-era request: store lookups around the inner call.
type LifecycleFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<GuardBody<B>>, E>> + Send>>;

pin_project! {
    /// Response future of [`SessionGuard`](crate::SessionGuard).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Inner { #[pin] future: F, stateless: bool },
        Lifecycle { future: LifecycleFuture<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    /// Passes the inner service's answer on unchanged.
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner {
                future,
                stateless: false,
            },
        }
    }

    /// Passes a stateless-era answer on without any `Mcp-Session-Id`: that era
    /// has no sessions, so a handler that minted one anyway (rmcp answering a
    /// stateless `initialize`) must not hand it out.
    pub(crate) fn stateless(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner {
                future,
                stateless: true,
            },
        }
    }

    pub(crate) fn boxed(future: LifecycleFuture<B, E>) -> Self {
        ResponseFuture {
            kind: Kind::Lifecycle { future },
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
    type Output = Result<Response<GuardBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, stateless } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                if *stateless && response.headers_mut().remove(MCP_SESSION_ID).is_some() {
                    tracing::warn!(
                        "the handler answered a stateless-era (2026-07-28) request with an Mcp-Session-Id; removed it (that era has no sessions)"
                    );
                }
                Poll::Ready(Ok(response.map(GuardBody::new)))
            }
            KindProj::Lifecycle { future } => future.as_mut().poll(cx),
        }
    }
}
