//! A real MCP client over HTTP: the rmcp client initializes through the
//! session layer (ids minted by the layer in issue mode, by rmcp in track
//! mode), sends the id back on every request, calls a tool, and ends the
//! session with DELETE when it closes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::time::Duration;

use axum::Router;
use mcp_protocol_guard::ProtocolGuardLayer;
use mcp_session::store::MemorySessionStore;
use mcp_session::{Mode, SessionGuardLayer};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use support::stack::rmcp_server;
use tower::ServiceBuilder;

async fn serve(mode: Mode) -> (String, MemorySessionStore) {
    let rmcp = rmcp_server(mode);
    let layer = SessionGuardLayer::builder(mode, MemorySessionStore::new())
        .build()
        .unwrap();
    let store = layer.store().unwrap().clone();
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
            .call_tool(CallToolRequestParams::new("list_notes"))
            .await
            .expect("tools/call with the session id");
        assert!(
            serde_json::to_string(&result.content)
                .unwrap()
                .contains("no notes"),
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
