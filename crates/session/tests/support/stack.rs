//! A real rmcp server behind the session layer, in the order
//! shared/DESIGN.md gives: (a stand-in for bearer-auth that sets the
//! `Principal` from a test header) → protocol guard → session layer → rmcp;
//! and the client side of it: requests as a given user, inside a session.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_guard_core::Principal;
use mcp_protocol_guard::ProtocolGuardLayer;
use mcp_session::store::MemorySessionStore;
use mcp_session::{Mode, SessionGuardLayer};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use tower::util::BoxCloneService;
use tower::{ServiceBuilder, ServiceExt};

use super::{INITIALIZE, INITIALIZED, LIST, collect, principal};

/// An rmcp server with one tool, `list_notes`, answering "no notes".
#[derive(Debug, Clone)]
pub struct Notes;

#[tool_router]
impl Notes {
    #[tool(description = "Lists nothing, politely")]
    fn list_notes(&self) -> String {
        "no notes".to_owned()
    }
}

#[tool_handler]
impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// rmcp serving [`Notes`] the way the session layer in `mode` needs it: rmcp
/// mints the session ids in track mode, none in issue mode.
pub fn rmcp_server(mode: Mode) -> StreamableHttpService<Notes, LocalSessionManager> {
    StreamableHttpService::new(
        || Ok(Notes),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(mode == Mode::Track)
            .with_sse_keep_alive(None),
    )
}

pub type Stack = BoxCloneService<Request<Full<Bytes>>, Response<Bytes>, Infallible>;

/// principal stand-in → protocol guard → session layer → rmcp, collecting bodies.
pub fn stack(layer: SessionGuardLayer<MemorySessionStore>) -> Stack {
    let rmcp = rmcp_server(mode_of(&layer));
    let service = ServiceBuilder::new()
        .map_request(principal_from_test_header)
        .layer(ProtocolGuardLayer::new())
        .layer(layer)
        .service(rmcp);
    BoxCloneService::new(service.and_then(collect))
}

pub fn mode_of(layer: &SessionGuardLayer<MemorySessionStore>) -> Mode {
    if format!("{layer:?}").contains("mode: Track") {
        Mode::Track
    } else {
        Mode::Issue
    }
}

pub fn both_modes() -> [SessionGuardLayer<MemorySessionStore>; 2] {
    [SessionGuardLayer::issue(), SessionGuardLayer::track()]
}

/// Stands in for bearer-auth: `x-test-user: alice` becomes a Principal
/// (`x-test-incomplete` leaves out issuer and subject, `x-test-nameless` names
/// nobody at all); without any of them the caller is anonymous.
fn principal_from_test_header(mut request: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    if let Some(user) = request
        .headers()
        .get("x-test-user")
        .and_then(|value| value.to_str().ok())
    {
        let principal = principal(user);
        request.extensions_mut().insert(principal);
    } else if request.headers().contains_key("x-test-incomplete") {
        request
            .extensions_mut()
            .insert(Principal::new().with_client_id("app"));
    } else if request.headers().contains_key("x-test-nameless") {
        request.extensions_mut().insert(Principal::new());
    }
    request
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn session_id(&self) -> Option<String> {
        self.headers
            .get("mcp-session-id")
            .map(|value| value.to_str().unwrap().to_owned())
    }

    pub fn id(&self) -> serde_json::Value {
        let json: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        json["id"].clone()
    }

    pub fn error_code(&self) -> i64 {
        let json: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        json["error"]["code"].as_i64().unwrap()
    }
}

pub async fn send(stack: &Stack, method: Method, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri("http://127.0.0.1/mcp")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = stack
        .clone()
        .oneshot(request.body(Full::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let (parts, bytes) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The headers of `user`'s request in the session `id`, speaking 2025-11-25.
pub fn in_session<'a>(user: &'a str, id: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("x-test-user", user),
        ("mcp-session-id", id),
        ("mcp-protocol-version", "2025-11-25"),
    ]
}

/// `user` initializes; the reply.
pub async fn initialize_as(stack: &Stack, user: &str) -> Reply {
    send(stack, Method::POST, &[("x-test-user", user)], INITIALIZE).await
}

/// Initializes without a principal; the reply.
pub async fn initialize_anonymously(stack: &Stack) -> Reply {
    send(stack, Method::POST, &[], INITIALIZE).await
}

/// Initializes as `user` and completes the handshake; the session id.
pub async fn open_session(stack: &Stack, user: &str) -> String {
    let reply = initialize_as(stack, user).await;
    assert_eq!(reply.status, StatusCode::OK, "initialize: {}", reply.body);
    let id = reply
        .session_id()
        .expect("a successful initialize carries Mcp-Session-Id");
    let reply = send(stack, Method::POST, &in_session(user, &id), INITIALIZED).await;
    assert_eq!(
        reply.status,
        StatusCode::ACCEPTED,
        "initialized: {}",
        reply.body
    );
    id
}

pub async fn list_tools(stack: &Stack, user: &str, id: &str) -> Reply {
    send(stack, Method::POST, &in_session(user, id), LIST).await
}
