//! The rmcp client over real HTTP against an rmcp server behind a per-tool
//! limit: its sixth call of `expensive_tool` within a minute fails with the
//! 429 and its `Retry-After`, and the same client's `echo` calls keep
//! working, as do another client's calls of the tool.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::num::NonZeroU32;

use axum::Router;
use governor::Quota;
use mcp_rate_limit::RateLimitLayer;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use support::{principal_from_bearer, rmcp_server};
use tower::ServiceBuilder;

async fn serve(limit: RateLimitLayer) -> String {
    let service = ServiceBuilder::new()
        .map_request(principal_from_bearer)
        .layer(limit)
        .service(rmcp_server());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route_service("/mcp", service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/mcp")
}

async fn client(url: &str, caller: &str) -> RunningService<RoleClient, ClientConfig> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(caller),
    );
    ClientConfig::default()
        .serve(transport)
        .await
        .expect("initialize through the rate limit")
}

fn echo(text: &str) -> CallToolRequestParams {
    let arguments = serde_json::json!({ "text": text });
    CallToolRequestParams::new("echo").with_arguments(arguments.as_object().unwrap().clone())
}

fn text_of(result: &rmcp::model::CallToolResult) -> String {
    serde_json::to_string(&result.content).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_call_fails_with_429_and_echo_keeps_working() {
    let limit = RateLimitLayer::per_second(NonZeroU32::new(100).unwrap())
        .tool(
            "expensive_tool",
            Quota::per_minute(NonZeroU32::new(5).unwrap()),
        )
        .unwrap();
    let url = serve(limit).await;
    let alice = client(&url, "alice").await;

    for call in 1..=5 {
        let result = alice
            .call_tool(CallToolRequestParams::new("expensive_tool"))
            .await
            .unwrap_or_else(|error| panic!("call {call} within the limit: {error}"));
        assert!(text_of(&result).contains("expensive result"));
    }
    let refused = alice
        .call_tool(CallToolRequestParams::new("expensive_tool"))
        .await
        .expect_err("the sixth call within a minute is over the limit");
    let refused = format!("{refused:?}");
    assert!(refused.contains("429"), "{refused}");
    assert!(
        refused.to_lowercase().contains("retry"),
        "the client sees the Retry-After: {refused}"
    );

    let echoed = alice
        .call_tool(echo("still here"))
        .await
        .expect("echo is not limited");
    assert!(text_of(&echoed).contains("still here"));

    let bob = client(&url, "bob").await;
    let result = bob
        .call_tool(CallToolRequestParams::new("expensive_tool"))
        .await
        .expect("bob has his own budget");
    assert!(text_of(&result).contains("expensive result"));

    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
}
