//! What the sse-resume tests share: a stand-in for the session layer (this
//! crate does not depend on mcp-session), an rmcp server behind
//! protocol guard → session stand-in → sse-resume on loopback, and a small
//! in-process stack for the Redis tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Each test file uses its own part; helpers fail loudly.
// Log notifications are deprecated by SEP-2577 for later revisions, but are part
// of the 2025 revisions these streams speak: a plain stream of messages to resume.
#![allow(deprecated)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll};

use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcp_guard_core::headers::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use mcp_guard_core::{Era, Owner, Principal, ProtocolVersion, SessionContext};
use mcp_guard_test_support::emitter::Emitter;
use mcp_protocol_guard::ProtocolGuardLayer;
use mcp_sse_resume::{EventStore, MemoryEventStore, Replay, SseEvent, SseResumeLayer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

// ---------------------------------------------------------------------------
// The session layer's part, stood in for.

/// Does for these tests what the session layer (mcp-session) does for
/// sse-resume: it hands out an `Mcp-Session-Id` on a legacy-era `POST`
/// without one (the `initialize`), and on every request that carries one
/// inserts the [`SessionContext`] (id, version, owner) sse-resume reads.
///
/// It keeps no state, so two instances stacked on one event store share
/// their sessions (as two instances on one session store would): the version
/// is the request's `MCP-Protocol-Version` (which a client repeats after
/// `initialize`), the owner the request's [`Principal`]. It refuses nothing:
/// checking that a session exists and belongs to its caller is the session
/// layer's job, tested in its own crate and, stacked with sse-resume, in the
/// root crate's tests.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SessionStandInLayer;

impl<S> Layer<S> for SessionStandInLayer {
    type Service = SessionStandIn<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionStandIn { inner }
    }
}

/// The service of [`SessionStandInLayer`].
#[derive(Debug, Clone)]
pub(crate) struct SessionStandIn<S> {
    inner: S,
}

type Answer<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionStandIn<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Answer<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let minted = admit(&mut request);
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if let Some(id) = minted.filter(|_| response.status().is_success()) {
                response.headers_mut().insert(MCP_SESSION_ID, id);
            }
            Ok(response)
        })
    }
}

/// Inserts the session's context; the id to hand out when a session starts.
fn admit<B>(request: &mut Request<B>) -> Option<HeaderValue> {
    if Era::of(request) == Era::Stateless {
        return None; // that era has no sessions
    }
    let presented = request
        .headers()
        .get(MCP_SESSION_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match presented {
        Some(id) => {
            let context = session_context(request, id);
            request.extensions_mut().insert(context);
            None
        }
        None if request.method() == Method::POST => {
            Some(HeaderValue::from_str(&format!("{:032x}", rand::random::<u128>())).unwrap())
        }
        None => None,
    }
}

/// The context the session layer would insert for session `id`.
pub(crate) fn session_context<B>(request: &Request<B>, id: String) -> SessionContext {
    let version = request
        .headers()
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse().ok())
        .unwrap_or(ProtocolVersion::V2025_03_26);
    let owner = request
        .extensions()
        .get::<Principal>()
        .map_or_else(Owner::anonymous, |principal| principal.owner().clone());
    SessionContext::new(id, version, owner)
}

/// Stands in for bearer-auth: `x-test-user: alice` becomes alice's Principal.
pub(crate) fn principal_from_test_header<B>(mut request: Request<B>) -> Request<B> {
    if let Some(user) = request
        .headers()
        .get("x-test-user")
        .and_then(|value| value.to_str().ok())
    {
        let principal = Principal::new()
            .with_issuer("https://issuer.test")
            .with_subject(user)
            .with_client_id("app");
        request.extensions_mut().insert(principal);
    }
    request
}

// ---------------------------------------------------------------------------
// An rmcp server behind the layers, over real HTTP.

/// protocol guard → (a stand-in for bearer auth) → (a stand-in for the
/// session layer) → sse-resume → an rmcp server (stateless handler: no
/// resumability of its own), on loopback.
pub(crate) struct Server {
    pub(crate) url: String,
    pub(crate) client: Client<HttpConnector, Full<Bytes>>,
    pub(crate) store: MemoryEventStore,
    pub(crate) cancelled: Arc<AtomicUsize>,
}

