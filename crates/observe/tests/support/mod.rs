//! A real rmcp server behind the observe layer and real guards: origin guard
//! → envelope peek → bearer auth (HS256 tokens) → rmcp, with a sink that
//! keeps every event.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test uses part of it

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer};
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use mcp_observe::{EventSink, ObserveLayer, RequestEvent};
use mcp_origin_guard::OriginGuardLayer;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use tower::util::BoxCloneService;
use tower::{ServiceBuilder, ServiceExt};

pub(crate) const RESOURCE: &str = "http://localhost/mcp";
pub(crate) const ISSUER: &str = "https://auth.example";
const SECRET: &[u8] = b"a test secret that is at least 32 bytes long";

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub(crate) struct EchoRequest {
    text: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Tools;

#[tool_router]
impl Tools {
    #[tool(description = "Echoes its text")]
    fn echo(&self, Parameters(EchoRequest { text }): Parameters<EchoRequest>) -> String {
        text
    }

    #[tool(description = "Always fails with a JSON-RPC error")]
    fn broken(&self) -> Result<String, ErrorData> {
        Err(ErrorData::internal_error("the tool broke", None))
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// How rmcp answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Era {
    /// Legacy sessions, POSTs answered with SSE.
    LegacySse,
    /// Stateless, POSTs answered with plain JSON.
    StatelessJson,
}

fn rmcp_server(era: Era) -> StreamableHttpService<Tools, LocalSessionManager> {
    StreamableHttpService::new(
        || Ok(Tools),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(era == Era::LegacySse)
            .with_json_response(era == Era::StatelessJson)
            .with_sse_keep_alive(None)
            .disable_allowed_hosts(),
    )
}

/// The sink every test reads.
#[derive(Clone, Default)]
pub(crate) struct Events(Arc<Mutex<Vec<RequestEvent>>>);

impl EventSink for Events {
    fn record(&self, event: &RequestEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Events {
    pub(crate) fn take(&self) -> Vec<RequestEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

pub(crate) type Stack =
    BoxCloneService<Request<Full<Bytes>>, Response<Bytes>, std::convert::Infallible>;

/// observe (configured by `observe`) → origin guard → envelope peek → bearer auth → rmcp.
pub(crate) fn stack(era: Era, observe: ObserveLayer) -> (Stack, Events) {
    let events = Events::default();
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(observe.sink(events.clone()))
        .layer(OriginGuardLayer::localhost())
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .layer(BearerAuthLayer::new(
            verifier,
            ProtectedResourceMetadata::new(RESOURCE, [ISSUER]),
        ))
        .service(rmcp_server(era));
    (boxed(service), events)
}

fn boxed<S, B>(service: S) -> Stack
where
    S: tower::Service<
            Request<Full<Bytes>>,
            Response = Response<B>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Debug,
{
    BoxCloneService::new(service.and_then(collect::<B>))
}

/// The whole body, read to its end (the events go out then).
async fn collect<B>(response: Response<B>) -> Result<Response<Bytes>, std::convert::Infallible>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Ok(Response::from_parts(parts, bytes))
}

pub(crate) fn token(subject: &str) -> String {
    let claims = json!({"iss": ISSUER, "sub": subject, "aud": RESOURCE,
        "client_id": "test-client", "exp": unix_now() + 600, "scope": "mcp"});
    hs256_token(&claims, SECRET)
}

/// A POST of `body` to `/mcp` with `token`, on `session` if any.
pub(crate) fn post(
    token: Option<&str>,
    session: Option<&str>,
    body: &Value,
) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .header(HOST, "localhost")
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .header("mcp-protocol-version", "2025-06-18");
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

pub(crate) fn tool_call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}})
}

pub(crate) async fn send(stack: &Stack, request: Request<Full<Bytes>>) -> Response<Bytes> {
    stack.clone().oneshot(request).await.unwrap()
}

/// A legacy session for `token`: initialize, initialized; its id.
pub(crate) async fn open_session(stack: &Stack, token: &str) -> String {
    let initialize = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}});
    let response = send(stack, post(Some(token), None, &initialize)).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    let response = send(stack, post(Some(token), Some(&session), &initialized)).await;
    assert_eq!(response.status(), 202);
    session
}
