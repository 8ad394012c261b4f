use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use mcp_guard_core::headers::LAST_EVENT_ID;
use mcp_guard_core::{
    BoxError, Era, McpError, ProtocolVersion, RpcEnvelope, RpcId, SessionContext, Severity,
    Verdict, error_code, guard, truncated_for_display,
};
use tower_service::Service;

use crate::EventId;
use crate::body::ResumeBody;
use crate::future::{PurgeCheck, ResponseFuture, StoreFuture, Then};
use crate::layer::Resuming;
use crate::replay::{ReaderOptions, reader_body, start_drain};
use crate::store::{EventStore, Replay, StoreError, StreamKey};

/// Middleware that makes the handler's SSE responses resumable. Made by
/// [`SseResumeLayer`](crate::SseResumeLayer); a
/// [disabled](crate::SseResumeLayer::disabled) one passes everything through.
pub struct SseResume<S, St> {
    pub(crate) inner: S,
    /// `None`: [disabled](crate::SseResumeLayer::disabled).
    pub(crate) resuming: Option<Resuming<St>>,
}

impl<S: Clone, St> Clone for SseResume<S, St> {
    fn clone(&self) -> Self {
        SseResume {
            inner: self.inner.clone(),
            resuming: self.resuming.clone(),
        }
    }
}

impl<S: std::fmt::Debug, St> std::fmt::Debug for SseResume<S, St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseResume")
            .field("inner", &self.inner)
            .field("enabled", &self.resuming.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, St, ReqBody, ResBody> Service<Request<ReqBody>> for SseResume<S, St>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    St: EventStore,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResumeBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody, St>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(resuming) = &self.resuming else {
            // Switched off: nothing read, nothing stored, nothing logged.
            return ResponseFuture::handler(self.inner.call(request), Then::Pass);
        };
        if Era::of(&request) == Era::Stateless {
            // No ids, no replay; keep-alives, and a disconnect drops the
            // handler's body (nothing keeps running).
            let then = Then::KeepAlive(resuming.settings.keep_alive);
            return ResponseFuture::handler(self.inner.call(request), then);
        }
        let Some(session) = request.extensions().get::<SessionContext>().cloned() else {
            // No session to scope events to: nothing to resume.
            return ResponseFuture::handler(self.inner.call(request), Then::Pass);
        };
        let resumable = Resumable {
            resuming: resuming.clone(),
            session,
            method: request.method().clone(),
            // Kept for a refusal after the handler answered: it names the request.
            rpc_id: request
                .extensions()
                .get::<RpcEnvelope>()
                .and_then(RpcEnvelope::request_id)
                .cloned(),
        };
        if request.method() == Method::DELETE {
            // The session ends: its events go with it, then the handler hears of it.
            let inner = mcp_guard_core::take_ready(&mut self.inner);
            return ResponseFuture::after_purge(resumable.purge(request), inner);
        }
        if request.method() == Method::GET
            && let Some(last_event_id) = request.headers().get(LAST_EVENT_ID).cloned()
        {
            return ResponseFuture::store(resumable.resume(last_event_id));
        }
        let then = Then::Resume(resumable);
        ResponseFuture::handler(self.inner.call(request), then)
    }
}

/// A request of a live legacy-era session: what its event streams need.
pub(crate) struct Resumable<St> {
    resuming: Resuming<St>,
    session: SessionContext,
    method: Method,
    rpc_id: Option<RpcId>,
}

