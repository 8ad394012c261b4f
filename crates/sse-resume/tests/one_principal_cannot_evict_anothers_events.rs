//! One principal flooding its own streams cannot evict another principal's
//! events: through protocol guard → (a stand-in for bearer auth) → session →
//! sse-resume → an rmcp server, over real HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Test helpers fail loudly by design.
// Log notifications are deprecated by SEP-2577 for later revisions, but are part
// of the 2025 revisions these streams speak.
#![allow(deprecated)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcp_guard_core::Principal;
use mcp_protocol_guard::ProtocolGuardLayer;
use mcp_session::SessionGuardLayer;
use mcp_sse_resume::{EventStoreLimits, MemoryEventStore, SseResumeLayer};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, LoggingLevel,
    LoggingMessageNotificationParam, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tower::ServiceBuilder;

const VERSION: &str = "2025-11-25";

/// `emit {count, size}` sends `count` log notifications of `size` bytes of
/// padding each, then its result.
#[derive(Clone, Default)]
struct Emitter;

impl ServerHandler for Emitter {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_logging()
                .build(),
        )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let count = arguments.get("count").and_then(Value::as_u64).unwrap_or(0);
        let size = arguments.get("size").and_then(Value::as_u64).unwrap_or(0);
        let pad = "x".repeat(usize::try_from(size).unwrap());
        for seq in 0..count {
            let log = LoggingMessageNotificationParam::new(
                LoggingLevel::Info,
                json!({ "seq": seq, "pad": pad }),
            );
            context
                .peer
                .notify_logging_message(log)
                .await
                .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(format!("emitted {count}"))]).into())
    }
}

/// Stands in for bearer-auth: `x-test-user: alice` becomes alice's Principal.
fn principal_from_test_header<B>(mut request: Request<B>) -> Request<B> {
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

struct Server {
    url: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

async fn start(store: MemoryEventStore) -> Server {
    let rmcp = StreamableHttpService::new(
        || Ok(Emitter),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_sse_keep_alive(None),
    );
    let service = ServiceBuilder::new()
        .layer(ProtocolGuardLayer::new())
        .map_request(principal_from_test_header)
        .layer(SessionGuardLayer::issue())
        .layer(SseResumeLayer::builder(store).build())
        .service(rmcp);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route_service("/mcp", service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        url: format!("http://{address}/mcp"),
        client: Client::builder(TokioExecutor::new()).build_http(),
    }
}

/// The events of an SSE body, read to its end: `(id, data)`, priming left out.
async fn events(body: hyper::body::Incoming) -> Vec<(String, Value)> {
    let bytes = tokio::time::timeout(Duration::from_secs(20), body.collect())
        .await
        .expect("the stream ends")
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let id = block.lines().find_map(|line| line.strip_prefix("id: "))?;
            let data = block.lines().find_map(|line| line.strip_prefix("data: "))?;
            let data = serde_json::from_str(data).ok()?;
            Some((id.to_owned(), data))
        })
        .collect()
}

fn is_result(data: &Value) -> bool {
    data["id"] == 2 && data["result"]["content"][0]["text"] == "emitted 3"
}

impl Server {
    async fn send(
        &self,
        user: &str,
        method: Method,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> http::Response<hyper::body::Incoming> {
        let mut request = Request::builder().method(method).uri(&self.url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .header("x-test-user", user)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", VERSION);
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Full::from(body.to_string())),
            None => request.body(Full::default()),
        };
        self.client.request(request.unwrap()).await.unwrap()
    }

    /// initialize + initialized as `user`; the session id.
    async fn open_session(&self, user: &str) -> String {
        let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": user, "version": "1"}}});
        let response = self.send(user, Method::POST, &[], Some(initialize)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        response.into_body().collect().await.unwrap();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let response = self
            .send(
                user,
                Method::POST,
                &[("mcp-session-id", &session)],
                Some(initialized),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        session
    }

    /// Calls `emit` and reads its stream to the end.
    async fn emit(&self, user: &str, session: &str, count: u64, size: u64) -> Vec<(String, Value)> {
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "emit", "arguments": {"count": count, "size": size}}});
        let response = self
            .send(
                user,
                Method::POST,
                &[("mcp-session-id", session)],
                Some(call),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        events(response.into_body()).await
    }

    async fn resume(
        &self,
        user: &str,
        session: &str,
        last_event_id: &str,
    ) -> (StatusCode, hyper::body::Incoming) {
        let response = self
            .send(
                user,
                Method::GET,
                &[
                    ("mcp-session-id", session),
                    ("last-event-id", last_event_id),
                ],
                None,
            )
            .await;
        (response.status(), response.into_body())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_victims_result_stays_resumable_while_another_principal_floods() {
    // 64 KiB overall, 16 KiB per principal; the flood below is twice the store.
    let store = MemoryEventStore::new(EventStoreLimits {
        max_bytes_per_principal: 16 * 1024,
        max_total_bytes: 64 * 1024,
        ..EventStoreLimits::default()
    })
    .unwrap();
    let server = start(store).await;

    // Bob's call finishes; he has read its first event only (say his
    // connection dropped) and will resume for the result later.
    let bob = server.open_session("bob").await;
    let seen = server.emit("bob", &bob, 3, 100).await;
    assert!(is_result(&seen.last().unwrap().1), "{seen:?}");
    let first = seen.first().unwrap().0.clone();

    // Mallory floods streams of her own: 2 sessions × 8 calls × 9 KiB, each
    // call within her budget, all of them twice the store.
    let mut mallory_first = None;
    for _ in 0..2 {
        let session = server.open_session("mallory").await;
        for _ in 0..8 {
            let flood = server.emit("mallory", &session, 8, 1000).await;
            assert_eq!(flood.len(), 9, "the flood itself is delivered");
            mallory_first.get_or_insert((session.clone(), flood[0].0.clone()));
        }
    }

    let (status, body) = server.resume("bob", &bob, &first).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "bob's stored stream survives the flood"
    );
    let rest = events(body).await;
    assert_eq!(
        rest.len(),
        3,
        "bob gets every event after his cursor: {rest:?}"
    );
    assert!(
        is_result(&rest.last().unwrap().1),
        "bob's result is still there"
    );

    // The flood cost the flooder: her own oldest events went.
    let (session, id) = mallory_first.unwrap();
    let (status, _) = server.resume("mallory", &session, &id).await;
    assert!(
        status == StatusCode::GONE || status == StatusCode::BAD_REQUEST,
        "the flooder's own oldest stream paid for the flood: {status}"
    );
}
