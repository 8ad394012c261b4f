//! The example server (`examples/mcp_server/`) as a real process, used by
//! real MCP clients: the rmcp client (Rust) and the official Python SDK, in
//! both protocol eras, under the local and remote presets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::sync::{Arc, Mutex};

use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequestParams, NumberOrString, ProgressNotificationParam, ProgressToken,
    ProtocolVersion, RequestMetaObject,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use support::{ExampleServer, mcp_http, python_client, rmcp_client};

/// Every tool of the example server, sorted: its own and the conformance
/// suite's diagnostics.
const EXAMPLE_TOOLS: [&str; 36] = [
    "add",
    "admin_echo",
    "echo",
    "json_schema_2020_12_tool",
    "note_create",
    "note_delete",
    "note_read",
    "slow_count",
    "test_audio_content",
    "test_custom_headers",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
    "test_embedded_resource",
    "test_error_handling",
    "test_image_content",
    "test_input_required_result_capabilities",
    "test_input_required_result_elicitation",
    "test_input_required_result_list_roots",
    "test_input_required_result_multi_round",
    "test_input_required_result_multiple_inputs",
    "test_input_required_result_request_state",
    "test_input_required_result_sampling",
    "test_input_required_result_tampered_state",
    "test_logging_tool",
    "test_missing_capability",
    "test_multiple_content_types",
    "test_reconnection",
    "test_sampling",
    "test_simple_text",
    "test_streaming_elicitation",
    "test_tool_with_logging",
    "test_tool_with_progress",
    "test_trigger_prompt_change",
    "test_trigger_tool_change",
    "whoami",
];

/// An rmcp client that records the progress notifications it receives.
#[derive(Clone, Default)]
struct ProgressClient {
    progress: Arc<Mutex<Vec<f64>>>,
}

impl rmcp::ClientHandler for ProgressClient {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params.progress);
    }
}

async fn rmcp_client(
    url: &str,
    token: Option<&str>,
    stateless: bool,
) -> (
    RunningService<RoleClient, ProgressClient>,
    Arc<Mutex<Vec<f64>>>,
) {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = token {
        config = config.auth_header(token.to_owned());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let handler = ProgressClient::default();
    let progress = handler.progress.clone();
    let client = rmcp_client::connect(handler, transport, stateless)
        .await
        .expect("the rmcp client starts through the guards");
    (client, progress)
}

fn call(name: &'static str, arguments: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(arguments.as_object().unwrap().clone())
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.clone()))
        .collect()
}

