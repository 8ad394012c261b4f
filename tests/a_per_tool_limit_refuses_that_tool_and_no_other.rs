//! A per-tool rate limit, through the example server (remote preset,
//! `--tool-rate-limit add=3/minute`) with real clients: a caller's fourth
//! `add` within the minute is `429` with `Retry-After` and a JSON-RPC error
//! naming the tool, while `echo` keeps working and another caller still has
//! its own three `add`s. With the rmcp client (and raw HTTP for the status
//! and headers) and the official Python SDK, in both protocol eras.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceError};
use serde_json::{Value, json};
use support::{ExampleServer, rmcp_client};

/// Calls of `add` each caller may make per minute.
const CALLS: u64 = 3;

fn start() -> ExampleServer {
    ExampleServer::start(&["--preset", "remote", "--tool-rate-limit", "add=3/minute"])
}

async fn signed_in(
    url: &str,
    token: &str,
    stateless: bool,
) -> RunningService<RoleClient, ClientConfig> {
    let config =
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token.to_owned());
    rmcp_client::connect(
        ClientConfig::default(),
        StreamableHttpClientTransport::from_config(config),
        stateless,
    )
    .await
    .expect("the rmcp client connects")
}

async fn call(
    client: &RunningService<RoleClient, ClientConfig>,
    name: &'static str,
    arguments: Value,
) -> Result<String, ServiceError> {
    let params =
        CallToolRequestParams::new(name).with_arguments(arguments.as_object().unwrap().clone());
    let result = client.call_tool(params).await?;
    Ok(result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.clone()))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_is_refused_the_limited_tool_and_served_the_others() {
    for stateless in [false, true] {
        // A fresh server per era: the minute's budget is the server's.
        let server = start();
        let token = server.token_with_scope("mcp").await;
        let client = signed_in(&server.url, &token, stateless).await;
        for n in 0..CALLS {
            assert_eq!(
                call(&client, "add", json!({"a": 1, "b": n})).await.unwrap(),
                (1 + n).to_string()
            );
        }
        let refused = call(&client, "add", json!({"a": 1, "b": 1}))
            .await
            .expect_err("the fourth add is over the limit");
        let message = refused.to_string();
        // rmcp's client reports the status alone; raw HTTP below reads the body.
        assert!(message.contains("429"), "stateless {stateless}: {message}");
        assert_eq!(
            call(&client, "echo", json!({"text": "still served"}))
                .await
                .unwrap(),
            "still served"
        );

        // The status, Retry-After and the JSON-RPC error, as raw HTTP sees them.
        let http = reqwest::Client::new();
        let body = json!({"jsonrpc": "2.0", "id": 41, "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1, "b": 1},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
                    "io.modelcontextprotocol/clientCapabilities": {}}}});
        let response = http
            .post(&server.url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "add")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["id"], 41, "{error}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains("add"),
            "{error}"
        );
        assert_eq!(error["error"]["data"]["tool"], "add", "{error}");

        // Another caller has a budget of its own.
        let other = signed_in(
            &server.url,
            &server.token_with_scope("mcp").await,
            stateless,
        )
        .await;
        assert_eq!(
            call(&other, "add", json!({"a": 2, "b": 2})).await.unwrap(),
            "4"
        );
        client.cancel().await.unwrap();
        other.cancel().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_is_refused_the_limited_tool_and_served_the_others() {
    for mode in ["legacy", "2026-07-28"] {
        let server = start();
        let token = server.token_with_scope("mcp").await;
        let url = server.url.clone();
        let report = tokio::task::spawn_blocking(move || tool_limit_client(&url, mode, &token))
            .await
            .unwrap();
        let allowed = report["allowed"].as_array().unwrap();
        assert_eq!(allowed.len() as u64, CALLS, "{mode}: {report}");
        for (n, answer) in allowed.iter().enumerate() {
            assert_eq!(answer["text"], (1 + n).to_string(), "{mode}: {report}");
        }
        let error = report["over"]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{mode}: the fourth add passed: {report}"));
        assert!(error.contains("add"), "{mode}: {report}");
        assert_eq!(report["echo"]["text"], "still served", "{mode}: {report}");
    }
}

/// Runs tests/python/tool_limit_client.py: its JSON report.
fn tool_limit_client(url: &str, mode: &str, token: &str) -> Value {
    support::python_script(
        "tool_limit_client.py",
        &[url, mode, token, &CALLS.to_string()],
    )
}
