use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use mcp_guard_core::GuardBody;
use mcp_guard_core::headers::MCP_SESSION_ID;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::service::{After, Shared};
use crate::store::SessionStore;

/// The check of a legacy-era request: the envelope read and the store
/// lookups, decided before the handler is called. Boxed because it awaits the
/// store's futures, which a [`SessionStore`] returns unnamed (`impl Future`);
/// it does not hold the inner service.
pub(crate) type Check<B> = Pin<Box<dyn Future<Output = Step<B>> + Send>>;

/// What runs after the handler answered, on the rare paths that need more
/// than the answer: a session's changed state saved, a `DELETE`'s record
/// removed, an `initialize` turned into a session.
pub(crate) type PostStep<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<GuardBody<B>>, E>> + Send>>;

/// What the check decided.
pub(crate) enum Step<B> {
    /// Answer at once (a refusal, already logged).
    Answer(Response<Bytes>),
    /// Call the handler with this request, then do `After`.
    Call(Request<B>, After),
    /// An `initialize`: the handler's answer decides whether a session is
    /// created (see [`Shared::initialize`]).
    Initialize(Request<B>, mcp_guard_core::Owner),
}

pin_project! {
    /// Response future of [`SessionGuard`](crate::SessionGuard).
    ///
    /// Requests the layer does not own (switched off, not a lifecycle
    /// method, public metadata, stateless era) are passed with the guard
    /// kit's [`GuardFuture`]. A legacy-era request first awaits its check
    /// (boxed: see the crate's docs), then the handler (never boxed), then a
    /// post-step only when one is needed.
    pub struct ResponseFuture<S, St, ReqBody, ResBody>
    where
        S: Service<Request<GuardBody<ReqBody>>>,
    {
        #[pin]
        state: State<S, S::Future, St, ReqBody, ResBody, S::Error>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F, St, ReqBody, ResBody, E> {
        Pass { #[pin] future: F, stateless: bool },
        Check { check: Check<GuardBody<ReqBody>>, inner: Option<S>, shared: Shared<St> },
        Call { #[pin] future: F, after: Option<After>, shared: Shared<St> },
        Post { future: PostStep<ResBody, E> },
    }
}

impl<S, St, ReqBody, ResBody> ResponseFuture<S, St, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>>,
{
    /// Passes the inner service's answer on unchanged.
    pub(crate) fn pass(future: S::Future) -> Self {
        ResponseFuture {
            state: State::Pass {
                future,
                stateless: false,
            },
        }
    }

    /// Passes a stateless-era answer on without any `Mcp-Session-Id`: that era
    /// has no sessions, so a handler that minted one anyway (rmcp answering a
    /// stateless `initialize`) must not hand it out.
    pub(crate) fn stateless(future: S::Future) -> Self {
        ResponseFuture {
            state: State::Pass {
                future,
                stateless: true,
            },
        }
    }

    /// Awaits `check`, then calls `inner` (polled ready) as it decides.
    pub(crate) fn check(check: Check<GuardBody<ReqBody>>, inner: S, shared: Shared<St>) -> Self {
        ResponseFuture {
            state: State::Check {
                check,
                inner: Some(inner),
                shared,
            },
        }
    }
}

impl<S, St, ReqBody, ResBody> fmt::Debug for ResponseFuture<S, St, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, St, ReqBody, ResBody> Future for ResponseFuture<S, St, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    St: SessionStore,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<mcp_guard_core::BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<mcp_guard_core::BoxError>,
{
    type Output = Result<Response<GuardBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let next = match state.as_mut().project() {
                StateProj::Pass { future, stateless } => {
                    let mut response = ready!(future.poll(cx))?;
                    if *stateless && response.headers_mut().remove(MCP_SESSION_ID).is_some() {
                        tracing::warn!(
                            "the handler answered a stateless-era (2026-07-28) request with an Mcp-Session-Id; removed it (that era has no sessions)"
                        );
                    }
                    return Poll::Ready(Ok(response.map(GuardBody::new)));
                }
                StateProj::Check {
                    check,
                    inner,
                    shared,
                } => {
                    let step = ready!(check.as_mut().poll(cx));
                    let Some(mut inner) = inner.take() else {
                        polled_after_completion()
                    };
                    match step {
                        Step::Answer(response) => {
                            return Poll::Ready(Ok(response.map(GuardBody::full)));
                        }
                        Step::Call(request, after) => State::Call {
                            future: inner.call(request),
                            after: Some(after),
                            shared: shared.clone(),
                        },
                        Step::Initialize(request, owner) => State::Post {
                            future: Box::pin(shared.clone().initialize(inner, request, owner)),
                        },
                    }
                }
                StateProj::Call {
                    future,
                    after,
                    shared,
                } => {
                    let response = ready!(future.poll(cx))?;
                    let Some(after) = after.take() else {
                        polled_after_completion()
                    };
                    match shared.after(after, response) {
                        Ok(done) => return Poll::Ready(Ok(done)),
                        Err(post) => State::Post { future: post },
                    }
                }
                StateProj::Post { future } => return future.as_mut().poll(cx),
            };
            state.set(next);
        }
    }
}

/// Polling a completed future breaks the `Future` contract (a caller's bug,
/// never a client's doing).
fn polled_after_completion() -> ! {
    panic!("session ResponseFuture polled after completion")
}
