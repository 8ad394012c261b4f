//! The session layer and sse-resume together: a client that ends its session
//! with `DELETE` gets the session layer's `204`, and the events sse-resume
//! stored for that session go with it (the session layer hands its `DELETE`
//! to the layers inside with the session's context). protocol guard →
//! session (issue mode) → sse-resume → an rmcp server (stateless handler),
//! over real HTTP on loopback.
//!
//! Moved from mcp-sse-resume's tests, which no longer depend on mcp-session.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::sync::Arc;

use axum::Router;
use mcp_guard::protocol_guard::ProtocolGuardLayer;
use mcp_guard::session::SessionGuardLayer;
use mcp_guard::sse_resume::SseResumeLayer;
use mcp_guard_test_support::emitter::Emitter;
use reqwest::StatusCode;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tower::ServiceBuilder;

const VERSION: &str = "2025-11-25";

fn post(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let request = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", VERSION)
        .body(body.to_string());
    match session {
        Some(session) => request.header("mcp-session-id", session),
        None => request,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_the_session_purges_its_events() {
    let rmcp = StreamableHttpService::new(
        || Ok(Emitter::default()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_sse_keep_alive(None),
    );
    let resume = SseResumeLayer::new();
    let store = resume.store().cloned().unwrap();
    let service = ServiceBuilder::new()
        .layer(ProtocolGuardLayer::new())
        .layer(SessionGuardLayer::issue())
        .layer(resume)
        .service(rmcp);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let app = Router::new().route_service("/mcp", service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();

    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "ender", "version": "1"}}});
    let response = post(&http, &url, None, &initialize).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    response.bytes().await.unwrap();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = post(&http, &url, Some(&session), &initialized)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "emit", "arguments": {"count": 20}}});
    let response = post(&http, &url, Some(&session), &call)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(std::time::Duration::from_secs(20), response.text())
        .await
        .expect("the stream ends")
        .unwrap();
    assert!(text.contains("emitted 20"), "{text}");
    assert_eq!(store.stored_events(), 21);

    let response = http
        .delete(&url)
        .header("mcp-session-id", session.as_str())
        .header("mcp-protocol-version", VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        store.stored_events(),
        0,
        "the session's events went with it"
    );
}
