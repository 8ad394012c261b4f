use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use mcp_guard_core::headers::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use mcp_guard_core::well_known::{forget_session, is_metadata_read};
use mcp_guard_core::{
    BoxError, Era, GuardBody, McpError, Owner, Principal, ProtocolVersion, RpcEnvelope, error_code,
    guard, truncated_for_display,
};
use tower_service::Service;

use crate::future::{Answered, PostStep, ResponseFuture, Step, Wait};
use crate::layer::{IncompletePrincipal, Mode, Settings};
use crate::record::now_millis;
use crate::store::{Created, SessionStore, StoreError};
use crate::{Session, SessionId, SessionRecord};

/// Middleware that owns the legacy-era session lifecycle. Made by
/// [`SessionGuardLayer`](crate::SessionGuardLayer).
///
/// The handler receives a [`Session`] in the request's extensions on every
/// request of a live session, and the body byte for byte in a [`GuardBody`].
pub struct SessionGuard<S, St> {
    pub(crate) inner: S,
    /// `None` when the guard is switched off: everything passes through.
    pub(crate) guard: Option<Shared<St>>,
}

impl<S: Clone, St> Clone for SessionGuard<S, St> {
    fn clone(&self) -> Self {
        SessionGuard {
            inner: self.inner.clone(),
            guard: self.guard.clone(),
        }
    }
}

impl<S: std::fmt::Debug, St> std::fmt::Debug for SessionGuard<S, St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, St, ReqBody, ResBody> Service<Request<ReqBody>> for SessionGuard<S, St>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    St: SessionStore,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, St, ReqBody, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(guard) = &self.guard else {
            return ResponseFuture::pass(self.inner.call(request.map(GuardBody::new)));
        };
        let lifecycle_method = matches!(
            *request.method(),
            Method::POST | Method::GET | Method::DELETE
        );
        if !lifecycle_method {
            return ResponseFuture::pass(self.inner.call(request.map(GuardBody::new)));
        }
        if is_metadata_read(&request) {
            // Public metadata: no session, and none to be reached through it.
            let mut request = request;
            forget_session(&mut request);
            return ResponseFuture::pass(self.inner.call(request.map(GuardBody::new)));
        }
        if Era::of(&request) == Era::Stateless {
            // Stateless-era traffic has no sessions: neither read nor minted.
            return ResponseFuture::stateless(self.inner.call(request.map(GuardBody::new)));
        }
        // Decided here when it can be; the polled-ready instance goes along
        // only when the store or the body is waited for.
        ResponseFuture::check(request, &mut self.inner, guard)
    }
}

/// What runs after the handler answered a request of a live session.
pub(crate) enum After {
    /// Save the state the handler changed, if it did.
    SaveState(Session),
    /// The session's `DELETE`: remove the record once the handler agreed.
    Remove(Arc<SessionRecord>),
}

/// The store and settings: what the lifecycle needs besides the handler.
/// `Sync`, so it may be borrowed across store calls; cheap to clone.
pub(crate) struct Shared<St> {
    pub(crate) store: Arc<St>,
    pub(crate) settings: Arc<Settings>,
}

