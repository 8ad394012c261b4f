//! The part of the response future that answers an `initialize`: the
//! handler answers, its successful InitializeResult is read, and a session is
//! stored. A hand-written state machine like the rest of the response
//! future: only the store's `create` is boxed (its future is unnamed), and no
//! `Send` or `'static` bound falls on the inner service or the bodies.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::response::Parts;
use http::{HeaderValue, Method, Request, Response};
use http_body::Body;
use http_body_util::Limited;
use mcp_guard_core::headers::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use mcp_guard_core::{BodyChunks, BoxError, GuardBody, McpError, Owner, RpcEnvelope, RpcId, guard};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower_service::Service;

use crate::future::{StoreFuture, taken};
use crate::initialize::negotiated_version;
use crate::layer::Mode;
use crate::service::{Shared, handler_minted_ids, initialize_response_unreadable};
use crate::store::{Created, SessionStore, StoreError};
use crate::{SessionId, SessionRecord};

pin_project! {
    /// An `initialize` on its way: a session is created after the handler's
    /// successful InitializeResult.
    pub(crate) struct Opening<S, St, ReqBody, ResBody>
    where
        S: Service<Request<GuardBody<ReqBody>>>,
    {
        #[pin]
        phase: Phase<S::Future, ReqBody, ResBody>,
        opening: Ctx<S, St>,
    }
}

/// What the phases share.
struct Ctx<S, St> {
    // Kept (not cloned) to end a session the handler minted that this layer
    // cannot keep.
    inner: S,
    shared: Shared<St>,
    owner: Option<Owner>,
    // What the refusals answer with, and what the handler saw (its Host and
    // MCP-Protocol-Version go on the DELETE that ends its session).
    rpc_id: Option<RpcId>,
    host: Option<HeaderValue>,
    version: Option<HeaderValue>,
}

pin_project! {
    #[project = PhaseProj]
    enum Phase<F, ReqBody, ResBody> {
        // The handler answers the initialize.
        Handler { #[pin] future: F },
        // Its successful answer is read, bounded in size and time.
        Read {
            #[pin] body: Limited<ResBody>,
            #[pin] deadline: Sleep,
            chunks: BodyChunks,
            parts: Option<Parts>,
        },
        // The session is stored.
        Create {
            create: StoreFuture<Result<Created, StoreError>>,
            parts: Option<Parts>,
            bytes: Bytes,
            id: SessionId,
        },
        // A session the handler minted is ended in the handler (its
        // DELETE), then `refusal` is answered.
        EndReady {
            request: Option<Request<GuardBody<ReqBody>>>,
            refusal: Option<McpError>,
        },
        EndCall { #[pin] future: F, refusal: Option<McpError> },
    }
}

/// What a phase leads to: the answer, or the next phase.
enum Next<F, ReqBody, ResBody> {
    Answer(Response<GuardBody<ResBody>>),
    Phase(Phase<F, ReqBody, ResBody>),
}

impl<S, St, ReqBody, ResBody> Opening<S, St, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    St: SessionStore,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    /// Calls `inner` (polled ready) with the initialize, to be owned by `owner`.
    pub(crate) fn new(
        mut inner: S,
        request: Request<GuardBody<ReqBody>>,
        owner: Owner,
        shared: Shared<St>,
    ) -> Self {
        let rpc_id = request
            .extensions()
            .get::<RpcEnvelope>()
            .and_then(RpcEnvelope::request_id)
            .cloned();
        let host = request.headers().get(HOST).cloned();
        let version = request.headers().get(MCP_PROTOCOL_VERSION).cloned();
        Opening {
            phase: Phase::Handler {
                future: inner.call(request),
            },
            opening: Ctx {
                inner,
                shared,
                owner: Some(owner),
                rpc_id,
                host,
                version,
            },
        }
    }
}

impl<S, St, ReqBody, ResBody> std::future::Future for Opening<S, St, ReqBody, ResBody>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
    St: SessionStore,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response<GuardBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let opening = this.opening;
        loop {
            let next = match this.phase.as_mut().project() {
                PhaseProj::Handler { future } => {
                    let response = ready!(future.poll(cx))?;
                    opening.answered(response)
                }
                PhaseProj::Read {
                    body,
                    deadline,
                    chunks,
                    parts,
                } => {
                    // The body first, as `tokio::time::timeout` does: a body
                    // complete by the deadline is accepted.
                    // A body that fails or passes its size limit is unreadable.
                    let read = match chunks.poll_read_to_end(body, cx) {
                        Poll::Ready(read) => read.is_ok(),
                        Poll::Pending => {
                            ready!(deadline.poll(cx));
                            false
                        }
                    };
                    if read {
                        opening.read(taken(parts), std::mem::take(chunks).into_bytes())
                    } else {
                        Next::Answer(opening.refused(initialize_response_unreadable()))
                    }
                }
                PhaseProj::Create {
                    create,
                    parts,
                    bytes,
                    id,
                } => {
                    let created = ready!(create.as_mut().poll(cx));
                    opening.created(created, taken(parts), std::mem::take(bytes), id)
                }
                PhaseProj::EndReady { request, refusal } => {
                    match ready!(opening.inner.poll_ready(cx)) {
                        Ok(()) => Next::Phase(Phase::EndCall {
                            future: opening.inner.call(taken(request)),
                            refusal: refusal.take(),
                        }),
                        Err(_) => Next::Answer(opening.refused(taken(refusal))),
                    }
                }
                PhaseProj::EndCall { future, refusal } => {
                    // The handler's answer to its DELETE changes nothing.
                    let _ = ready!(future.poll(cx));
                    Next::Answer(opening.refused(taken(refusal)))
                }
            };
            match next {
                Next::Answer(response) => return Poll::Ready(Ok(response)),
                Next::Phase(phase) => this.phase.set(phase),
            }
        }
    }
}

