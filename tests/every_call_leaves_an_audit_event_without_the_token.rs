//! The audit trail, through the example server (remote preset, `--audit`)
//! with real clients: every call of the rmcp client and of the official
//! Python SDK, in both protocol eras, leaves one `mcp_observe::audit` event
//! in the server's log naming the method, the tool, the caller (the
//! verified token's subject and client, never the token) and the outcome,
//! a refused call included with its guard and reason. The tokens appear
//! nowhere in the log, and arguments are not logged.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::process::Stdio;

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;
use support::{ExampleServer, TempDir, python_client, rmcp_client};

/// The audit lines of `log` (the example's stderr), without ANSI colours.
fn audit_lines(log: &str) -> Vec<String> {
    log.lines()
        .map(strip_ansi)
        .filter(|line| line.contains("mcp_observe::audit"))
        .collect()
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The audit lines of calls of `tool`.
fn calls_of<'a>(lines: &'a [String], tool: &str) -> Vec<&'a String> {
    let field = format!("gen_ai.tool.name=\"{tool}\"");
    let bare = format!("gen_ai.tool.name={tool} ");
    lines
        .iter()
        .filter(|line| line.contains(&field) || line.contains(&bare))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_one_audit_event_naming_the_caller_and_never_the_token() {
    let dir = TempDir::new();
    let log_path = dir.path.join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server =
        ExampleServer::start_logging_to(&["--preset", "remote", "--audit"], Stdio::from(log));
    let token = server.token_with_scope("mcp").await;
    // The token's subject: the registered client's id (client credentials).
    let claims = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    let subject = claims["sub"].as_str().unwrap().to_owned();

    for stateless in [false, true] {
        let config = StreamableHttpClientTransportConfig::with_uri(server.url.clone())
            .auth_header(token.clone());
        let client = rmcp_client::connect(
            ClientConfig::default(),
            StreamableHttpClientTransport::from_config(config),
            stateless,
        )
        .await
        .unwrap();
        let arguments = json!({"text": "an argument the audit must not log"});
        client
            .call_tool(
                CallToolRequestParams::new("echo")
                    .with_arguments(arguments.as_object().unwrap().clone()),
            )
            .await
            .unwrap();
        client
            .call_tool(
                CallToolRequestParams::new("admin_echo")
                    .with_arguments(arguments.as_object().unwrap().clone()),
            )
            .await
            .expect_err("admin_echo needs mcp:admin");
        client.cancel().await.unwrap();
    }
    let url = server.url.clone();
    let python_token = token.clone();
    tokio::task::spawn_blocking(move || {
        for mode in ["legacy", "2026-07-28"] {
            python_client(&url, mode, Some(&python_token));
        }
    })
    .await
    .unwrap();
    // The last events are written when the last response bodies end.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines = audit_lines(&log);
    assert!(!lines.is_empty(), "no audit event in the log:\n{log}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !log.contains(&token) && !log.contains(signature),
        "the token reached the log:\n{log}"
    );
    assert!(
        !log.contains("an argument the audit must not log"),
        "arguments were logged:\n{log}"
    );

    // echo: once per rmcp era, once per Python era, each ok and naming the caller.
    let echoes = calls_of(&lines, "echo");
    assert_eq!(echoes.len(), 4, "{echoes:#?}\n{log}");
    for line in &echoes {
        assert!(
            line.contains("mcp.method.name=\"tools/call\"")
                || line.contains("mcp.method.name=tools/call"),
            "{line}"
        );
        assert!(
            line.contains("mcp_guard.outcome=\"ok\"") || line.contains("mcp_guard.outcome=ok"),
            "{line}"
        );
        assert!(line.contains(&subject), "the caller is not named: {line}");
    }
    // admin_echo: the rmcp client twice and the Python SDK twice, refused by
    // bearer auth for the missing scope.
    let refused = calls_of(&lines, "admin_echo");
    assert_eq!(refused.len(), 4, "{refused:#?}\n{log}");
    for line in &refused {
        assert!(line.contains("refused"), "{line}");
        assert!(
            line.contains("bearer-auth") && line.contains("insufficient_scope"),
            "{line}"
        );
        assert!(
            line.contains(&subject),
            "the refused caller is not named: {line}"
        );
    }
}