impl Server {
    pub(crate) async fn start(resume: SseResumeLayer<MemoryEventStore>) -> Server {
        let emitter = Emitter::default();
        let cancelled = emitter.cancelled();
        let rmcp = StreamableHttpService::new(
            move || Ok(emitter.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_sse_keep_alive(None),
        );
        let store = resume
            .store()
            .cloned()
            .expect("an enabled layer has a store");
        let service = ServiceBuilder::new()
            .layer(ProtocolGuardLayer::new())
            .map_request(principal_from_test_header)
            .layer(SessionStandInLayer)
            .layer(resume)
            .service(rmcp);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().route_service("/mcp", service);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server {
            url: format!("http://{address}/mcp"),
            client: Client::builder(TokioExecutor::new()).build_http(),
            store,
            cancelled,
        }
    }

    /// A request with `headers` (`Accept` for JSON and SSE unless they say),
    /// and a JSON body if given.
    pub(crate) async fn send(
        &self,
        method: Method,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> http::Response<hyper::body::Incoming> {
        let mut request = Request::builder().method(method).uri(&self.url);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
        {
            request = request.header("accept", "application/json, text/event-stream");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Full::from(body.to_string())),
            None => request.body(Full::default()),
        };
        self.client.request(request.unwrap()).await.unwrap()
    }

    /// initialize + initialized at `version` (with `headers`, e.g. the test
    /// user); the session id.
    pub(crate) async fn initialize(&self, version: &str, headers: &[(&str, &str)]) -> String {
        let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "resumer", "version": "1"}}});
        let mut with_version = headers.to_vec();
        with_version.push(("mcp-protocol-version", version));
        let response = self
            .send(Method::POST, &with_version, Some(initialize))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        response.into_body().collect().await.unwrap();
        with_version.push(("mcp-session-id", &session));
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let response = self
            .send(Method::POST, &with_version, Some(initialized))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.into_body().collect().await.unwrap();
        session
    }
}

// ---------------------------------------------------------------------------
// In process, for the Redis tests: the layers on a canned handler.

pub(crate) const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#;
pub(crate) const CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"emit"}}"#;

/// The stack with every body collected, so a test reads whole answers.
pub(crate) type Svc =
    tower::util::BoxCloneService<Request<Full<Bytes>>, Response<Bytes>, Infallible>;

/// (a stand-in for the session layer) → sse-resume on `events` → a handler
/// that answers initialize in JSON and anything else with five SSE events.
pub(crate) fn server<St: EventStore>(events: St) -> Svc {
    let handler = tower::service_fn(|request: Request<Full<Bytes>>| async move {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let response = if body.windows(10).any(|w| w == b"initialize") {
            Response::builder()
                .header("content-type", "application/json")
                .body(Full::from(
                    r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#,
                ))
        } else {
            let events: String = (1..=5)
                .map(|n| format!("data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"n\":{n}}}}}\n\n"))
                .collect();
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Full::from(events))
        };
        Ok::<_, Infallible>(response.unwrap())
    });
    let service = ServiceBuilder::new()
        .layer(SessionStandInLayer)
        .layer(SseResumeLayer::builder(events).build())
        .service(handler);
    tower::util::BoxCloneService::new(service.and_then(|response: Response<_>| async move {
        let (parts, body) = response.into_parts();
        let bytes = BodyExt::collect(body).await.unwrap().to_bytes();
        Ok(Response::from_parts(parts, bytes))
    }))
}

/// A legacy-era (2025-06-18) POST, in `session` if given.
pub(crate) fn post(session: Option<&str>, body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18");
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.body(Full::from(body)).unwrap()
}

/// A legacy-era (2025-06-18) GET resuming `session` after `last_event_id`.
pub(crate) fn resume(session: &str, last_event_id: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri("/mcp")
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header("mcp-session-id", session)
        .header("last-event-id", last_event_id)
        .body(Full::default())
        .unwrap()
}

/// The event ids of an SSE text, in order.
pub(crate) fn ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .map(str::to_owned)
        .collect()
}

/// An event with `data`.
pub(crate) fn event(data: &str) -> SseEvent {
    SseEvent {
        data: data.to_owned(),
        ..SseEvent::default()
    }
}

/// The `(sequence, data)` of a replay's events, and whether it is closed.
pub(crate) fn datas(replay: Replay) -> (Vec<(u64, String)>, bool) {
    match replay {
        Replay::Events { events, closed } => (
            events
                .into_iter()
                .map(|(seq, event)| (seq, event.data))
                .collect(),
            closed,
        ),
        other => panic!("expected events, got {other:?}"),
    }
}
