//! The owner row of seed 001's permission matrix, through the example server
//! (remote preset, its development issuer) with real clients: two users,
//! each with a token from the issuer's token endpoint (two registered
//! clients, so two subjects). The example's `note_*` tools take
//! `mcp_guard_extract::Authenticated` and never parse a token: the second
//! user can neither read nor delete the first one's note, and is told
//! nothing about it; the owner can. With the rmcp client and the official
//! Python SDK, in both protocol eras; and under the local preset (no bearer
//! auth) the tools say they need a signed-in caller.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceError};
use serde_json::{Value, json};
use support::{ExampleServer, rmcp_client};

async fn signed_in(
    url: &str,
    token: Option<&str>,
    stateless: bool,
) -> RunningService<RoleClient, ClientConfig> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = token {
        config = config.auth_header(token.to_owned());
    }
    rmcp_client::connect(
        ClientConfig::default(),
        StreamableHttpClientTransport::from_config(config),
        stateless,
    )
    .await
    .expect("the rmcp client connects")
}

fn call(name: &'static str, arguments: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(arguments.as_object().unwrap().clone())
}

async fn text_of(
    client: &RunningService<RoleClient, ClientConfig>,
    name: &'static str,
    arguments: Value,
) -> Result<String, ServiceError> {
    let result = client.call_tool(call(name, arguments)).await?;
    assert_ne!(result.is_error, Some(true), "{name}: {result:?}");
    Ok(result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.clone()))
        .collect())
}

#[track_caller]
fn assert_refused(outcome: Result<String, ServiceError>, id: u64) {
    let error = outcome
        .expect_err("another user's note is refused")
        .to_string();
    assert!(error.contains(&format!("you have no note {id}")), "{error}");
    assert!(
        !error.contains("secret"),
        "the refusal leaks the note: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_reads_and_deletes_only_its_users_notes() {
    let server = ExampleServer::start(&["--preset", "remote"]);
    let owner_token = server.token_with_scope("mcp").await;
    let other_token = server.token_with_scope("mcp").await;
    for stateless in [false, true] {
        let owner = signed_in(&server.url, Some(&owner_token), stateless).await;
        let other = signed_in(&server.url, Some(&other_token), stateless).await;
        let id: u64 = text_of(&owner, "note_create", json!({"text": "the owner's secret"}))
            .await
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            text_of(&owner, "note_read", json!({"id": id}))
                .await
                .unwrap(),
            "the owner's secret"
        );
        assert_refused(text_of(&other, "note_read", json!({"id": id})).await, id);
        assert_refused(text_of(&other, "note_delete", json!({"id": id})).await, id);
        // Still there for its owner, who may delete it.
        assert_eq!(
            text_of(&owner, "note_read", json!({"id": id}))
                .await
                .unwrap(),
            "the owner's secret"
        );
        assert_eq!(
            text_of(&owner, "note_delete", json!({"id": id}))
                .await
                .unwrap(),
            format!("deleted note {id}")
        );
        assert_refused(text_of(&owner, "note_read", json!({"id": id})).await, id);
        owner.cancel().await.unwrap();
        other.cancel().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_reads_and_deletes_only_its_users_notes() {
    let server = ExampleServer::start(&["--preset", "remote"]);
    let owner_token = server.token_with_scope("mcp").await;
    let other_token = server.token_with_scope("mcp").await;
    for mode in ["legacy", "2026-07-28"] {
        let (url, owner, other) = (server.url.clone(), owner_token.clone(), other_token.clone());
        let report = tokio::task::spawn_blocking(move || notes_client(&url, mode, &owner, &other))
            .await
            .unwrap();
        let id = report["created"]["text"].as_str().unwrap();
        assert_eq!(
            report["owner_reads"]["text"], "the owner's secret",
            "{mode}: {report}"
        );
        for refused in ["other_reads", "other_deletes"] {
            let error = report[refused]["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{mode} {refused}: {report}"));
            assert!(
                error.contains(&format!("you have no note {id}")),
                "{mode} {refused}: {report}"
            );
            assert!(!error.contains("secret"), "{mode} {refused}: {report}");
        }
        assert_eq!(
            report["owner_reads_again"]["text"], "the owner's secret",
            "{mode}: {report}"
        );
        assert_eq!(
            report["owner_deletes"]["text"],
            format!("deleted note {id}"),
            "{mode}: {report}"
        );
        assert!(
            report["owner_reads_deleted"]["error"].is_string(),
            "{mode}: {report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_bearer_auth_the_notes_tools_ask_for_a_signed_in_caller() {
    let server = ExampleServer::start(&[]);
    let anonymous = signed_in(&server.url, None, false).await;
    let error = text_of(&anonymous, "note_create", json!({"text": "x"}))
        .await
        .expect_err("no principal, no note")
        .to_string();
    assert!(error.contains("needs an authenticated caller"), "{error}");
    anonymous.cancel().await.unwrap();
}

/// Runs tests/python/notes_client.py: its JSON report.
fn notes_client(url: &str, mode: &str, owner: &str, other: &str) -> Value {
    support::python_script("notes_client.py", &[url, mode, owner, other])
}
