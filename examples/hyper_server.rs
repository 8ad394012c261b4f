//! The guards need no framework: `McpGuard::local()` in front of a hand-written
//! JSON-RPC handler (`service_fn`), served by plain hyper-util. No axum, no rmcp.
//!
//! ```text
//! cargo run --example hyper_server -- [--addr 127.0.0.1:8081]
//! ```
//!
//! It answers `initialize`, `ping`, `tools/list` and `tools/call echo` on
//! `POST /mcp` (JSON responses), and 202 to notifications. The guards mint the
//! session id, check Host/Origin, content types, protocol versions and the
//! stateless era's header–body mirror, and answer CORS preflights.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use mcp_guard::McpGuard;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = parse_addr(std::env::args().skip(1))?;
    let guard = McpGuard::local().build()?;
    let service = tower::ServiceBuilder::new().layer(guard).service_fn(handle);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    println!("MCP endpoint: http://{}/mcp", listener.local_addr()?);
    // Dropped on Ctrl-C or SIGTERM: every connection then finishes the
    // request it is serving and closes.
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut connections = tokio::task::JoinSet::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => accepted?.0,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(service.clone());
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = served {
                eprintln!("connection error: {error}");
            }
        });
    }
    drop((listener, stop));
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Ctrl-C, or SIGTERM (what `docker stop`, systemd and Kubernetes send).
async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => drop(signal.recv().await),
            Err(error) => {
                eprintln!("hyper_server: cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// The whole MCP handler: one JSON-RPC message in, one JSON response out. It is
/// generic over the request body, as any handler behind the guards should be
/// (they hand on the body they buffered while checking the envelope).
async fn handle<B>(request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: http_body::Body,
    B::Error: std::fmt::Display,
{
    if request.uri().path() != "/mcp" {
        return Ok(plain(StatusCode::NOT_FOUND, "try /mcp"));
    }
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return Ok(plain(StatusCode::BAD_REQUEST, &error.to_string())),
    };
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return Ok(plain(StatusCode::BAD_REQUEST, "the body is not JSON"));
    };
    let Some(id) = message.get("id").cloned() else {
        return Ok(plain(StatusCode::ACCEPTED, "")); // a notification
    };
    let method = message["method"].as_str().unwrap_or_default();
    let answer = match method {
        "initialize" => json!({"result": {
            "protocolVersion": message["params"]["protocolVersion"].as_str().unwrap_or("2025-11-25"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "hyper_server", "version": env!("CARGO_PKG_VERSION")}}}),
        "ping" => json!({"result": {}}),
        "tools/list" => json!({"result": {"tools": [{
            "name": "echo", "description": "Returns the text it is given.",
            "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}]}}),
        "tools/call" if message["params"]["name"] == "echo" => {
            let text = message["params"]["arguments"]["text"]
                .as_str()
                .unwrap_or_default();
            json!({"result": {"content": [{"type": "text", "text": text}]}})
        }
        _ => json!({"error": {"code": -32601, "message": format!("method {method:?} not found")}}),
    };
    let mut reply = answer;
    reply["jsonrpc"] = json!("2.0");
    reply["id"] = id;
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Reads `--addr HOST:PORT` (default `127.0.0.1:8081`).
fn parse_addr(mut args: impl Iterator<Item = String>) -> Result<SocketAddr, String> {
    let mut address = SocketAddr::from(([127, 0, 0, 1], 8081));
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args
                    .next()
                    .ok_or("--addr needs a value, e.g. 127.0.0.1:8081")?;
                address = value
                    .parse()
                    .map_err(|_| format!("--addr {value:?} is not an IP:port"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: hyper_server [--addr IP:PORT]"
                ));
            }
        }
    }
    Ok(address)
}