impl<S, St> Ctx<S, St> {
    /// The refusal of this initialize, with its JSON-RPC id, logged.
    fn refused<B>(&self, error: McpError) -> Response<GuardBody<B>> {
        error
            .with_id(self.rpc_id.clone())
            .rejected_by(guard::SESSION)
            .into_logged_response(&Method::POST)
    }
}

impl<S, St> Ctx<S, St>
where
    St: SessionStore,
{
    /// The handler answered: a failure is passed on; an id it minted while
    /// this layer mints them is refused (and its session ended in it);
    /// otherwise the answer is read.
    fn answered<ReqBody, ResBody>(
        &mut self,
        response: Response<ResBody>,
    ) -> Next<S::Future, ReqBody, ResBody>
    where
        S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
        ResBody: Body<Data = Bytes>,
        ResBody::Error: Into<BoxError>,
    {
        if !response.status().is_success() {
            return Next::Answer(response.map(GuardBody::new));
        }
        let (parts, body) = response.into_parts();
        if self.shared.settings.mode == Mode::Issue
            && let Some(minted) = parts.headers.get(MCP_SESSION_ID)
        {
            drop(body);
            self.shared.log_handler_minted_ids();
            if SessionId::validate(minted.as_bytes(), self.shared.settings.max_id_len).is_err() {
                return Next::Answer(self.refused(handler_minted_ids()));
            }
            return self.end_in_handler(minted.clone(), handler_minted_ids());
        }
        let settings = &self.shared.settings;
        Next::Phase(Phase::Read {
            body: Limited::new(body, settings.max_initialize_response_bytes),
            deadline: tokio::time::sleep(settings.initialize_response_timeout),
            chunks: BodyChunks::default(),
            parts: Some(parts),
        })
    }

    /// The answer is read: a successful InitializeResult with a session id
    /// becomes a session (stored next); anything else is passed on.
    fn read<F, ReqBody, ResBody>(
        &mut self,
        parts: Parts,
        bytes: Bytes,
    ) -> Next<F, ReqBody, ResBody> {
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let Some(version) = negotiated_version(content_type, &bytes) else {
            // A JSON-RPC error (or no InitializeResult at all): no session.
            return Next::Answer(Response::from_parts(parts, GuardBody::full(bytes)));
        };
        let id = match self.shared.session_id_for(&parts.headers) {
            Ok(Some(id)) => id,
            // Track mode and a handler that minted no id: a sessionless server.
            Ok(None) => return Next::Answer(Response::from_parts(parts, GuardBody::full(bytes))),
            Err(error) => return Next::Answer(self.refused(error)),
        };
        let settings = &self.shared.settings;
        let record = SessionRecord::new(
            id.clone(),
            taken(&mut self.owner),
            version,
            settings.idle_timeout,
            settings.max_lifetime,
        );
        let store = self.shared.store.clone();
        let limits = settings.limits;
        Next::Phase(Phase::Create {
            create: Box::pin(async move { store.create(record, limits).await }),
            parts: Some(parts),
            bytes,
            id,
        })
    }

    /// The store answered: the session exists (in issue mode its id goes on
    /// the answer), or the refusal goes out (in track mode after the
    /// handler's session is ended).
    fn created<F, ReqBody, ResBody>(
        &mut self,
        created: Result<Created, StoreError>,
        mut parts: Parts,
        bytes: Bytes,
        id: &SessionId,
    ) -> Next<F, ReqBody, ResBody> {
        if let Some(refusal) = self.shared.creation_refused(created) {
            if self.shared.settings.mode == Mode::Track
                && let Ok(value) = HeaderValue::from_str(id.as_str())
            {
                return self.end_in_handler(value, refusal);
            }
            return Next::Answer(self.refused(refusal));
        }
        if self.shared.settings.mode == Mode::Issue
            && let Ok(value) = HeaderValue::from_str(id.as_str())
        {
            parts.headers.insert(MCP_SESSION_ID, value);
        }
        tracing::info!(session = ?id, "session created");
        Next::Answer(Response::from_parts(parts, GuardBody::full(bytes)))
    }

    /// Ends the handler's session `id`, which this layer refused to keep,
    /// with a `DELETE` like the one its client would send; then `refusal`.
    fn end_in_handler<F, ReqBody, ResBody>(
        &mut self,
        id: HeaderValue,
        refusal: McpError,
    ) -> Next<F, ReqBody, ResBody> {
        let mut request = Request::new(GuardBody::full(Bytes::new()));
        *request.method_mut() = Method::DELETE;
        if let Some(host) = self.host.take() {
            request.headers_mut().insert(HOST, host);
        }
        if let Some(version) = self.version.take() {
            request.headers_mut().insert(MCP_PROTOCOL_VERSION, version);
        }
        request.headers_mut().insert(MCP_SESSION_ID, id);
        Next::Phase(Phase::EndReady {
            request: Some(request),
            refusal: Some(refusal),
        })
    }
}
