//! `examples/axum_rmcp.rs`, the README's quick start, as a real process: the
//! rmcp client and the official Python SDK (with its defaults, as a newcomer
//! runs it) call its tool in both protocol eras, `/healthz` answers beside
//! the guarded `/mcp`, a rebinding `Host` is refused, SIGTERM ends it, and
//! the README shows the file exactly.

#![cfg(all(feature = "origin-guard", feature = "session"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};
use support::{Example, mcp_http, rmcp_client};

/// How long the example may take to print its endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to exit after SIGTERM.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

fn start() -> Example {
    Example::start_within("axum_rmcp", &["127.0.0.1:0"], START_TIMEOUT)
}

fn sum_of_2_and_40() -> CallToolRequestParams {
    CallToolRequestParams::new("add")
        .with_arguments(json!({"a": 2, "b": 40}).as_object().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_calls_its_tool_in_both_eras() {
    let example = start();
    for stateless in [false, true] {
        let transport = StreamableHttpClientTransport::from_uri(example.url.clone());
        let client = rmcp_client::connect(ClientConfig::default(), transport, stateless)
            .await
            .unwrap_or_else(|error| {
                panic!("the rmcp client starts (stateless {stateless}): {error}")
            });
        let tools = client.list_tools(None).await.expect("tools/list");
        let names: Vec<_> = tools.tools.iter().map(|tool| tool.name.as_ref()).collect();
        assert_eq!(names, ["add"], "stateless {stateless}");
        let result = client.call_tool(sum_of_2_and_40()).await.expect("add");
        let text = result.content[0].as_text().unwrap().text.clone();
        assert_eq!(text, "42", "stateless {stateless}");
        client.cancel().await.unwrap();
    }
}

#[test]
fn the_official_python_client_works_on_the_first_run() {
    let example = start();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/first_run_client.py");
    // `auto` is the SDK's default: what a newcomer's first run does.
    for (mode, version) in [
        ("auto", "2026-07-28"),
        ("legacy", "2025-11-25"),
        ("2026-07-28", "2026-07-28"),
    ] {
        let child = Command::new(support::python())
            .arg(&script)
            .arg(&example.url)
            .arg(mode)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run the Python client");
        let (status, stdout, stderr) = support::wait_with_timeout(child, Duration::from_secs(60));
        assert!(
            status.is_some_and(|status| status.success()),
            "the Python client ({mode}) failed ({status:?}):\n{stderr}"
        );
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|error| panic!("no JSON report ({error}): {stdout}\n{stderr}"));
        assert_eq!(
            report,
            json!({"protocol_version": version, "tools": ["add"], "add": "42"}),
            "mode {mode}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_beside_the_guarded_endpoint() {
    let example = start();
    let port = example.port();
    let http = reqwest::Client::new();
    for host in [format!("127.0.0.1:{port}"), "10.1.2.3".to_owned()] {
        let health = http
            .get(format!("{}/healthz", example.origin()))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "/healthz with Host {host}");
        assert_eq!(health.text().await.unwrap(), "ok");
    }
    let rebinding = mcp_http::post(&http, &example.url, &mcp_http::initialize(), None)
        .header("host", format!("attacker.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(rebinding.status(), 403, "a rebinding Host at /mcp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_it_with_status_0() {
    let mut example = start();
    // An open keep-alive connection must not hold the shutdown up.
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", example.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    example.terminate();
    let status = tokio::task::block_in_place(|| example.exit_within(EXIT_TIMEOUT));
    assert_eq!(
        status.map(|status| status.code()),
        Some(Some(0)),
        "exit status within {EXIT_TIMEOUT:?} of SIGTERM"
    );
}

#[test]
fn the_readme_quick_start_is_this_example_verbatim() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/axum_rmcp.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{example}```\n")),
        "README.md must show examples/axum_rmcp.rs exactly, in a ```rust block: copy the file \
         into the README's quick start"
    );
    assert_eq!(
        readme.matches("```rust").count(),
        1,
        "README.md's only Rust code is the example: nothing compiles the README itself, so \
         other Rust blocks (`ignore`d or not) would go stale; show an examples/ file instead"
    );
}
