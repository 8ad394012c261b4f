//! A real rmcp server with a costly tool and a cheap one, behind the rate
//! limit, with a stand-in for bearer auth: `Authorization: Bearer <name>`
//! becomes the principal `<name>` (no header: anonymous).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test uses part of it

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::Principal;
use mcp_rate_limit::RateLimitLayer;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::Value;
use tower::{Service, ServiceBuilder, ServiceExt};

pub(crate) const ISSUER: &str = "https://as.example";

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub(crate) struct EchoRequest {
    text: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Tools;

#[tool_router]
impl Tools {
    #[tool(description = "Costs a lot to run")]
    fn expensive_tool(&self) -> String {
        "expensive result".to_owned()
    }

    #[tool(description = "Echoes its text")]
    fn echo(&self, Parameters(EchoRequest { text }): Parameters<EchoRequest>) -> String {
        text
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

pub(crate) type Rmcp = StreamableHttpService<Tools, LocalSessionManager>;

/// rmcp in stateless mode, answering in plain JSON.
pub(crate) fn rmcp_server() -> Rmcp {
    StreamableHttpService::new(
        || Ok(Tools),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None),
    )
}

/// The stand-in for bearer auth: the bearer "token" is the subject.
pub(crate) fn principal_from_bearer<B>(mut request: Request<B>) -> Request<B> {
    let subject = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    if let Some(subject) = subject {
        let principal = Principal::new().with_issuer(ISSUER).with_subject(subject);
        request.extensions_mut().insert(principal);
    }
    request
}

/// bearer stand-in → rate limit → rmcp, in process.
pub(crate) fn stack(
    limit: RateLimitLayer,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<impl http_body::Body<Data = Bytes, Error: std::fmt::Debug>>,
    Error = std::convert::Infallible,
> + Clone {
    ServiceBuilder::new()
        .map_request(principal_from_bearer)
        .layer(limit)
        .service(rmcp_server())
}

/// A legacy-era (2025-03-26: batches allowed) POST of `body` as `caller`.
pub(crate) fn post(caller: Option<&str>, body: &Value) -> Request<Full<Bytes>> {
    let mut request = Request::post("http://127.0.0.1/mcp")
        .header("host", "127.0.0.1")
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .header("mcp-protocol-version", "2025-03-26");
    if let Some(caller) = caller {
        request = request.header(AUTHORIZATION, format!("Bearer {caller}"));
    }
    request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// A `tools/call` of `tool` with request id `id`.
pub(crate) fn tool_call(id: u64, tool: &str) -> Value {
    let arguments = match tool {
        "echo" => serde_json::json!({"text": format!("hello {id}")}),
        _ => serde_json::json!({}),
    };
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    })
}

/// Status, headers, extensions and JSON body of `request`'s answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) rejection: Option<mcp_guard_core::Rejection>,
    pub(crate) body: Value,
}

pub(crate) async fn send<S, B>(service: &S, request: Request<Full<Bytes>>) -> Answer
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = std::convert::Infallible>
        + Clone,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let response = service.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let rejection = response
        .extensions()
        .get::<mcp_guard_core::Rejection>()
        .copied();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        headers,
        rejection,
        body,
    }
}
