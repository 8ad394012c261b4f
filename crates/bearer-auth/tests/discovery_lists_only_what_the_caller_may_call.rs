//! Behind bearer auth, the discovery filter lists to each caller only what
//! the same scope policy lets it call: in JSON and event-stream answers, in
//! both eras, with cursors, other events and event ids kept, the stateless
//! era's cache marked private, and answers too large to filter withheld, never
//! passed unfiltered. A tool hidden from a caller still answers its call with
//! the step-up challenge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use mcp_bearer_auth::discovery::DiscoveryFilterLayer;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy};
use mcp_guard_core::{GuardBody, Rejection, RpcEnvelope};
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use serde_json::{Value, json};
use support::{ISSUER, RESOURCE};
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";

type Chunks = futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;
type HandlerBody = StreamBody<Chunks>;

fn token(scope: &str) -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": scope,
                        "exp": unix_now() + 3600});
    hs256_token(&claims, SECRET)
}

fn policy() -> ScopePolicy {
    ScopePolicy::new()
        .require(["mcp"])
        .require_for_tool("admin_echo", ["mcp:admin"])
        // Public: callable, and so listed, without a token.
        .public_tool("echo")
}

const TOOLS: &str = r#"{"jsonrpc":"2.0","id":ID,"result":{"tools":[{"name":"echo"},{"name":"admin_echo"}],"nextCursor":"page-2"}}"#;

/// How the test handler answers a `tools/list`.
#[derive(Clone, Copy)]
enum Answer {
    /// JSON, in two chunks, no declared length.
    Json,
    /// JSON with a declared `Content-Length`.
    JsonDeclared,
    /// An event stream: a priming event, a notification, a comment, the
    /// answer cut across chunks with CRLF endings, an event after it.
    Sse,
}

/// The event stream's bytes, `answer` the answer's JSON text.
fn sse(answer: &str) -> Vec<String> {
    vec![
        "id: 0/0\ndata:\n\n: keep-alive\n\n".to_owned(),
        "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\nevent: message\r\nid: 0/1\r\ndata: ".to_owned(),
        answer[..20].to_owned(),
        format!("{}\r\n\r", &answer[20..]),
        "\nid: 0/2\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"tools\":[\"admin_echo\"]}}\n\n".to_owned(),
    ]
}

/// What came back.
struct Answered {
    status: u16,
    headers: http::HeaderMap,
    rejection: Option<Rejection>,
    body: String,
    /// Whether the handler was called.
    handled: bool,
}

