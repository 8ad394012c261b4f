use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use mcp_guard_core::headers::LAST_EVENT_ID;
use mcp_guard_core::{
    BoxError, Era, McpError, ProtocolVersion, RpcEnvelope, RpcId, error_code, guard,
    truncated_for_display,
};
use mcp_session::{Binding, Session};
use tower_service::Service;

use crate::EventId;
use crate::body::ResumeBody;
use crate::future::ResponseFuture;
use crate::layer::Settings;
use crate::replay::{Drains, ReaderOptions, reader_body, spawn_drain};
use crate::store::{EventStore, Replay, StoreError, StreamKey};

/// Middleware that makes the handler's SSE responses resumable. Made by
/// [`SseResumeLayer`](crate::SseResumeLayer).
pub struct SseResume<S, St> {
    pub(crate) inner: S,
    pub(crate) store: Arc<St>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) drains: Arc<Drains>,
}

impl<S: Clone, St> Clone for SseResume<S, St> {
    fn clone(&self) -> Self {
        SseResume {
            inner: self.inner.clone(),
            store: self.store.clone(),
            settings: self.settings.clone(),
            drains: self.drains.clone(),
        }
    }
}

impl<S: std::fmt::Debug, St> std::fmt::Debug for SseResume<S, St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseResume")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, St, ReqBody, ResBody> Service<Request<ReqBody>> for SseResume<S, St>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    St: EventStore,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResumeBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if Era::of(&request) == Era::Stateless {
            // No ids, no replay; keep-alives, and a disconnect drops the
            // handler's body (nothing keeps running).
            return ResponseFuture::stateless(self.inner.call(request), self.settings.keep_alive);
        }
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            // No session to scope events to: nothing to resume.
            return ResponseFuture::passthrough(self.inner.call(request));
        };
        let clone = self.inner.clone();
        let resumable = Resumable {
            inner: std::mem::replace(&mut self.inner, clone),
            shared: Shared {
                store: self.store.clone(),
                settings: self.settings.clone(),
                drains: self.drains.clone(),
                session,
            },
        };
        ResponseFuture::boxed(Box::pin(resumable.handle(request)))
    }
}

struct Resumable<S, St> {
    inner: S,
    shared: Shared<St>,
}

/// Everything but the handler: `Sync`, so it may be borrowed across awaits.
struct Shared<St> {
    store: Arc<St>,
    settings: Arc<Settings>,
    drains: Arc<Drains>,
    session: Session,
}

type Answer<B, E> = Result<Response<ResumeBody<B>>, E>;

impl<S, St> Resumable<S, St>
where
    St: EventStore,
{
    async fn handle<ReqBody, ResBody>(
        mut self,
        request: Request<ReqBody>,
    ) -> Answer<ResBody, S::Error>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        ResBody: Body<Data = Bytes> + Send + 'static,
        ResBody::Error: Into<BoxError>,
    {
        let method = request.method().clone();
        if method == Method::DELETE {
            // The session ends: its events go with it.
            if let Err(error) = self
                .shared
                .store
                .purge_session(self.shared.session.id().as_str())
                .await
            {
                tracing::warn!(
                    error = error.message(),
                    "events of an ended session were not purged; the TTL will"
                );
            }
            return Ok(self.inner.call(request).await?.map(ResumeBody::handler));
        }
        if method == Method::GET
            && let Some(last_event_id) = request.headers().get(LAST_EVENT_ID).cloned()
        {
            return Ok(self.shared.resume(&last_event_id).await);
        }
        // Kept for a refusal after the handler answered: it names the request.
        let rpc_id = request
            .extensions()
            .get::<RpcEnvelope>()
            .and_then(RpcEnvelope::request_id)
            .cloned();
        let response = self.inner.call(request).await?;
        if !is_event_stream(&response) {
            return Ok(response.map(ResumeBody::handler));
        }
        Ok(self.shared.make_resumable(response, rpc_id).await)
    }
}

