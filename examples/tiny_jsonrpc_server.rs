//! A tiny JSON-RPC handler behind the origin guard, the CORS preset, the
//! protocol guard, the session layer (which mints the session ids) and resumable
//! SSE, on 127.0.0.1: the README's
//! main job until the full MCP example server arrives.
//!
//! ```text
//! cargo run --release --example tiny_jsonrpc_server -- [--addr 127.0.0.1:8080]
//! ```
//!
//! It answers `initialize`, `ping` and `tools/list` on `POST /mcp`, and 202 to
//! notifications. Try a DNS-rebinding request:
//!
//! ```text
//! curl -i http://127.0.0.1:8080/mcp -H 'Host: attacker.example:8080' -H 'Content-Type: application/json' \
//!     -H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","id":1,"method":"ping"}'
//! ```

use std::net::SocketAddr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mcp_guard::cors::McpCorsLayer;
use mcp_guard::origin_guard::OriginGuardLayer;
use mcp_guard::protocol_guard::ProtocolGuardLayer;
use mcp_guard::session::SessionLayer;
use mcp_guard::sse_resume::SseResumeLayer;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let address = parse_addr(std::env::args().skip(1))?;

    let app = axum::Router::new()
        .route("/mcp", post(handle))
        // axum applies the last `.layer` outermost: the origin guard runs first.
        .layer(SseResumeLayer::new())
        .layer(SessionLayer::issue())
        .layer(ProtocolGuardLayer::new())
        .layer(McpCorsLayer::localhost())
        .layer(OriginGuardLayer::localhost());

    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(
        "tiny JSON-RPC server on http://{}/mcp (origin guard and CORS: localhost preset; protocol guard; sessions and resumable SSE in memory)",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Reads `--addr HOST:PORT` (default `127.0.0.1:8080`).
fn parse_addr(mut args: impl Iterator<Item = String>) -> Result<SocketAddr, String> {
    let mut address = SocketAddr::from(([127, 0, 0, 1], 8080));
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args
                    .next()
                    .ok_or("--addr needs a value, e.g. 127.0.0.1:8080")?;
                address = value
                    .parse()
                    .map_err(|_| format!("--addr {value:?} is not an IP:port"))?;
            }
            "-h" | "--help" => {
                println!("usage: tiny_jsonrpc_server [--addr 127.0.0.1:8080]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(address)
}

async fn handle(Json(message): Json<Value>) -> Response {
    let id = message.get("id").cloned();
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(id) = id else {
        // A notification (or a response): nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match method {
        "initialize" => json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "tiny_jsonrpc_server", "version": env!("CARGO_PKG_VERSION")}
        }),
        "ping" => json!({}),
        "tools/list" => json!({"tools": []}),
        _ => {
            return Json(json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32601, "message": format!("method {method:?} not found")}
            }))
            .into_response();
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}
