//! Real MCP traffic through the guard: the rmcp client against an rmcp server,
//! in the stateless era (`server/discover`, `Mcp-Method`, `Mcp-Name`,
//! `Mcp-Param-*` sent by the client itself) and in the legacy era
//! (`initialize`, sessions). Nothing a conforming client sends is refused, the
//! guard learns `x-mcp-header` annotations from the `tools/list` result it saw,
//! and a forged header is then refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::GuardBody;
use mcp_protocol_guard::ProtocolGuardLayer;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, ClientConfig, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{
    ClientLifecycleMode, ClientServiceExt, ServerHandler, ServiceExt, schemars, tool, tool_handler,
    tool_router,
};
use tower::{Layer, ServiceBuilder, ServiceExt as _};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct DispatchRequest {
    /// Routed on by the gateway: mirrored into `Mcp-Param-Region`.
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
    job: String,
}

#[derive(Debug, Clone)]
struct Dispatcher;

#[tool_router]
impl Dispatcher {
    #[tool(description = "Dispatches a job to a region")]
    fn dispatch(
        &self,
        Parameters(DispatchRequest { region, job }): Parameters<DispatchRequest>,
    ) -> String {
        format!("{job} dispatched to {region}")
    }
}

#[tool_handler]
impl ServerHandler for Dispatcher {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

type Rmcp = StreamableHttpService<Dispatcher, LocalSessionManager>;

fn rmcp_service(legacy_sessions: bool) -> Rmcp {
    StreamableHttpService::new(
        || Ok(Dispatcher),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(legacy_sessions)
            .with_sse_keep_alive(None),
    )
}

/// Serves guard → (request counter) → rmcp on a loopback port.
async fn serve(guard: ProtocolGuardLayer, rmcp: Rmcp, requests: Arc<AtomicUsize>) -> String {
    let service = ServiceBuilder::new()
        .layer(guard)
        .map_request(move |request: Request<GuardBody<axum::body::Body>>| {
            requests.fetch_add(1, Ordering::SeqCst);
            request
        })
        .service(rmcp);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route_service("/mcp", service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/mcp")
}

fn dispatch_call(region: &str) -> CallToolRequestParams {
    let arguments = serde_json::json!({"region": region, "job": "nightly-backup"});
    CallToolRequestParams::new("dispatch").with_arguments(arguments.as_object().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateless_era_client_passes_and_a_forged_param_header_does_not() {
    let guard = ProtocolGuardLayer::new();
    let requests = Arc::new(AtomicUsize::new(0));
    let url = serve(guard.clone(), rmcp_service(false), requests.clone()).await;

    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url),
    );
    let client = ClientConfig::default()
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("the stateless-era client could not start through the guard");
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2026_07_28
    );

    let tools = client
        .list_tools(None)
        .await
        .expect("tools/list through the guard");
    let dispatch = tools
        .tools
        .iter()
        .find(|tool| tool.name == "dispatch")
        .unwrap();
    let region = &dispatch.input_schema["properties"]["region"];
    assert_eq!(
        region["x-mcp-header"], "Region",
        "the server must annotate the parameter"
    );

    // The client mirrors `region` into Mcp-Param-Region; plain and Base64 values alike.
    let mut header_less_calls = 0;
    for region in ["eu-west-1", "Zürich 1", " padded "] {
        let mut result = client.call_tool(dispatch_call(region)).await;
        if let Err(rmcp::ServiceError::McpError(error)) = &result {
            // rmcp's client caches tool schemas in its transport worker; about
            // one run in fifteen, its first call right after tools/list goes
            // out before the cache has the schema, without Mcp-Param-Region.
            // Refusing that call is the guard doing its job (the spec says a
            // body value without its header is refused); the retry must pass.
            assert_eq!(error.code.0, -32020, "{error:?}");
            assert!(error.message.contains("mcp-param-region"), "{error:?}");
            header_less_calls += 1;
            result = client.call_tool(dispatch_call(region)).await;
        }
        let result = result.expect("tools/call through the guard");
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(
            text.contains(&format!("nightly-backup dispatched to {region}")),
            "{text}"
        );
    }
    assert!(
        header_less_calls <= 1,
        "only a call racing the client's schema cache may lack the header"
    );
    let seen = requests.load(Ordering::SeqCst);
    assert!(
        seen >= 5,
        "discover, tools/list and three calls reached the server: {seen}"
    );
    client.cancel().await.unwrap();

    // The guard learned the annotation from the tools/list result it passed on:
    // the same call with a forged Mcp-Param-Region is now refused before the handler.
    let handler_reached = Arc::new(AtomicUsize::new(0));
    let reached = handler_reached.clone();
    let handler = tower::service_fn(move |_: Request<GuardBody<Full<Bytes>>>| {
        reached.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, std::convert::Infallible>(http::Response::new(Full::<Bytes>::default())) }
    });
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "dispatch", "arguments": {"region": "eu-west-1", "job": "x"},
                   "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                             "io.modelcontextprotocol/clientCapabilities": {}}}
    });
    let forged = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "dispatch")
        .header("mcp-param-region", "us-east-1")
        .body(Full::from(body.to_string()))
        .unwrap();
    let response = guard.layer(handler).oneshot(forged).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(error["error"]["code"], -32020);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mcp-param-region"),
        "{error}"
    );
    assert_eq!(handler_reached.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_era_client_with_sessions_passes() {
    let requests = Arc::new(AtomicUsize::new(0));
    let url = serve(
        ProtocolGuardLayer::new(),
        rmcp_service(true),
        requests.clone(),
    )
    .await;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url),
    );
    let client = ClientConfig::default()
        .serve(transport)
        .await
        .expect("legacy initialize through the guard");
    assert!(client.peer_info().unwrap().protocol_version < ProtocolVersion::V_2026_07_28);
    let result = client
        .call_tool(dispatch_call("eu-west-1"))
        .await
        .expect("tools/call through the guard");
    assert!(
        serde_json::to_string(&result.content)
            .unwrap()
            .contains("dispatched to eu-west-1")
    );
    client.cancel().await.unwrap();
    assert!(
        requests.load(Ordering::SeqCst) >= 3,
        "initialize, initialized, tools/call"
    );
}
