//! The discovery filter fails closed: an answer to a list request it cannot
//! read is withheld, never passed unfiltered. Event data that is not JSON
//! becomes an error event with the request's id and ends the stream; a list
//! request reaches the handler without `Accept-Encoding`, so a compressing
//! handler answers it uncompressed (and filtered), and an answer compressed
//! all the same is refused with `502` and a JSON-RPC error of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::discovery::DiscoveryFilterLayer;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy};
use mcp_guard_core::{GuardBody, Rejection};
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use serde_json::{Value, json};
use support::{ISSUER, RESOURCE};
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";
const LEGACY: &str = "2025-06-18";
const LIST: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
const TOOLS: &str =
    r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo"},{"name":"admin_echo"}]}}"#;
const JSON_AND_SSE: [&str; 2] = ["application/json", "text/event-stream"];

fn policy() -> ScopePolicy {
    ScopePolicy::new()
        .require(["mcp"])
        .require_for_tool("admin_echo", ["mcp:admin"])
}

/// What the handler answers: its type, its `Content-Encoding`, its body.
struct Canned {
    content_type: &'static str,
    encoding: Option<&'static str>,
    body: Vec<u8>,
}

struct Answered {
    status: u16,
    headers: HeaderMap,
    rejection: Option<Rejection>,
    body: Vec<u8>,
    /// The `Accept-Encoding` the handler was asked with.
    asked: Option<String>,
}