impl<St: EventStore> Resumable<St> {
    /// Purges the session's events, then passes the `DELETE` on.
    fn purge<B: Send + 'static>(self, request: Request<B>) -> PurgeCheck<B> {
        Box::pin(async move {
            if let Err(error) = self.resuming.store.purge_session(self.session.id()).await {
                tracing::warn!(
                    error = error.message(),
                    "events of an ended session were not purged; the TTL will"
                );
            }
            Verdict::Pass(request)
        })
    }

    /// Stores the handler's stream as it comes, and answers with the reader.
    pub(crate) async fn store_stream<B>(
        self,
        response: Response<mcp_guard_core::GuardBody<B>>,
    ) -> Response<ResumeBody<B>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let Resuming {
            store,
            settings,
            drains,
        } = &self.resuming;
        // The session's owner pays for its events: only that principal ever
        // gets this session, and anonymous sessions share one budget.
        let stream = match store
            .open_stream(self.session.id(), self.session.owner().key())
            .await
        {
            Ok(stream) => stream,
            Err(error) => return unavailable(&error, self.rpc_id, &self.method),
        };
        let key = StreamKey {
            session: self.session.shared_id().clone(),
            stream,
        };
        let (mut parts, body) = response.into_parts();
        let (guard, drain) = start_drain(
            store.clone(),
            drains.clone(),
            key.clone(),
            body,
            settings.max_event_bytes,
            settings.drain_timeout,
            settings.max_unread_events,
        );
        let reader = reader_body(
            store.clone(),
            key,
            0,
            self.reader_options(true),
            Some(guard),
            Some(drain),
        );
        parts.headers.remove(CONTENT_LENGTH);
        Response::from_parts(parts, ResumeBody::from_store(reader))
    }

    /// A `GET` with `Last-Event-ID`: the events after it, on that stream of
    /// this session only, then live.
    fn resume<B>(self, last_event_id: HeaderValue) -> StoreFuture<B>
    where
        B: Send + 'static,
    {
        Box::pin(async move { self.replay(&last_event_id).await })
    }

    async fn replay<B>(&self, last_event_id: &HeaderValue) -> Response<ResumeBody<B>> {
        let shown = truncated_for_display(last_event_id.as_bytes());
        let Some(id) = last_event_id
            .to_str()
            .ok()
            .and_then(|text| text.parse::<EventId>().ok())
        else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "event_id_malformed",
                format!(
                    "Last-Event-ID \"{shown}\" is not an event id of this server; resume with the id of the last event received, or open a new stream with a GET without Last-Event-ID"
                ),
            );
        };
        let key = StreamKey {
            session: self.session.shared_id().clone(),
            stream: id.stream().clone(),
        };
        let Resuming { store, drains, .. } = &self.resuming;
        match store.read_after(&key, id.seq(), 0).await {
            Err(error) => unavailable(&error, None, &Method::GET),
            Ok(Replay::Unknown) => refuse(
                StatusCode::BAD_REQUEST,
                "event_id_unknown",
                format!(
                    "Last-Event-ID \"{shown}\" names no event of this session's streams (unknown, expired, or not yours); open a new stream with a GET without Last-Event-ID"
                ),
            ),
            Ok(Replay::Evicted { oldest_kept }) => refuse(
                StatusCode::GONE,
                "events_evicted",
                format!(
                    "the events right after \"{shown}\" were evicted (the server's event caps or TTL; the oldest kept is {}); they cannot be replayed, open a new stream",
                    EventId::new(id.stream().clone(), oldest_kept)
                ),
            ),
            Ok(Replay::Events { .. }) => {
                let guard = drains.attach(&key);
                let reader = reader_body(
                    store.clone(),
                    key,
                    id.seq(),
                    self.reader_options(false),
                    guard,
                    None,
                );
                let mut response = Response::new(ResumeBody::from_store(reader));
                let headers = response.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response
            }
        }
    }

    fn reader_options(&self, new_stream: bool) -> ReaderOptions {
        let primes = self.session.protocol_version() >= ProtocolVersion::V2025_11_25;
        let settings = &self.resuming.settings;
        let polling = settings.polling;
        ReaderOptions {
            priming: primes && new_stream,
            retry: primes.then_some(settings.retry),
            keep_alive: settings.keep_alive,
            poll_after_events: polling.after_events.filter(|_| primes),
            poll_after: polling.after.filter(|_| primes),
            batch: settings.replay_batch,
        }
    }
}

/// A resume the client must not retry as it is (a stale or foreign id after
/// a restart or an expiry): the client's to handle, logged as expected.
fn refuse<B>(status: StatusCode, reason: &'static str, message: String) -> Response<ResumeBody<B>> {
    McpError::new(status, error_code::INVALID_REQUEST, message)
        .with_reason(reason)
        .rejected_by(guard::SSE_RESUME)
        .into_logged_response(&Method::GET)
        .map(ResumeBody::guard)
}

/// The store is down: `503` with its retry hint, for the operator to act on.
fn unavailable<B>(
    error: &StoreError,
    rpc_id: Option<RpcId>,
    method: &Method,
) -> Response<ResumeBody<B>> {
    tracing::error!(error = error.message(), "event store unavailable");
    error
        .rejection("event store")
        .with_id(rpc_id)
        .with_severity(Severity::Operator)
        .rejected_by(guard::SSE_RESUME)
        .into_logged_response(method)
        .map(ResumeBody::guard)
}
