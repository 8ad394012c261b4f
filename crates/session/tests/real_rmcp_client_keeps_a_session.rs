//! A real MCP client over HTTP: the rmcp client initializes through the
//! session layer (ids minted by the layer in issue mode, by rmcp in track
//! mode), sends the id back on every request, calls a tool, and ends the
//! session with DELETE when it closes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use mcp_protocol_guard::ProtocolGuardLayer;
use mcp_session::store::MemorySessionStore;
use mcp_session::{Mode, SessionGuardLayer};
use rmcp::model::{CallToolRequestParams, ClientConfig, ServerCapabilities, ServerConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use tower::ServiceBuilder;

#[derive(Debug, Clone)]
struct Clock;

#[tool_router]
impl Clock {
    #[tool(description = "Says what time it is, roughly")]
    fn now(&self) -> String {
        "tea time".to_owned()
    }
}

#[tool_handler]
impl ServerHandler for Clock {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

async fn serve(mode: Mode) -> (String, MemorySessionStore) {
    let rmcp = StreamableHttpService::new(
        || Ok(Clock),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(mode == Mode::Track)
            .with_sse_keep_alive(None),
    );
    let layer = SessionGuardLayer::builder(mode, MemorySessionStore::new())
        .build()
        .unwrap();
    let store = layer.store().clone();
    let service = ServiceBuilder::new()
        .layer(ProtocolGuardLayer::new())
        .layer(layer)
        .service(rmcp);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route_service("/mcp", service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/mcp"), store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_keeps_and_ends_a_session_in_both_modes() {
    for mode in [Mode::Issue, Mode::Track] {
        let (url, store) = serve(mode).await;
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(url),
        );
        let client = ClientConfig::default()
            .serve(transport)
            .await
            .expect("initialize through the session layer");
        assert_eq!(
            store.live_sessions().await,
            1,
            "{mode:?}: one session, created by initialize"
        );

        let result = client
            .call_tool(CallToolRequestParams::new("now"))
            .await
            .expect("tools/call with the session id");
        assert!(
            serde_json::to_string(&result.content)
                .unwrap()
                .contains("tea time"),
            "{mode:?}"
        );
        let tools = client
            .list_tools(None)
            .await
            .expect("tools/list with the session id");
        assert_eq!(tools.tools.len(), 1, "{mode:?}");

        client.cancel().await.unwrap();
        // The client ends its session with DELETE as it closes.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.live_sessions().await != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{mode:?}: the session outlived the client's DELETE"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
