//! An rmcp server on axum behind `McpGuard::local()`: `cargo run --example axum_rmcp -- [ADDR]`.
//! In a project of its own it needs `mcp-guard`, `axum`, `serde`,
//! `tokio` (features `macros`, `rt-multi-thread`, `signal`) and `rmcp`
//! (features `server`, `macros`, `transport-streamable-http-server`).

use std::sync::Arc;

use axum::{Router, routing::get};
use mcp_guard::McpGuard;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_router};
use tokio::signal::unix::{SignalKind, signal};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: f64,
    b: f64,
}

#[derive(Clone)]
struct Calculator;

#[tool_router(server_handler)]
impl Calculator {
    #[tool(description = "Returns the sum of a and b.")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    // The guards check Host and own sessions: rmcp's own Host check would
    // refuse hosts the guard admits, and its sessions would clash with them.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_legacy_session_mode(false);
    let stop_streams = config.cancellation_token.clone();
    let sessions = Arc::new(LocalSessionManager::default()); // unused: sessions are off
    let mcp = StreamableHttpService::new(|| Ok(Calculator), sessions, config);
    // On the internet (feature `remote`), the guards also answer the RFC 9728
    // document at /.well-known/oauth-protected-resource/mcp: McpGuard::remote(
    // "https://mcp.example.com/mcp").issuer("https://auth.example.com").
    let guard = McpGuard::local().endpoint("/mcp").build()?;
    let app = Router::new()
        .route_service("/mcp", mcp)
        .route("/healthz", get(|| async { "ok" }))
        .layer(guard); // guards /mcp only: /healthz answers any Host
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("MCP endpoint: http://{}/mcp", listener.local_addr()?);
    let mut terminate = signal(SignalKind::terminate())?;
    let stop = async move {
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = terminate.recv() => {} }
        stop_streams.cancel(); // ends open SSE streams, so shutdown is prompt
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    Ok(())
}
