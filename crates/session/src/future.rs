use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Method, Request, Response};
use mcp_guard_core::headers::MCP_SESSION_ID;
use mcp_guard_core::{GuardBody, Owner, PeekFuture, PeekStart, StoreError, take_ready};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::SessionRecord;
use crate::opening::Opening;
use crate::service::{After, Shared, refuse};
use crate::store::SessionStore;

/// A store call the response future must wait for, boxed because a
/// [`SessionStore`] returns its futures unnamed (`impl Future`). It holds
/// only the store and what the call needs (never the inner service or a
/// body), and runs only where a store must be waited for: the lookup in a
/// store that cannot answer at once ([`SessionStore::load_now`] says `None`:
/// a network round trip dwarfs the box), a touch (once per touch interval),
/// a changed state saved, a `DELETE`'s removal, an `initialize`'s create.
pub(crate) type StoreFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What follows the handler's answer to a request of a live session.
pub(crate) enum Answered<B> {
    /// Nothing: this is the answer.
    Done(Response<GuardBody<B>>),
    /// A store write first.
    Post(PostStep<B>),
}

/// A store write after the handler answered a request of a live session,
/// with the answer it holds back until the write is done.
pub(crate) enum PostStep<B> {
    /// The state the handler changed is saved (a failure is logged).
    Save {
        save: StoreFuture<()>,
        response: Option<Response<B>>,
    },
    /// The session a `DELETE` ended is removed.
    Remove {
        remove: StoreFuture<Result<bool, StoreError>>,
        record: Arc<SessionRecord>,
        response: Option<Response<B>>,
    },
}

impl<B> PostStep<B> {
    fn poll<St: SessionStore>(
        &mut self,
        shared: &Shared<St>,
        cx: &mut Context<'_>,
    ) -> Poll<Response<GuardBody<B>>> {
        match self {
            PostStep::Save { save, response } => {
                ready!(save.as_mut().poll(cx));
                Poll::Ready(taken(response).map(GuardBody::new))
            }
            PostStep::Remove {
                remove,
                record,
                response,
            } => {
                let removed = ready!(remove.as_mut().poll(cx));
                Poll::Ready(shared.removed(record, removed, taken(response)))
            }
        }
    }
}

/// What the check decided.
pub(crate) enum Step<B> {
    /// Answer at once (a refusal, already logged).
    Answer(Response<Bytes>),
    /// Call the handler with this request, then do `After`.
    Call(Request<B>, After),
    /// An `initialize`: the handler's answer decides whether a session is
    /// created (see [`Opening`]).
    Initialize(Request<B>, Owner),
    /// Wait for the store, then decide again.
    Wait(Request<B>, Wait),
}

/// The store call a [`Step::Wait`] waits for.
pub(crate) enum Wait {
    /// The lookup of the presented id.
    Load(StoreFuture<Result<Option<Arc<SessionRecord>>, StoreError>>),
    /// The touch of this live session's record.
    Touch(Arc<SessionRecord>, StoreFuture<Result<(), StoreError>>),
}