/// initialize, tools/list, echo, and slow_count's progress over SSE.
async fn exercise_rmcp_client(url: &str, token: Option<&str>, stateless: bool) -> String {
    let (client, progress) = rmcp_client(url, token, stateless).await;
    let expected_version = if stateless {
        ProtocolVersion::V_2026_07_28
    } else {
        ProtocolVersion::V_2025_11_25
    };
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        expected_version
    );

    let tools = client.list_tools(None).await.expect("tools/list");
    let mut names: Vec<_> = tools
        .tools
        .iter()
        .map(|tool| tool.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, EXAMPLE_TOOLS);
    for tool in &tools.tools {
        assert!(
            tool.description.as_deref().is_some_and(|d| !d.is_empty()),
            "{} has a description",
            tool.name
        );
        assert_eq!(
            tool.input_schema["type"], "object",
            "{} has an input schema",
            tool.name
        );
    }
    let echo = tools.tools.iter().find(|tool| tool.name == "echo").unwrap();
    assert_eq!(echo.input_schema["properties"]["text"]["type"], "string");

    let echoed = client
        .call_tool(call("echo", json!({"text": "hello from rmcp"})))
        .await
        .unwrap();
    assert_eq!(text(&echoed), "hello from rmcp");
    let sum = client
        .call_tool(call("add", json!({"a": 2, "b": 40})))
        .await
        .unwrap();
    assert_eq!(text(&sum), "42");

    let mut slow_count = call("slow_count", json!({"n": 5, "interval_ms": 20}));
    slow_count.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::String("count-1".into()),
    )));
    let counted = client
        .call_tool(slow_count)
        .await
        .expect("slow_count over SSE");
    assert_eq!(text(&counted), "counted to 5");
    // The rmcp client hands notifications to its handler on its own task, so
    // the last one may be handled just after the result is returned.
    let all_five = async {
        while progress.lock().unwrap().len() < 5 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), all_five).await;
    assert_eq!(*progress.lock().unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0]);

    let whoami = client.call_tool(call("whoami", json!({}))).await.unwrap();
    client.cancel().await.unwrap();
    text(&whoami)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_preset_serves_the_rmcp_client_in_both_eras() {
    let server = ExampleServer::start(&[]);
    assert_eq!(
        exercise_rmcp_client(&server.url, None, false).await,
        "anonymous"
    );
    assert_eq!(
        exercise_rmcp_client(&server.url, None, true).await,
        "anonymous"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_preset_serves_the_python_sdk_client_in_both_eras() {
    let server = ExampleServer::start(&[]);
    for (mode, version) in [("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")] {
        let report = tokio::task::spawn_blocking({
            let url = server.url.clone();
            move || python_client(&url, mode, None)
        })
        .await
        .unwrap();
        assert_eq!(report["protocol_version"], version, "{report}");
        assert_eq!(report["tools"], json!(EXAMPLE_TOOLS.as_slice()), "{report}");
        assert_eq!(report["echo"], "hello from python");
        assert_eq!(report["add"], "42");
        assert_eq!(report["slow_count"], "counted to 5");
        assert_eq!(
            report["progress"],
            json!([1.0, 2.0, 3.0, 4.0, 5.0]),
            "{report}"
        );
        assert_eq!(report["whoami"], "anonymous");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_preset_refuses_a_rebinding_request_the_bare_server_serves() {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    for (preset, expected) in [("local", 403), ("bare", 200)] {
        let server = ExampleServer::start(&["--preset", preset]);
        let port = server
            .url
            .split(':')
            .nth(2)
            .unwrap()
            .trim_end_matches("/mcp")
            .to_owned();
        let response = reqwest::Client::new()
            .post(&server.url)
            .header("host", format!("attacker.example:{port}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "preset {preset}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_preset_challenges_a_tokenless_client_with_valid_rfc9728_metadata() {
    let server = ExampleServer::start(&["--preset", "remote"]);
    let http = reqwest::Client::new();
    let response = http
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no resource_metadata in {challenge}"));
    assert_eq!(
        metadata_url,
        format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            server.origin()
        )
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access token"),
        "{body}"
    );

    // RFC 9728: the document names this resource and its authorization server.
    let metadata = http.get(metadata_url).send().await.unwrap();
    assert_eq!(metadata.status(), 200);
    assert!(
        metadata.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let metadata: Value = metadata.json().await.unwrap();
    assert_eq!(metadata["resource"], server.url);
    let issuer = server.issuer();
    assert_eq!(metadata["authorization_servers"], json!([issuer]));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    assert_eq!(metadata["scopes_supported"], json!(["mcp", "mcp:admin"]));

    // RFC 8414: the issuer's metadata leads to its keys.
    let issuer_metadata = server.issuer_metadata(&http).await;
    assert_eq!(issuer_metadata["issuer"], issuer);
    let jwks: Value =
        mcp_http::json_of(http.get(issuer_metadata["jwks_uri"].as_str().unwrap())).await;
    assert_eq!(jwks["keys"][0]["kty"], "EC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_preset_serves_the_dev_token_and_demands_step_up_for_admin() {
    let server = ExampleServer::start(&["--preset", "remote"]);
    let token = server.token.clone().unwrap();
    for stateless in [false, true] {
        let whoami: Value =
            serde_json::from_str(&exercise_rmcp_client(&server.url, Some(&token), stateless).await)
                .unwrap();
        assert_eq!(whoami["subject"], "dev-user");
        assert_eq!(whoami["scopes"], json!(["mcp", "mcp:admin"]));
    }
    let (client, _) = rmcp_client(&server.url, Some(&token), false).await;
    let admin = client
        .call_tool(call("admin_echo", json!({"text": "root"})))
        .await
        .unwrap();
    assert_eq!(text(&admin), "root");
    client.cancel().await.unwrap();

    // A token without mcp:admin: the rmcp client is refused...
    let limited = server.token_with_scope("mcp").await;
    let (client, _) = rmcp_client(&server.url, Some(&limited), false).await;
    let refused = client
        .call_tool(call("admin_echo", json!({"text": "root"})))
        .await;
    assert!(
        refused.is_err(),
        "admin_echo without mcp:admin: {refused:?}"
    );
    let echoed = client
        .call_tool(call("echo", json!({"text": "still fine"})))
        .await
        .unwrap();
    assert_eq!(text(&echoed), "still fine");
    client.cancel().await.unwrap();

    // ...and on the wire that is a 403 step-up challenge naming the scope.
    let http = reqwest::Client::new();
    let post = |body: Value, session: Option<String>| {
        mcp_http::post(&http, &server.url, &body, session.as_deref())
            .bearer_auth(&limited)
            .send()
    };
    let initialized = post(mcp_http::initialize(), None).await.unwrap();
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let step_up = post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "admin_echo", "arguments": {"text": "root"}}}),
        Some(session),
    )
    .await
    .unwrap();
    assert_eq!(step_up.status(), 403);
    let challenge = step_up.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"scope="mcp mcp:admin""#),
        "legacy era: the granted scope plus the missing one, so the stepped-up token keeps mcp: {challenge}"
    );
    assert!(challenge.contains("resource_metadata="), "{challenge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_preset_serves_the_python_sdk_client_and_refuses_it_admin_without_the_scope() {
    let server = ExampleServer::start(&["--preset", "remote"]);
    let full = server.token.clone().unwrap();
    let limited = server.token_with_scope("mcp").await;
    for mode in ["legacy", "2026-07-28"] {
        let url = server.url.clone();
        let (full, limited) = (full.clone(), limited.clone());
        let (admin, step_up) = tokio::task::spawn_blocking(move || {
            (
                python_client(&url, mode, Some(&full)),
                python_client(&url, mode, Some(&limited)),
            )
        })
        .await
        .unwrap();
        assert_eq!(admin["echo"], "hello from python", "{admin}");
        assert_eq!(
            admin["progress"],
            json!([1.0, 2.0, 3.0, 4.0, 5.0]),
            "{admin}"
        );
        assert_eq!(admin["admin_echo"], "root", "{admin}");
        let whoami: Value = serde_json::from_str(admin["whoami"].as_str().unwrap()).unwrap();
        assert_eq!(whoami["subject"], "dev-user");
        assert!(step_up.get("admin_echo").is_none(), "{step_up}");
        let error = step_up["admin_echo_error"].as_str().unwrap();
        assert!(error.contains("mcp:admin"), "{error}");
    }
}

#[test]
fn a_bad_flag_or_a_taken_port_exits_non_zero_with_a_clear_message() {
    let binary = support::example_binary();
    let bad_flag = std::process::Command::new(&binary)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad_flag.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad_flag.stderr);
    assert!(stderr.contains("--bogus"), "{stderr}");

    let bad_preset = std::process::Command::new(&binary)
        .args(["--preset", "cloud"])
        .output()
        .unwrap();
    assert_eq!(bad_preset.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_preset.stderr).contains("local"),
        "the message lists the presets"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let busy = std::process::Command::new(&binary)
        .args(["--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&busy.stdout).is_empty(),
        "no endpoint line when it cannot listen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hyper_example_serves_a_hand_written_handler_behind_the_local_preset() {
    let binary = support::example_binary().with_file_name("hyper_server");
    let mut child = std::process::Command::new(&binary)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("MCP endpoint: ")
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let post = |host: Option<String>, session: Option<String>, body: Value| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        request.send()
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let initialized = post(None, None, initialize.clone()).await.unwrap();
    assert_eq!(initialized.status(), 200);
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let echoed: Value = post(
        None,
        Some(session),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "no framework"}}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(echoed["result"]["content"][0]["text"], "no framework");
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches("/mcp")
        .to_owned();
    let rebinding = post(Some(format!("attacker.example:{port}")), None, initialize)
        .await
        .unwrap();
    assert_eq!(rebinding.status(), 403);
    let _ = child.kill();
    let _ = child.wait();
}