impl<St: EventStore> Shared<St> {
    /// Stores the handler's stream as it comes, and answers with the reader.
    async fn make_resumable<B>(
        &self,
        response: Response<B>,
        rpc_id: Option<RpcId>,
    ) -> Response<ResumeBody<B>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let owner = owner_key(self.session.binding());
        let stream = match self
            .store
            .open_stream(self.session.id().as_str(), &owner)
            .await
        {
            Ok(stream) => stream,
            Err(error) => return unavailable(&error, rpc_id),
        };
        let key = StreamKey {
            session: self.session.id().as_str().to_owned(),
            stream,
        };
        let (mut parts, body) = response.into_parts();
        let guard = spawn_drain(
            self.store.clone(),
            self.drains.clone(),
            key.clone(),
            body,
            self.settings.max_event_bytes,
            self.settings.drain_timeout,
            self.settings.max_unread_events,
        );
        let reader = reader_body(
            self.store.clone(),
            key,
            0,
            self.reader_options(true),
            Some(guard),
        );
        parts.headers.remove(CONTENT_LENGTH);
        Response::from_parts(parts, ResumeBody::from_store(reader))
    }

    /// A `GET` with `Last-Event-ID`: the events after it, on that stream of
    /// this session only, then live.
    async fn resume<B>(&self, last_event_id: &HeaderValue) -> Response<ResumeBody<B>> {
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
            session: self.session.id().as_str().to_owned(),
            stream: id.stream().clone(),
        };
        match self.store.read_after(&key, id.seq(), 0).await {
            Err(error) => unavailable(&error, None),
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
                let guard = self.drains.attach(&key);
                let reader = reader_body(
                    self.store.clone(),
                    key,
                    id.seq(),
                    self.reader_options(false),
                    guard,
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
        let primes = self
            .session
            .protocol_version()
            .and_then(|text| text.parse::<ProtocolVersion>().ok())
            .is_some_and(|version| version >= ProtocolVersion::V2025_11_25);
        let polling = self.settings.polling;
        ReaderOptions {
            priming: primes && new_stream,
            retry: primes.then_some(self.settings.retry),
            keep_alive: self.settings.keep_alive,
            poll_after_events: polling.after_events.filter(|_| primes),
            poll_after: polling.after.filter(|_| primes),
            batch: self.settings.replay_batch,
        }
    }
}

/// Whose budget a session's events count against: the principal the session
/// layer bound the session to (only that principal ever gets this session).
/// Anonymous sessions share one key: nothing tells their callers apart, and
/// a key per anonymous session would hand an anonymous flooder a budget per
/// session it opens; shared, they cannot crowd out a named principal.
fn owner_key(binding: &Binding) -> String {
    if binding.is_anonymous() {
        return "anonymous".to_owned();
    }
    // Length-prefixed parts: no two bindings share a key.
    let part = |value: Option<&str>| {
        value.map_or_else(
            || "-".to_owned(),
            |value| format!("{}:{value}", value.len()),
        )
    };
    format!(
        "principal {} {} {}",
        part(binding.issuer()),
        part(binding.subject()),
        part(binding.client_id())
    )
}

pub(crate) fn is_event_stream<B>(response: &Response<B>) -> bool {
    response.status().is_success()
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("text/event-stream")
            })
}

fn refuse<B>(status: StatusCode, reason: &'static str, message: String) -> Response<ResumeBody<B>> {
    // A stale or foreign id after a restart or an expiry: the client's to
    // handle (open a new stream), not the operator's.
    tracing::info!(status = status.as_u16(), reason = %message, "sse-resume refused a resume");
    McpError::new(status, error_code::INVALID_REQUEST, message)
        .with_reason(reason)
        .rejected_by(guard::SSE_RESUME)
        .into_response_with(ResumeBody::full)
}

fn unavailable<B>(error: &StoreError, rpc_id: Option<RpcId>) -> Response<ResumeBody<B>> {
    tracing::error!(error = error.message(), "event store unavailable");
    error
        .rejection("event store")
        .with_id(rpc_id)
        .rejected_by(guard::SSE_RESUME)
        .into_response_with(ResumeBody::full)
}

#[cfg(test)]
mod tests {
    use mcp_guard_core::Principal;

    use super::*;

    #[test]
    fn each_principal_has_its_own_key_and_the_anonymous_share_one() {
        let of = |issuer: Option<&str>, subject: Option<&str>, client: Option<&str>| {
            let mut principal = Principal::new();
            if let Some(issuer) = issuer {
                principal = principal.with_issuer(issuer);
            }
            if let Some(subject) = subject {
                principal = principal.with_subject(subject);
            }
            if let Some(client) = client {
                principal = principal.with_client_id(client);
            }
            owner_key(&Binding::of(&principal))
        };
        let keys = [
            of(Some("https://a"), Some("alice"), Some("app")),
            of(Some("https://a"), Some("alice"), None),
            of(Some("https://a"), Some("bob"), Some("app")),
            of(Some("https://b"), Some("alice"), Some("app")),
            // Parts that would run together without their lengths.
            of(Some("https://a 5:alice"), None, Some("app")),
            of(None, None, Some("app")),
            of(None, None, Some("")),
        ];
        let distinct: std::collections::HashSet<&String> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
        assert_eq!(owner_key(&Binding::anonymous()), "anonymous");
        assert!(!keys.contains(&"anonymous".to_owned()));
    }
}