impl Answered {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// POSTs `body` (with `Accept-Encoding: gzip`) and a token holding `mcp`,
/// through bearer auth and the filter, to a handler answering what `answer`
/// makes of the request's headers.
async fn post(
    body: &str,
    answer: impl Fn(&HeaderMap) -> Canned + Clone + Send + 'static,
) -> Answered {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let asked = Arc::new(Mutex::new(None));
    let seen = asked.clone();
    let handler = tower::service_fn(move |request: Request<GuardBody<Full<Bytes>>>| {
        *seen.lock().unwrap() = request
            .headers()
            .get("accept-encoding")
            .map(|value| value.to_str().unwrap().to_owned());
        let canned = answer(request.headers());
        let mut response = Response::builder().header("content-type", canned.content_type);
        if let Some(encoding) = canned.encoding {
            response = response.header("content-encoding", encoding);
        }
        let response = response.body(Full::from(canned.body)).unwrap();
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
        .header("accept-encoding", "gzip")
        .header("mcp-protocol-version", LEGACY)
        .header(
            "authorization",
            format!("Bearer {}", hs256_token(&claims, SECRET)),
        )
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answered {
        status: parts.status.as_u16(),
        rejection: parts.extensions.get::<Rejection>().copied(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
        asked: asked.lock().unwrap().clone(),
    }
}

/// The list as the handler sends it: the JSON text, or an event stream with
/// a priming event before the answer.
fn list_as(content_type: &str) -> Vec<u8> {
    if content_type == "text/event-stream" {
        format!("id: 0/0\ndata:\n\nid: 0/1\ndata: {TOOLS}\n\n").into_bytes()
    } else {
        TOOLS.as_bytes().to_vec()
    }
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks: a
/// valid gzip body any client decodes, its text readable in the bytes.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let blocks: Vec<&[u8]> = data.chunks(0xffff).collect();
    for (index, block) in blocks.iter().enumerate() {
        out.push(u8::from(index + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

/// The `data` of each event (empty data left out), as JSON.
fn events(stream: &str) -> Vec<Value> {
    mcp_guard_core::sse::event_data(stream)
        .iter()
        .filter(|data| !data.is_empty())
        .map(|data| serde_json::from_str(data).unwrap_or_else(|_| panic!("not JSON: {data}")))
        .collect()
}

fn assert_withheld(error: &Value) {
    assert_eq!(error["id"], 7, "{error}");
    assert_eq!(error["error"]["code"], -32603, "{error}");
}

#[tokio::test]
async fn event_data_that_is_not_json_is_withheld_and_ends_the_stream() {
    let unreadable = [
        // A trailing comma: not JSON, yet a lenient client reads the list.
        TOOLS.replace(r#"}]}}"#, r#"},]}}"#),
        "admin_echo is here".to_owned(),
    ];
    for data in unreadable {
        let stream =
            format!("id: 0/0\ndata:\n\nid: 0/1\ndata: {data}\n\nid: 0/2\ndata: {TOOLS}\n\n");
        let answered = post(LIST, move |_| Canned {
            content_type: "text/event-stream",
            encoding: None,
            body: stream.clone().into_bytes(),
        })
        .await;
        let text = answered.text();
        assert_eq!(answered.status, 200);
        assert!(!text.contains("admin_echo"), "{text}");
        assert!(text.starts_with("id: 0/0\ndata:\n\n"), "{text}");
        let events = events(&text);
        assert_eq!(events.len(), 1, "the stream ends at the error: {text}");
        assert_withheld(&events[0]);
    }
}

#[tokio::test]
async fn a_compressing_handler_is_asked_for_identity_and_its_list_filtered() {
    for content_type in JSON_AND_SSE {
        // As a compression layer inside the filter does: gzip when asked.
        let answered = post(LIST, move |headers| {
            let asked = headers
                .get("accept-encoding")
                .is_some_and(|value| value.to_str().unwrap().contains("gzip"));
            let list = list_as(content_type);
            Canned {
                content_type,
                encoding: asked.then_some("gzip"),
                body: if asked { gzip(&list) } else { list },
            }
        })
        .await;
        assert_eq!(answered.asked, None, "{content_type}");
        assert_eq!(answered.status, 200);
        assert!(answered.headers.get("content-encoding").is_none());
        let text = answered.text();
        let answer = match content_type {
            "text/event-stream" => events(&text).remove(0),
            _ => serde_json::from_str(&text).unwrap(),
        };
        assert_eq!(
            answer["result"]["tools"],
            json!([{"name": "echo"}]),
            "{text}"
        );
    }

    // Other requests keep the client's Accept-Encoding.
    let call = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo"}}"#;
    let answered = post(call, |_| Canned {
        content_type: "application/json",
        encoding: None,
        body: br#"{"jsonrpc":"2.0","id":9,"result":{"content":[]}}"#.to_vec(),
    })
    .await;
    assert_eq!(answered.asked.as_deref(), Some("gzip"));
}

#[tokio::test]
async fn an_answer_compressed_all_the_same_is_withheld() {
    for content_type in JSON_AND_SSE {
        for encoding in ["gzip", "identity, gzip", "br"] {
            let answered = post(LIST, move |_| Canned {
                content_type,
                encoding: Some(encoding),
                body: gzip(&list_as(content_type)),
            })
            .await;
            let case = format!("{content_type}, {encoding}");
            assert_eq!(answered.status, 502, "{case}");
            assert!(
                answered.headers.get("content-encoding").is_none(),
                "{case}: the error is not compressed"
            );
            assert_eq!(
                answered
                    .rejection
                    .map(|rejection| (rejection.guard, rejection.reason)),
                Some(("discovery-filter", "list_encoded")),
                "{case}"
            );
            let text = answered.text();
            assert!(!text.contains("admin_echo"), "{case}: {text}");
            assert_withheld(&serde_json::from_str(&text).unwrap());
        }
    }

    // `identity` is no encoding: filtered as it is.
    let answered = post(LIST, |_| Canned {
        content_type: "application/json",
        encoding: Some("identity"),
        body: TOOLS.as_bytes().to_vec(),
    })
    .await;
    assert_eq!(answered.status, 200);
    let answer: Value = serde_json::from_str(&answered.text()).unwrap();
    assert_eq!(answer["result"]["tools"], json!([{"name": "echo"}]));
}
