//! The 2026-07-28 error shapes, sent with the exact headers and bodies the
//! official conformance suite (`@modelcontextprotocol/conformance`
//! 0.2.0-alpha.12, scenario `server-stateless`) and the official Python SDK
//! send: the spec's order of checks, its codes (-32020, -32602, -32022,
//! -32601), `error.data` of an unsupported version, the request's `id` in
//! every rejection, and public metadata reads that no MCP header can break.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::GuardBody;
use mcp_protocol_guard::ProtocolGuardLayer;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

mod support;
use support::{V_NEW, request_with, stateless_meta};
const SUPPORTED: [&str; 4] = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

/// The suite's complete `_meta`.
fn full_meta() -> Value {
    let mut meta = stateless_meta();
    meta["io.modelcontextprotocol/clientInfo"] =
        json!({"name": "conformance-client", "version": "1.0.0"});
    meta
}

/// The suite's request headers (`Content-Type`, `Accept`,
/// `MCP-Protocol-Version`, `Mcp-Method`), with `overrides` replacing them.
fn headers<'a>(method: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", V_NEW),
        ("mcp-method", method),
    ];
    for (name, value) in overrides {
        headers.retain(|(existing, _)| existing != name);
        headers.push((name, value));
    }
    headers
}

/// Status and JSON body of the guard's answer; a request that passes gets
/// `200` and `{"passed": true}` from the handler.
async fn send(
    layer: &ProtocolGuardLayer,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (StatusCode, Value) {
    let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
        // What a metadata read carries on is no key to a session.
        assert!(request.headers().get("mcp-session-id").is_none());
        assert!(request.headers().get("last-event-id").is_none());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
            br#"{"passed":true}"#,
        ))))
    });
    let request = request_with(method, uri, headers);
    let response = layer
        .layer(handler)
        .oneshot(request.body(Full::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn post(headers: &[(&str, &str)], body: Value) -> (StatusCode, Value) {
    send(
        &ProtocolGuardLayer::new(),
        Method::POST,
        "/mcp",
        headers,
        body.to_string(),
    )
    .await
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

#[tokio::test]
async fn incomplete_meta_is_invalid_params_with_the_request_id() {
    let mut no_version = full_meta();
    no_version
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/protocolVersion");
    let mut no_capabilities = full_meta();
    no_capabilities
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let cases = [
        ("missing _meta", 101, json!({}), "_meta is missing"),
        (
            "no protocolVersion",
            102,
            json!({"_meta": no_version}),
            "io.modelcontextprotocol/protocolVersion",
        ),
        (
            "no clientCapabilities",
            104,
            json!({"_meta": no_capabilities}),
            "io.modelcontextprotocol/clientCapabilities",
        ),
    ];
    for (case, id, params, names) in cases {
        let (status, body) = post(
            &headers("server/discover", &[]),
            request(id, "server/discover", params),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert_eq!(body["error"]["code"], -32602, "{case}: {body}");
        assert_eq!(body["id"], id, "{case}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{case}: {message}");
    }

    // clientInfo is a SHOULD: a _meta without it passes.
    let mut no_client_info = full_meta();
    no_client_info
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientInfo");
    let (status, body) = post(
        &headers("server/discover", &[]),
        request(105, "server/discover", json!({"_meta": no_client_info})),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"passed": true})));
}

#[tokio::test]
async fn an_unsupported_version_is_32022_with_supported_and_requested() {
    let mut meta = full_meta();
    meta["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let (status, body) = post(
        &headers("server/discover", &[("mcp-protocol-version", "v999.0.0")]),
        request(301, "server/discover", json!({"_meta": meta})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["id"], 301, "{body}");
    assert_eq!(body["error"]["code"], -32022, "{body}");
    assert_eq!(body["error"]["data"]["requested"], "v999.0.0", "{body}");
    assert_eq!(
        body["error"]["data"]["supported"],
        json!(SUPPORTED),
        "{body}"
    );

    // A legacy request with a version nobody knows: the same code and data.
    let (status, body) = post(
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "1999-01-01"),
        ],
        request(9, "tools/list", json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["id"], 9, "{body}");
    assert_eq!(body["error"]["code"], -32022, "{body}");
    assert_eq!(body["error"]["data"]["requested"], "1999-01-01", "{body}");
}

#[tokio::test]
async fn header_and_meta_that_disagree_are_a_header_mismatch_with_the_id() {
    let mut meta = full_meta();
    meta["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let (status, body) = post(
        &headers("server/discover", &[]),
        request(302, "server/discover", json!({"_meta": meta})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], -32020, "{body}");
    assert_eq!(body["id"], 302, "{body}");

    // The header missing while _meta names a version.
    let (status, body) = post(
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-method", "tools/list"),
        ],
        request(303, "tools/list", json!({"_meta": full_meta()})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], -32020, "{body}");
    assert_eq!(body["id"], 303, "{body}");

    // A routing-header mismatch names the request too.
    let (status, body) = post(
        &headers("tools/call", &[]),
        request(
            304,
            "tools/list",
            json!({"_meta": full_meta(), "name": "echo"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], -32020, "{body}");
    assert_eq!(body["id"], 304, "{body}");
}

#[tokio::test]
async fn methods_the_stateless_era_removed_are_404_method_not_found() {
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
    ] {
        let (status, body) = post(
            &headers(method, &[]),
            request(500, method, json!({"_meta": full_meta()})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {body}");
        assert_eq!(body["error"]["code"], -32601, "{method}: {body}");
        assert_eq!(body["id"], 500, "{method}: {body}");
    }
    // The same methods in the legacy era are the handler's.
    let (status, _) = post(
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        request(1, "ping", json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// What the official Python SDK (`mcp` 2.3.0) sends while it discovers the
/// authorization server: `MCP-Protocol-Version: 2026-07-28` and
/// `Accept: application/json` on the metadata GETs. Before the fix the first
/// was a 405 and the second a 406.
#[tokio::test]
async fn metadata_reads_pass_whatever_mcp_headers_they_carry() {
    let guard = ProtocolGuardLayer::new();
    let paths = [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-authorization-server/dev-issuer",
        "/.well-known/openid-configuration/dev-issuer",
        "/dev-issuer/.well-known/openid-configuration",
    ];
    let header_sets: [&[(&str, &str)]; 3] = [
        &[
            ("mcp-protocol-version", V_NEW),
            ("accept", "application/json"),
        ],
        &[
            ("mcp-protocol-version", "not-a-version"),
            ("mcp-session-id", "someone-elses"),
            ("last-event-id", "0-1"),
            ("mcp-method", "tools/call"),
        ],
        &[("accept", "text/html")],
    ];
    for path in paths {
        for method in [Method::GET, Method::HEAD] {
            for headers in header_sets {
                let (status, body) =
                    send(&guard, method.clone(), path, headers, String::new()).await;
                assert_eq!(
                    (status, &body),
                    (StatusCode::OK, &json!({"passed": true})),
                    "{method} {path} with {headers:?}"
                );
            }
        }
    }
    // A metadata path is no way around the checks for anything else.
    let (status, _) = send(
        &guard,
        Method::POST,
        "/.well-known/oauth-protected-resource/mcp",
        &[("content-type", "text/plain")],
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = send(
        &guard,
        Method::GET,
        "/mcp",
        &[
            ("mcp-protocol-version", V_NEW),
            ("accept", "application/json"),
        ],
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// PUT, PATCH and friends are no MCP transport method: before, they skipped
/// every check (and the body limit and scope policy of the guards after).
#[tokio::test]
async fn other_http_methods_are_405_with_allow() {
    let guard = ProtocolGuardLayer::new();
    let call = request(1, "tools/call", json!({"name": "admin"})).to_string();
    for method in [Method::PUT, Method::PATCH, Method::HEAD, Method::TRACE] {
        let (status, body) = send(
            &guard,
            method.clone(),
            "/mcp",
            &[("content-type", "application/json")],
            call.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}: {body}");
    }
    let stateless_only = ProtocolGuardLayer::builder()
        .supported_versions([mcp_guard_core::ProtocolVersion::V2026_07_28])
        .build()
        .unwrap();
    let handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let response = stateless_only
        .layer(handler)
        .oneshot(Request::put("/mcp").body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    // OPTIONS (a preflight CORS did not answer) is left to the handler.
    let (status, _) = send(&guard, Method::OPTIONS, "/mcp", &[], String::new()).await;
    assert_eq!(status, StatusCode::OK);
}

/// A message that is neither a request, a notification nor a response (an id
/// without a method, `"Method"` with a capital M) was passed on and authorized
/// with the endpoint's scopes only: it is refused 400 with -32600, both eras.
#[tokio::test]
async fn a_message_that_is_no_json_rpc_message_is_an_invalid_request() {
    let legacy = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    for body in [
        json!({"jsonrpc": "2.0", "id": 7, "Method": "tools/call", "params": {"name": "admin"}}),
        json!({"jsonrpc": "2.0", "id": 7}),
    ] {
        let (status, answer) = post(&legacy, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], -32600, "{body}: {answer}");
        assert_eq!(answer["id"], 7, "{body}: {answer}");
    }
    let mut stateless = json!({"jsonrpc": "2.0", "id": 8, "params": {"_meta": full_meta()}});
    stateless["Method"] = json!("tools/list");
    let (status, answer) = post(&headers("tools/list", &[]), stateless).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["id"], 8, "{answer}");
    // Requests, notifications and responses still pass.
    for body in [
        request(1, "tools/list", json!({})),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 3, "result": {}}),
        json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -1, "message": "no"}}),
    ] {
        let (status, answer) = post(&legacy, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
    }
}