impl<St> Clone for Shared<St> {
    fn clone(&self) -> Self {
        Shared {
            store: self.store.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<St: SessionStore> Shared<St> {
    /// Decides a request whose envelope is read (by this layer or one
    /// outside): refuse, open a session (initialize), or continue one.
    pub(crate) fn decide<B>(&self, request: Request<B>) -> Step<B> {
        let initialize = request
            .extensions()
            .get::<RpcEnvelope>()
            .and_then(RpcEnvelope::single)
            .is_some_and(|message| message.is_initialize());
        match initialize {
            true => self.opening(request),
            false => self.continuing(request),
        }
    }

    /// An initialize opens a new session. A session id it carries must not
    /// reach the handler (a session-aware one would run it inside that
    /// session, someone else's perhaps), and the answer must not tell
    /// whether that id is live.
    fn opening<B>(&self, mut request: Request<B>) -> Step<B> {
        if request.headers_mut().remove(MCP_SESSION_ID).is_some() {
            tracing::info!(
                "an initialize carried an Mcp-Session-Id; removed it, initialize always opens a new session"
            );
        }
        match self.creating_owner(&request) {
            Ok(owner) => Step::Initialize(request, owner),
            Err(error) => refuse(error, &Method::POST, Some(request.extensions())),
        }
    }

    /// A request of a live session: its id is looked up borrowed from the
    /// header, answered at once by a store that can
    /// ([`SessionStore::load_now`]); otherwise the lookup is awaited (boxed:
    /// a network store's round trip dwarfs the box).
    fn continuing<B>(&self, request: Request<B>) -> Step<B> {
        let id = match self.presented_id(request.headers()) {
            Ok(id) => id,
            Err(error) => return refuse(error, request.method(), Some(request.extensions())),
        };
        match self.store.load_now(id) {
            Some(loaded) => self.loaded(request, loaded),
            None => {
                let id = SessionId::from_valid(id);
                let store = self.store.clone();
                let load = Box::pin(async move { store.load(&id).await });
                Step::Wait(request, Wait::Load(load))
            }
        }
    }

    /// The store's answer for the presented id. The session must be the
    /// caller's own, in a version it can take; the handler (and every layer
    /// inside) then finds the [`Session`] and its
    /// [`SessionContext`](mcp_guard_core::SessionContext) in the request's
    /// extensions.
    pub(crate) fn loaded<B>(
        &self,
        mut request: Request<B>,
        loaded: Result<Option<Arc<SessionRecord>>, StoreError>,
    ) -> Step<B> {
        let record = match self.owned_record(&request, loaded) {
            Ok(record) => record,
            Err(error) => return refuse(error, request.method(), Some(request.extensions())),
        };
        if let Some(error) =
            version_disagreement(&request, &record, self.settings.pin_protocol_version)
        {
            return refuse(error, request.method(), Some(request.extensions()));
        }
        if request.method() == Method::DELETE {
            if let Err(error) = self.termination_allowed() {
                return refuse(error, &Method::DELETE, None);
            }
            // The layers inside (sse-resume) still see the DELETE, so they
            // can purge what belongs to the session.
            insert_session(&mut request, &Session::new(record.clone()));
            return Step::Call(request, After::Remove(record));
        }
        let now = now_millis();
        if now.saturating_sub(record.last_seen_at()) >= millis(self.settings.touch_interval) {
            // Once per touch interval per session: boxed, like the lookup
            // of a store that must wait.
            let store = self.store.clone();
            let id = record.id().clone();
            let touch = Box::pin(async move { store.touch(&id, now).await });
            return Step::Wait(request, Wait::Touch(record, touch));
        }
        in_session(request, record)
    }

    /// The touch is done (a failed one is logged: the request goes on).
    pub(crate) fn touched<B>(
        &self,
        request: Request<B>,
        record: Arc<SessionRecord>,
        touched: Result<(), StoreError>,
    ) -> Step<B> {
        if let Err(error) = touched {
            tracing::warn!(session = ?record.id(), error = error.message(), "session touch failed");
        }
        in_session(request, record)
    }

    fn termination_allowed(&self) -> Result<(), McpError> {
        if self.settings.client_termination {
            return Ok(());
        }
        Err(McpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            error_code::SERVER_ERROR,
            "this server does not let clients end sessions; sessions end by expiry",
        )
        .with_header(ALLOW, HeaderValue::from_static("GET, POST"))
        .with_reason("termination_not_allowed"))
    }

    /// The handler answered a request of a live session: done, unless a
    /// store write must follow (only when the handler changed the session's
    /// state, and on a `DELETE` the handler agreed to).
    pub(crate) fn after<B>(&self, after: After, response: Response<B>) -> Answered<B> {
        match after {
            After::SaveState(session) => {
                let changes = session.take_changes();
                if changes.is_empty() {
                    return Answered::Done(response.map(GuardBody::new));
                }
                let store = self.store.clone();
                let id = session.id().clone();
                let save = Box::pin(async move {
                    if let Err(error) = store.update_state(&id, changes).await {
                        tracing::error!(session = ?id, error = error.message(), "session state was not saved");
                    }
                });
                Answered::Post(PostStep::Save {
                    save,
                    response: Some(response),
                })
            }
            After::Remove(record) => {
                if !self.handler_ended(&response) {
                    return Answered::Done(self.ended(response));
                }
                let store = self.store.clone();
                let id = record.id().clone();
                let remove = Box::pin(async move { store.remove(&id).await });
                Answered::Post(PostStep::Remove {
                    remove,
                    record,
                    response: Some(response),
                })
            }
        }
    }

    /// Whether the session a `DELETE` named ends: when the handler agreed
    /// (in issue mode the stateless handler's answer does not matter).
    fn handler_ended<B>(&self, response: &Response<B>) -> bool {
        self.settings.mode == Mode::Issue
            || response.status().is_success()
            || response.status() == StatusCode::NOT_FOUND
    }

    /// The `DELETE`'s session is removed from the store (or the store could
    /// not answer: `503`).
    pub(crate) fn removed<B>(
        &self,
        record: &SessionRecord,
        removed: Result<bool, StoreError>,
        response: Response<B>,
    ) -> Response<GuardBody<B>> {
        if let Err(error) = removed {
            return self
                .store_unavailable(&error)
                .rejected_by(guard::SESSION)
                .into_logged_response(&Method::DELETE);
        }
        tracing::info!(session = ?record.id(), "session ended by the client");
        self.ended(response)
    }

    /// The answer to a `DELETE`: the handler's in track mode, `204` in
    /// issue mode.
    fn ended<B>(&self, response: Response<B>) -> Response<GuardBody<B>> {
        if self.settings.mode == Mode::Issue {
            let mut ended = Response::new(GuardBody::default());
            *ended.status_mut() = StatusCode::NO_CONTENT;
            return ended;
        }
        response.map(GuardBody::new)
    }

    /// Why the store did not keep the new session, if it did not.
    pub(crate) fn creation_refused(
        &self,
        created: Result<Created, StoreError>,
    ) -> Option<McpError> {
        match created {
            Ok(Created::Created) => None,
            Ok(Created::TooManySessions) => Some(self.busy(StatusCode::SERVICE_UNAVAILABLE, "this server has as many live sessions as it allows; retry later or end unused sessions with DELETE", None).with_reason("too_many_sessions")),
            Ok(Created::TooManyForOwner) => Some(self.busy(StatusCode::TOO_MANY_REQUESTS, "you have as many live sessions as this server allows per user; end unused sessions with DELETE, or retry later", None).with_reason("too_many_sessions_per_principal")),
            Ok(Created::IdTaken) => Some(self.busy(StatusCode::SERVICE_UNAVAILABLE, "the new session id collided with a live one; initialize again", None).with_reason("session_id_collision")),
            Err(error) => Some(self.store_unavailable(&error)),
        }
    }
}

/// Calls the handler in the session of `record`, saving the state it changes.
fn in_session<B>(mut request: Request<B>, record: Arc<SessionRecord>) -> Step<B> {
    let session = Session::new(record);
    insert_session(&mut request, &session);
    Step::Call(request, After::SaveState(session))
}

/// Puts the session in the request as the core's
/// [`SessionContext`](mcp_guard_core::SessionContext): what inner layers need
/// of it (id, negotiated version, owner), carrying the session for the
/// handler ([`Session::from_extensions`]).
fn insert_session<B>(request: &mut Request<B>, session: &Session) {
    request.extensions_mut().insert(session.context());
}

impl<St: SessionStore> Shared<St> {
    /// The session id a request presents, validated, borrowed from its
    /// header.
    fn presented_id<'h>(&self, headers: &'h http::HeaderMap) -> Result<&'h str, McpError> {
        let mut values = headers.get_all(MCP_SESSION_ID).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            let message = if headers.contains_key(MCP_SESSION_ID) {
                "Mcp-Session-Id is sent more than once; send exactly one"
            } else {
                "Mcp-Session-Id is required on every request after initialize; send the id from the initialize response, or initialize first"
            };
            let reason = match headers.contains_key(MCP_SESSION_ID) {
                true => "session_id_repeated",
                false => "missing_session_id",
            };
            return Err(McpError::new(
                StatusCode::BAD_REQUEST,
                error_code::INVALID_REQUEST,
                message,
            )
            .with_reason(reason));
        };
        SessionId::validate(value.as_bytes(), self.settings.max_id_len).map_err(|reason| {
            McpError::new(
                StatusCode::BAD_REQUEST,
                error_code::INVALID_REQUEST,
                format!(
                    "Mcp-Session-Id \"{}\" is not a session id: {reason}",
                    truncated_for_display(value.as_bytes())
                ),
            )
            .with_reason("session_id_malformed")
        })
    }

    /// The loaded record, if it is live and the caller's own (read from the
    /// request's [`Principal`], anonymous without one).
    fn owned_record<B>(
        &self,
        request: &Request<B>,
        loaded: Result<Option<Arc<SessionRecord>>, StoreError>,
    ) -> Result<Arc<SessionRecord>, McpError> {
        let record = loaded.map_err(|error| self.store_unavailable(&error))?;
        let Some(record) = record.filter(|record| !record.is_expired_at(now_millis())) else {
            return Err(not_found());
        };
        let owned = match request.extensions().get::<Principal>() {
            Some(principal) => principal.owner() == record.owner(),
            None => record.owner().is_anonymous(),
        };
        if !owned {
            // Indistinguishable from an unknown id: a leaked id tells its finder
            // nothing. A refusal like any other, so info, not warn.
            tracing::info!(session = ?record.id(), "a session id was presented by a caller that does not own it");
            return Err(not_found());
        }
        Ok(record)
    }

    /// Who a new session belongs to, under the incomplete-principal policy.
    fn creating_owner<B>(&self, request: &Request<B>) -> Result<Owner, McpError> {
        let Some(principal) = request.extensions().get::<Principal>() else {
            return Ok(Owner::anonymous());
        };
        let owner = principal.owner().clone();
        if owner.identifies_a_user() {
            return Ok(owner);
        }
        if owner.is_anonymous() {
            // Bound to nothing, the session would be anonymous: shared with
            // callers that sent no token, and free of the per-principal cap.
            return Err(McpError::new(
                StatusCode::FORBIDDEN,
                error_code::SERVER_ERROR,
                "the access token names no issuer, subject or client id, so a session cannot be bound to anyone; use a token with iss and sub",
            )
            .with_reason("principal_unnamed"));
        }
        match self.settings.incomplete_principal {
            IncompletePrincipal::Reject => Err(McpError::new(
                StatusCode::FORBIDDEN,
                error_code::SERVER_ERROR,
                "the access token names no issuer or no subject, so a session cannot be bound to a user; use a token with iss and sub",
            )
            .with_reason("principal_incomplete")),
            IncompletePrincipal::BindToPresent => {
                tracing::warn!(
                    client_id = owner.client_id(),
                    "session bound without issuer or subject (IncompletePrincipal::BindToPresent)"
                );
                Ok(owner)
            }
        }
    }

    /// The id of the new session: minted (issue) or the handler's (track).
    pub(crate) fn session_id_for(
        &self,
        response_headers: &http::HeaderMap,
    ) -> Result<Option<SessionId>, McpError> {
        match self.settings.mode {
            Mode::Issue => SessionId::generate().map(Some).map_err(|_| {
                McpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    error_code::INTERNAL_ERROR,
                    "no randomness for a session id; retry",
                )
                .with_reason("no_randomness")
            }),
            Mode::Track => {
                let Some(value) = response_headers.get(MCP_SESSION_ID) else {
                    return Ok(None);
                };
                SessionId::parse(value.as_bytes(), self.settings.max_id_len)
                    .map(Some)
                    .map_err(|reason| {
                        tracing::error!(%reason, "the handler minted an invalid Mcp-Session-Id");
                        McpError::new(
                            StatusCode::BAD_GATEWAY,
                            error_code::INTERNAL_ERROR,
                            "the server's handler minted an invalid session id",
                        )
                        .with_reason("handler_session_id_invalid")
                    })
            }
        }
    }

    fn busy(
        &self,
        status: StatusCode,
        message: &'static str,
        retry_after: Option<Duration>,
    ) -> McpError {
        let seconds = retry_after
            .unwrap_or(self.settings.retry_after)
            .as_secs()
            .max(1);
        McpError::new(status, error_code::SERVER_ERROR, message)
            .with_header(RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// The handler mints ids under [`Mode::Issue`]: an error for the
    /// operator, once per layer (every initialize would repeat it).
    pub(crate) fn log_handler_minted_ids(&self) {
        if !self
            .settings
            .handler_ids_logged
            .swap(true, Ordering::Relaxed)
        {
            tracing::error!(
                "the MCP handler answered initialize with its own Mcp-Session-Id, but the session layer mints the ids (Mode::Issue); every initialize is refused with 500 until you {ONE_MINTER}"
            );
        }
    }

    fn store_unavailable(&self, error: &StoreError) -> McpError {
        tracing::error!(error = error.message(), "session store unavailable");
        error.rejection("session store")
    }
}

/// A request whose `MCP-Protocol-Version` its session cannot take: not a
/// known legacy-era version, or (when pinning) not the negotiated one.
fn version_disagreement<B>(
    request: &Request<B>,
    record: &SessionRecord,
    pin: bool,
) -> Option<McpError> {
    let header = request.headers().get(MCP_PROTOCOL_VERSION)?;
    let negotiated = record.protocol_version()?;
    if header.as_bytes() == negotiated.as_str().as_bytes() {
        return None;
    }
    let sent = truncated_for_display(header.as_bytes());
    let known_legacy = header
        .to_str()
        .ok()
        .and_then(|text| text.parse::<ProtocolVersion>().ok())
        .is_some_and(|version| version.era() == Era::Legacy);
    let message = match (known_legacy, pin) {
        // The spec refuses only an invalid or unsupported version; which
        // versions this server supports is the protocol guard's (or the
        // handler's) to say.
        (true, false) => return None,
        (true, true) => format!(
            "MCP-Protocol-Version \"{sent}\" differs from the version this session negotiated, \"{negotiated}\", and this server pins sessions to it; send the negotiated version"
        ),
        (false, _) => format!(
            "MCP-Protocol-Version \"{sent}\" is not a protocol version of the session era; send the version this session negotiated, \"{negotiated}\""
        ),
    };
    Some(
        McpError::new(StatusCode::BAD_REQUEST, error_code::SERVER_ERROR, message)
            .with_reason("protocol_version_mismatch"),
    )
}

fn not_found() -> McpError {
    McpError::new(
        StatusCode::NOT_FOUND,
        error_code::SESSION_NOT_FOUND,
        "session not found: it ended, expired, or never existed; initialize a new session",
    )
    .with_reason("unknown_session")
}

/// The settings that let exactly one of the layer and the handler mint ids.
const ONE_MINTER: &str = "build rmcp's StreamableHttpServerConfig with `with_legacy_session_mode(false)` so the session layer's ids are the only ones, or use the session layer's `Mode::Track` so rmcp's are";

/// `500`: the handler answered an initialize with its own `Mcp-Session-Id`
/// while this layer mints the ids ([`Mode::Issue`]).
pub(crate) fn handler_minted_ids() -> McpError {
    McpError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        error_code::INTERNAL_ERROR,
        format!(
            "server misconfiguration: the MCP handler minted its own Mcp-Session-Id while the session layer (Mode::Issue) mints them; the server's operator must {ONE_MINTER}"
        ),
    )
    .with_reason("handler_minted_session_id")
}

/// `502`: the handler's answer to an initialize could not be read in full
/// (too large, too slow, or broken).
pub(crate) fn initialize_response_unreadable() -> McpError {
    McpError::new(
        StatusCode::BAD_GATEWAY,
        error_code::INTERNAL_ERROR,
        "the server's initialize response could not be read in full; initialize again",
    )
    .with_reason("initialize_response_unreadable")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The check's refusal, logged by the guard kit, answering with the
/// request's JSON-RPC id when its parsed envelope is in `extensions`.
pub(crate) fn refuse<B>(
    error: McpError,
    method: &Method,
    extensions: Option<&http::Extensions>,
) -> Step<B> {
    let error = match extensions {
        Some(extensions) => error.with_id_from(extensions),
        None => error,
    };
    Step::Answer(error.rejected_by(guard::SESSION).into_logged_answer(method))
}
