//! In the answer to a list request, the discovery filter filters every
//! response carrying a list, whatever its id: ids are the client's to choose
//! (a float `1.0` a handler answers as `1`, one id given to two requests of a
//! batch), so they never decide whether a list is filtered. JSON bodies,
//! batch arrays and each event of an event stream alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::discovery::DiscoveryFilterLayer;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy};
use mcp_guard_core::GuardBody;
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use serde_json::{Value, json};
use support::{ISSUER, RESOURCE};
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";
const LEGACY: &str = "2025-06-18";
/// The era of JSON-RPC batches.
const BATCHES: &str = "2025-03-26";

fn policy() -> ScopePolicy {
    ScopePolicy::new()
        .require(["mcp"])
        .require_for_tool("admin_echo", ["mcp:admin"])
        .require_for_prompt("secret", ["mcp:admin"])
}

/// A tools list answer with `id` (JSON text), both tools in it.
fn tools(id: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"tools":[{{"name":"echo"}},{{"name":"admin_echo"}}]}}}}"#
    )
}

fn prompts(id: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"prompts":[{{"name":"hello"}},{{"name":"secret"}}]}}}}"#
    )
}

fn ping(id: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#)
}

/// POSTs `body` with a token holding the `mcp` scope only, through bearer
/// auth and the filter, to a handler answering `answer` with `content_type`
/// (what a handler answers whatever the ids: rmcp reads an id `1.0` as the
/// integer 1 and answers `"id":1`).
async fn post(body: &str, version: &str, content_type: &str, answer: String) -> String {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let content_type = content_type.to_owned();
    let handler = tower::service_fn(move |_: Request<GuardBody<Full<Bytes>>>| {
        let response = Response::builder()
            .header("content-type", content_type.as_str())
            .body(Full::from(answer.clone()))
            .unwrap();
        async move { Ok::<_, Infallible>(response) }
    });
    let auth =
        BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
            .policy(policy())
            .build();
    let service = auth.layer(DiscoveryFilterLayer::new(policy()).layer(handler));
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": "mcp",
                        "exp": unix_now() + 3600});
    let request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", version)
        .header(
            "authorization",
            format!("Bearer {}", hs256_token(&claims, SECRET)),
        )
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200, "{body}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The JSON-RPC messages of an answer: the JSON body (one, or a batch's),
/// or each event's data.
fn messages(body: &str, content_type: &str) -> Vec<Value> {
    let documents: Vec<Value> = if content_type == "text/event-stream" {
        mcp_guard_core::sse::event_data(body)
            .iter()
            .filter(|data| !data.is_empty())
            .map(|data| serde_json::from_str(data).unwrap())
            .collect()
    } else {
        vec![serde_json::from_str(body).unwrap()]
    };
    documents
        .into_iter()
        .flat_map(|document| match document {
            Value::Array(messages) => messages,
            message => vec![message],
        })
        .collect()
}

/// `answers` as the handler sends them: a JSON batch array, or one event each.
fn answer(answers: &[String], content_type: &str) -> String {
    if content_type == "text/event-stream" {
        answers
            .iter()
            .enumerate()
            .map(|(index, answer)| format!("id: 0/{index}\ndata: {answer}\n\n"))
            .collect()
    } else if answers.len() == 1 {
        answers[0].clone()
    } else {
        format!("[{}]", answers.join(","))
    }
}

const JSON_AND_SSE: [&str; 2] = ["application/json", "text/event-stream"];

#[tokio::test]
async fn a_float_id_answered_as_an_integer_is_filtered() {
    let list = r#"{"jsonrpc":"2.0","id":1.0,"method":"tools/list"}"#;
    for content_type in JSON_AND_SSE {
        let body = post(
            list,
            LEGACY,
            content_type,
            answer(&[tools("1")], content_type),
        )
        .await;
        assert!(!body.contains("admin_echo"), "{content_type}: {body}");
        let answered = messages(&body, content_type);
        assert_eq!(answered.len(), 1, "{body}");
        assert_eq!(answered[0]["id"], 1);
        assert_eq!(answered[0]["result"]["tools"], json!([{"name": "echo"}]));
    }
}

#[tokio::test]
async fn a_ping_sharing_the_list_requests_id_leaves_the_list_filtered() {
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#;
    for content_type in JSON_AND_SSE {
        // In order: the ping's answer first.
        let body = post(
            batch,
            BATCHES,
            content_type,
            answer(&[ping("1"), tools("1")], content_type),
        )
        .await;
        assert!(!body.contains("admin_echo"), "{content_type}: {body}");
        let answered = messages(&body, content_type);
        assert_eq!(answered.len(), 2, "{body}");
        assert_eq!(answered[0]["result"], json!({}), "the ping's answer kept");
        assert_eq!(answered[1]["result"]["tools"], json!([{"name": "echo"}]));
    }
}

#[tokio::test]
async fn two_lists_sharing_an_id_are_each_filtered_as_what_they_hold() {
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":1,"method":"prompts/list"}]"#;
    for content_type in JSON_AND_SSE {
        // Out of order: the prompts first.
        let body = post(
            batch,
            BATCHES,
            content_type,
            answer(&[prompts("1"), tools("1")], content_type),
        )
        .await;
        assert!(!body.contains("admin_echo"), "{content_type}: {body}");
        assert!(!body.contains("secret"), "{content_type}: {body}");
        let answered = messages(&body, content_type);
        assert_eq!(answered[0]["result"]["prompts"], json!([{"name": "hello"}]));
        assert_eq!(answered[1]["result"]["tools"], json!([{"name": "echo"}]));
    }
}

#[tokio::test]
async fn a_list_answer_under_another_id_is_filtered_too() {
    // Whatever id the handler answers with, a list is a list.
    let list = r#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#;
    for content_type in JSON_AND_SSE {
        let body = post(
            list,
            LEGACY,
            content_type,
            answer(&[tools("\"b\""), tools("null")], content_type),
        )
        .await;
        assert!(!body.contains("admin_echo"), "{content_type}: {body}");
        let answered = messages(&body, content_type);
        assert_eq!(answered.len(), 2, "{body}");
        for message in answered {
            assert_eq!(message["result"]["tools"], json!([{"name": "echo"}]));
        }
    }
}