impl Answered {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

/// POSTs `body` with a token holding `scope` (none: no token), speaking
/// `version`, through bearer auth and `filter` in front of a handler that
/// answers lists the `answer` way.
async fn post(
    filter: DiscoveryFilterLayer,
    answer: Answer,
    body: &str,
    scope: Option<&str>,
    version: &str,
) -> Answered {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let handled = Arc::new(AtomicUsize::new(0));
    let seen = handled.clone();
    let handler = tower::service_fn(move |request: Request<GuardBody<Full<Bytes>>>| {
        seen.fetch_add(1, Ordering::SeqCst);
        let message = request
            .extensions()
            .get::<RpcEnvelope>()
            .and_then(|envelope| envelope.single().cloned());
        let id = message
            .as_ref()
            .and_then(|message| message.id())
            .map_or("null".to_owned(), |id| serde_json::to_string(id).unwrap());
        let method = message
            .as_ref()
            .and_then(|message| message.method().map(str::to_owned));
        async move {
            let list = TOOLS.replace("ID", &id);
            let (content_type, chunks, declared) = match (method.as_deref(), answer) {
                (Some("tools/list"), Answer::Sse) => ("text/event-stream", sse(&list), None),
                (Some("tools/list"), Answer::Json) => (
                    "application/json",
                    vec![list[..30].to_owned(), list[30..].to_owned()],
                    None,
                ),
                (Some("tools/list"), Answer::JsonDeclared) => {
                    ("application/json", vec![list.clone()], Some(list.len()))
                }
                _ => {
                    let ok = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[]}}}}"#);
                    ("application/json", vec![ok.clone()], Some(ok.len()))
                }
            };
            let frames: Vec<Result<Frame<Bytes>, Infallible>> = chunks
                .into_iter()
                .map(|chunk| Ok(Frame::data(Bytes::from(chunk))))
                .collect();
            let mut response = Response::builder().header("content-type", content_type);
            if let Some(length) = declared {
                response = response.header("content-length", length);
            }
            let body: HandlerBody = StreamBody::new(futures_util::stream::iter(frames));
            Ok::<_, Infallible>(response.body(body).unwrap())
        }
    });
    let auth =
        BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
            .policy(policy())
            .build();
    let service = auth.layer(filter.layer(handler));
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", version);
    if let Some(scope) = scope {
        request = request.header("authorization", format!("Bearer {}", token(scope)));
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answered {
        status: parts.status.as_u16(),
        rejection: parts.extensions.get::<Rejection>().copied(),
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
        handled: handled.load(Ordering::SeqCst) > 0,
    }
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
const LEGACY: &str = "2025-06-18";
const STATELESS: &str = "2026-07-28";

fn on() -> DiscoveryFilterLayer {
    DiscoveryFilterLayer::new(policy())
}

fn names(result: &Value) -> Vec<String> {
    result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_json_list_holds_only_the_tools_the_token_may_call() {
    for answer in [Answer::Json, Answer::JsonDeclared] {
        let plain = post(on(), answer, LIST, Some("mcp"), LEGACY).await;
        assert_eq!(plain.status, 200);
        assert!(
            plain.headers.get("content-length").is_none(),
            "the length changed"
        );
        let value = plain.json();
        assert_eq!(value["id"], 7);
        assert_eq!(names(&value["result"]), ["echo"]);
        assert_eq!(
            value["result"]["nextCursor"], "page-2",
            "the cursor is kept"
        );
        assert!(
            value["result"].get("cacheScope").is_none(),
            "legacy results carry no cache members"
        );

        let admin = post(on(), answer, LIST, Some("mcp mcp:admin"), LEGACY).await;
        assert_eq!(names(&admin.json()["result"]), ["echo", "admin_echo"]);
    }
}

#[tokio::test]
async fn stateless_era_lists_are_private_to_their_caller() {
    for answer in [Answer::Json, Answer::Sse] {
        for scope in ["mcp", "mcp mcp:admin"] {
            let answered = post(on(), answer, LIST, Some(scope), STATELESS).await;
            let value = match answer {
                Answer::Sse => data(&answered.body)[2].clone(),
                _ => answered.json(),
            };
            assert_eq!(
                value["result"]["cacheScope"], "private",
                "{scope}: removed or not, it depends on the caller"
            );
        }
    }
}

/// The `data` of each event, as JSON (`null` for empty data).
fn data(stream: &str) -> Vec<Value> {
    mcp_guard_core::sse::event_data(stream)
        .iter()
        .map(|data| {
            if data.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(data).unwrap()
            }
        })
        .collect()
}

#[tokio::test]
async fn in_an_event_stream_only_the_answer_data_changes() {
    let answered = post(on(), Answer::Sse, LIST, Some("mcp"), LEGACY).await;
    assert_eq!(answered.status, 200);
    let original = sse(&TOOLS.replace("ID", "7")).concat();
    let (before, _) = original
        .split_once("data: {\"jsonrpc\":\"2.0\",\"id\":7")
        .unwrap();
    assert!(
        answered.body.starts_with(before),
        "every byte before the answer's data is kept:\n{}",
        answered.body
    );
    let after = "\r\n\r\nid: 0/2\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"tools\":[\"admin_echo\"]}}\n\n";
    assert!(
        answered.body.ends_with(after),
        "every byte after it is kept, the notification's too:\n{}",
        answered.body
    );
    let events = data(&answered.body);
    assert_eq!(events.len(), 4);
    assert_eq!(events[2]["id"], 7);
    assert_eq!(names(&events[2]["result"]), ["echo"]);
    assert_eq!(events[2]["result"]["nextCursor"], "page-2");

    let admin = post(on(), Answer::Sse, LIST, Some("mcp mcp:admin"), LEGACY).await;
    assert_eq!(
        names(&data(&admin.body)[2]["result"]),
        ["echo", "admin_echo"]
    );
}

#[tokio::test]
async fn a_hidden_tool_still_answers_its_call_with_the_step_up_challenge() {
    let call = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"admin_echo","arguments":{}}}"#;
    let refused = post(on(), Answer::Json, call, Some("mcp"), LEGACY).await;
    assert_eq!(refused.status, 403);
    assert!(!refused.handled);
    let challenge = refused.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"scope="mcp mcp:admin""#),
        "{challenge}"
    );
    assert_eq!(refused.json()["id"], 9);

    let stepped_up = post(on(), Answer::Json, call, Some("mcp mcp:admin"), LEGACY).await;
    assert_eq!(stepped_up.status, 200);
    assert!(stepped_up.handled);
    let listed = post(on(), Answer::Json, LIST, Some("mcp mcp:admin"), LEGACY).await;
    assert!(
        names(&listed.json()["result"]).contains(&"admin_echo".to_owned()),
        "listed after stepping up"
    );
}