pin_project! {
    /// Response future of [`SessionGuard`](crate::SessionGuard).
    ///
    /// A hand-written state machine, as tower-http's async authorization:
    /// requests the layer does not own (switched off, not a lifecycle
    /// method, public metadata, stateless era) are passed straight on. A
    /// legacy-era request reads its body (unless a layer outside did), is
    /// looked up in the store, and calls the handler; nothing of that is
    /// boxed when the store answers at once (the embedded store does). Only
    /// store calls that must be waited for are boxed (see the crate's
    /// docs); the inner service, its future and the bodies never are.
    pub struct ResponseFuture<S, St, ReqBody, ResBody>
    where
        S: Service<Request<GuardBody<ReqBody>>>,
    {
        #[pin]
        state: State<S, S::Future, St, ReqBody, ResBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F, St, ReqBody, ResBody>
    where
        S: Service<Request<GuardBody<ReqBody>>>,
    {
        // The inner service's answer, passed on.
        Pass { #[pin] future: F, stateless: bool },
        // Reading the body, to learn whether it is an initialize.
        Peek {
            #[pin] read: PeekFuture<ReqBody>,
            inner: Option<S>,
            shared: Shared<St>,
        },
        // Waiting for the store.
        Wait {
            wait: Wait,
            request: Option<Request<GuardBody<ReqBody>>>,
            inner: Option<S>,
            shared: Shared<St>,
        },
        // The handler, called in a live session.
        Call { #[pin] future: F, after: Option<After>, shared: Shared<St> },
        // The layer's answer; taken when polled.
        Answer { response: Option<Response<Bytes>> },
        // A store write after the handler answered.
        Post { step: PostStep<ResBody>, shared: Shared<St> },
        // An initialize.
        Opening { #[pin] opening: Opening<S, St, ReqBody, ResBody> },
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
}

impl<S, St, ReqBody, ResBody> ResponseFuture<S, St, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    St: SessionStore,
    ReqBody: http_body::Body<Data = Bytes>,
    ReqBody::Error: Into<mcp_guard_core::BoxError>,
    ResBody: http_body::Body<Data = Bytes>,
    ResBody::Error: Into<mcp_guard_core::BoxError>,
{
    /// Checks a legacy-era request, then calls `inner` (polled ready) as the
    /// check decides. When the body was read already (by a layer outside)
    /// and the store answers at once, the handler is called before this
    /// returns.
    pub(crate) fn check(request: Request<ReqBody>, inner: &mut S, shared: &Shared<St>) -> Self
    where
        S: Clone,
    {
        let step = match shared.settings.peek.start_peek(request) {
            PeekStart::Ready(Ok(request)) => shared.decide(request),
            PeekStart::Ready(Err(error)) => refuse(error, &Method::POST, None),
            PeekStart::Reading(read) => {
                let state = State::Peek {
                    read,
                    inner: Some(take_ready(inner)),
                    shared: shared.clone(),
                };
                return ResponseFuture { state };
            }
        };
        let state = match step {
            // Decided now (the usual case behind an envelope peek, with a
            // store that answers at once): the polled-ready service is called
            // here, so it is not cloned and no check state is kept.
            Step::Call(request, after) => State::Call {
                future: inner.call(request),
                after: Some(after),
                shared: shared.clone(),
            },
            Step::Answer(response) => State::Answer {
                response: Some(response),
            },
            step => State::after(step, take_ready(inner), shared.clone()),
        };
        ResponseFuture { state }
    }
}

impl<S, St, ReqBody, ResBody> State<S, S::Future, St, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    St: SessionStore,
    ReqBody: http_body::Body<Data = Bytes>,
    ReqBody::Error: Into<mcp_guard_core::BoxError>,
    ResBody: http_body::Body<Data = Bytes>,
    ResBody::Error: Into<mcp_guard_core::BoxError>,
{
    /// Where a step of the check leads: `inner` is called when the handler
    /// is, and goes along while the store is waited for.
    fn after(step: Step<GuardBody<ReqBody>>, mut inner: S, shared: Shared<St>) -> Self {
        match step {
            Step::Answer(response) => State::Answer {
                response: Some(response),
            },
            Step::Call(request, after) => State::Call {
                future: inner.call(request),
                after: Some(after),
                shared,
            },
            Step::Initialize(request, owner) => State::Opening {
                opening: Opening::new(inner, request, owner, shared),
            },
            Step::Wait(request, wait) => State::Wait {
                wait,
                request: Some(request),
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
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    St: SessionStore,
    ReqBody: http_body::Body<Data = Bytes>,
    ReqBody::Error: Into<mcp_guard_core::BoxError>,
    ResBody: http_body::Body<Data = Bytes>,
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
                StateProj::Peek {
                    read,
                    inner,
                    shared,
                } => {
                    // Only a POST's body is read.
                    let step = match ready!(read.poll(cx)) {
                        Ok(request) => shared.decide(request),
                        Err(error) => refuse(error, &Method::POST, None),
                    };
                    State::after(step, taken(inner), shared.clone())
                }
                StateProj::Wait {
                    wait,
                    request,
                    inner,
                    shared,
                } => {
                    let step = match wait {
                        Wait::Load(load) => {
                            let loaded = ready!(load.as_mut().poll(cx));
                            shared.loaded(taken(request), loaded)
                        }
                        Wait::Touch(record, touch) => {
                            let touched = ready!(touch.as_mut().poll(cx));
                            shared.touched(taken(request), record.clone(), touched)
                        }
                    };
                    State::after(step, taken(inner), shared.clone())
                }
                StateProj::Call {
                    future,
                    after,
                    shared,
                } => {
                    let response = ready!(future.poll(cx))?;
                    match shared.after(taken(after), response) {
                        Answered::Done(done) => return Poll::Ready(Ok(done)),
                        Answered::Post(step) => State::Post {
                            step,
                            shared: shared.clone(),
                        },
                    }
                }
                StateProj::Answer { response } => {
                    return Poll::Ready(Ok(taken(response).map(GuardBody::full)));
                }
                StateProj::Post { step, shared } => {
                    return step.poll(shared, cx).map(Ok);
                }
                StateProj::Opening { opening } => return opening.poll(cx),
            };
            state.set(next);
        }
    }
}

/// What a state holds until the state moves on. Missing only when the
/// future is polled after it completed, which breaks the `Future` contract
/// (a caller's bug, never a client's doing).
pub(crate) fn taken<T>(slot: &mut Option<T>) -> T {
    match slot.take() {
        Some(value) => value,
        None => panic!("session ResponseFuture polled after completion"),
    }
}