#[tokio::test]
async fn other_requests_pass_untouched() {
    let call =
        r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    let answered = post(on(), Answer::Json, call, Some("mcp"), STATELESS).await;
    assert_eq!(
        answered.body,
        r#"{"jsonrpc":"2.0","id":9,"result":{"content":[]}}"#
    );
    assert_eq!(
        answered.headers["content-length"],
        answered.body.len().to_string().as_str(),
        "nothing rewritten"
    );
}

#[tokio::test]
async fn a_disabled_filter_lists_everything() {
    let answered = post(
        DiscoveryFilterLayer::disabled(),
        Answer::Json,
        LIST,
        Some("mcp"),
        LEGACY,
    )
    .await;
    assert_eq!(names(&answered.json()["result"]), ["echo", "admin_echo"]);
}

#[tokio::test]
async fn answers_over_the_limit_are_withheld_never_passed_unfiltered() {
    let small = || on().max_list_bytes(64);

    // Declared too large: refused before reading, named after the filter.
    let declared = post(
        small(),
        Answer::JsonDeclared,
        LIST,
        Some("mcp mcp:admin"),
        LEGACY,
    )
    .await;
    assert_eq!(declared.status, 502);
    assert_eq!(
        declared
            .rejection
            .map(|rejection| (rejection.guard, rejection.reason)),
        Some(("discovery-filter", "list_too_large"))
    );
    let error = declared.json();
    assert_eq!(
        (error["id"].clone(), error["error"]["code"].clone()),
        (json!(7), json!(-32603))
    );
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_list_bytes")
    );

    // Found too large while reading: the body is the error.
    let streamed = post(small(), Answer::Json, LIST, Some("mcp mcp:admin"), LEGACY).await;
    assert_eq!(streamed.json()["id"], 7);
    assert_eq!(streamed.json()["error"]["code"], -32603);
    assert!(!streamed.body.contains("echo"));

    // In an event stream: the events before, then an error event; the stream ends.
    let sse = post(small(), Answer::Sse, LIST, Some("mcp mcp:admin"), LEGACY).await;
    let events = data(&sse.body);
    assert_eq!(events.last().unwrap()["id"], 7);
    assert_eq!(events.last().unwrap()["error"]["code"], -32603);
    assert!(!sse.body.contains("admin_echo"), "{}", sse.body);
}

#[tokio::test]
async fn a_caller_without_a_token_is_shown_only_public_tools() {
    for answer in [Answer::Json, Answer::Sse] {
        let anonymous = post(on(), answer, LIST, None, LEGACY).await;
        assert_eq!(
            anonymous.status, 200,
            "tools/list is public with a public tool"
        );
        let value = match answer {
            Answer::Sse => data(&anonymous.body)[2].clone(),
            _ => anonymous.json(),
        };
        assert_eq!(names(&value["result"]), ["echo"]);
    }
    let call = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"admin_echo"}}"#;
    assert_eq!(
        post(on(), Answer::Json, call, None, LEGACY).await.status,
        401
    );
}
