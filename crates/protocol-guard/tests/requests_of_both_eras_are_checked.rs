//! One table per rule, both eras: what passes (and which version and era the
//! handler then sees) and what is refused (status, JSON-RPC code, and what the
//! message names).

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{Era, GuardBody, ProtocolVersion};
use mcp_protocol_guard::ProtocolGuardLayer;
use serde_json::json;
use tower::{Layer, ServiceExt};

mod support;
use support::{BOTH, JSON, V_NEW, request_with, stateless_meta};

/// (case, body, `Mcp-Method` values, `Mcp-Name` values, `None` = passes or the
/// words the refusal names).
type MirrorCase<'a> = (
    &'a str,
    &'a String,
    Vec<&'a str>,
    Vec<&'a str>,
    Option<Vec<&'a str>>,
);

/// (case, arguments, `Mcp-Param-*` headers, `None` = passes or the words the
/// refusal names).
type ParamCase<'a> = (
    &'a str,
    serde_json::Value,
    Vec<(&'a str, &'a str)>,
    Option<Vec<&'a str>>,
);

/// What the handler saw, or what the guard answered.
#[derive(Debug)]
enum Outcome {
    Passed {
        version: ProtocolVersion,
        era: Era,
    },
    Refused {
        status: StatusCode,
        code: i64,
        message: String,
        allow: Option<String>,
    },
}

async fn send(
    layer: &ProtocolGuardLayer,
    method: Method,
    headers: &[(&str, &str)],
    body: &str,
) -> Outcome {
    let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
        let version = *request.extensions().get::<ProtocolVersion>().unwrap();
        let era = Era::of(&request);
        let text = format!("{}|{:?}", version.as_str(), era);
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
    });
    let request = request_with(method, "/mcp", headers);
    let response = layer
        .layer(handler)
        .oneshot(request.body(Full::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let allow = response
        .headers()
        .get("allow")
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    if status == StatusCode::OK {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let (version, era) = text.split_once('|').unwrap();
        return Outcome::Passed {
            version: version.parse().unwrap(),
            era: if era == "Stateless" {
                Era::Stateless
            } else {
                Era::Legacy
            },
        };
    }
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    Outcome::Refused {
        status,
        code: body["error"]["code"].as_i64().unwrap(),
        message: body["error"]["message"].as_str().unwrap().to_owned(),
        allow,
    }
}

fn assert_passed(outcome: &Outcome, version: &str, case: &str) {
    match outcome {
        Outcome::Passed { version: seen, era } => {
            assert_eq!(seen.as_str(), version, "{case}");
            assert_eq!(*era, seen.era(), "{case}");
        }
        Outcome::Refused { .. } => panic!("{case}: refused: {outcome:?}"),
    }
}

fn assert_refused(outcome: &Outcome, status: u16, code: i64, mentions: &[&str], case: &str) {
    match outcome {
        Outcome::Refused {
            status: seen,
            code: seen_code,
            message,
            ..
        } => {
            assert_eq!(seen.as_u16(), status, "{case}: {message}");
            assert_eq!(*seen_code, code, "{case}: {message}");
            for needle in mentions {
                assert!(
                    message.contains(needle),
                    "{case}: message {message:?} lacks {needle:?}"
                );
            }
        }
        Outcome::Passed { .. } => panic!("{case}: passed, expected {status}"),
    }
}

fn legacy(method: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {}}).to_string()
}

/// A stateless-era request body with `_meta` version and the given params.
fn stateless(method: &str, params: serde_json::Value) -> String {
    let mut params = params;
    params["_meta"] = stateless_meta();
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string()
}

#[tokio::test]
async fn content_type_must_be_json() {
    let guard = ProtocolGuardLayer::new();
    let table: &[(Option<&str>, bool)] = &[
        (Some("application/json"), true),
        (Some("application/json; charset=utf-8"), true),
        (Some("APPLICATION/JSON"), true),
        (Some("text/plain"), false),
        (Some("application/x-www-form-urlencoded"), false),
        (None, false),
    ];
    for (content_type, passes) in table {
        let mut headers = vec![("accept", BOTH)];
        if let Some(value) = content_type {
            headers.push(("content-type", value));
        }
        let outcome = send(&guard, Method::POST, &headers, &legacy("ping")).await;
        let case = format!("Content-Type {content_type:?}");
        match passes {
            true => assert_passed(&outcome, "2025-03-26", &case),
            false => assert_refused(&outcome, 415, -32000, &["application/json"], &case),
        }
    }
}

#[tokio::test]
async fn accept_must_admit_json_and_sse_on_post_and_sse_on_get() {
    let guard = ProtocolGuardLayer::new();
    let post: &[(&str, bool)] = &[
        ("application/json, text/event-stream", true),
        ("text/event-stream; q=0.5, Application/Json", true),
        ("*/*", true),
        ("application/json", false),
        ("text/event-stream", false),
        ("application/json, text/event-stream;q=0", false),
    ];
    for (accept, passes) in post {
        let headers = [("content-type", JSON), ("accept", *accept)];
        let outcome = send(&guard, Method::POST, &headers, &legacy("ping")).await;
        let case = format!("POST Accept {accept:?}");
        match passes {
            true => assert_passed(&outcome, "2025-03-26", &case),
            false => assert_refused(&outcome, 406, -32000, &["Accept"], &case),
        }
    }
    let outcome = send(
        &guard,
        Method::POST,
        &[("content-type", JSON)],
        &legacy("ping"),
    )
    .await;
    assert_refused(
        &outcome,
        406,
        -32000,
        &["got Accept: none"],
        "POST without Accept",
    );

    let get: &[(&str, bool)] = &[
        ("text/event-stream", true),
        ("TEXT/Event-Stream;charset=utf-8", true),
        ("application/json", false),
    ];
    for (accept, passes) in get {
        let outcome = send(
            &guard,
            Method::GET,
            &[("accept", accept), ("mcp-protocol-version", "2025-06-18")],
            "",
        )
        .await;
        let case = format!("GET Accept {accept:?}");
        match passes {
            true => assert_passed(&outcome, "2025-06-18", &case),
            false => assert_refused(&outcome, 406, -32000, &["text/event-stream"], &case),
        }
    }
}

#[tokio::test]
async fn legacy_protocol_version_header() {
    let guard = ProtocolGuardLayer::new();
    let base = [("content-type", JSON), ("accept", BOTH)];
    // Absent means 2025-03-26.
    assert_passed(
        &send(&guard, Method::POST, &base, &legacy("tools/list")).await,
        "2025-03-26",
        "absent",
    );
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let headers = [base[0], base[1], ("mcp-protocol-version", version)];
        assert_passed(
            &send(&guard, Method::POST, &headers, &legacy("tools/list")).await,
            version,
            version,
        );
    }
    for bad in [
        "2024-11-05",
        "2025-13-01",
        "latest",
        "",
        "2025-06-18, 2025-11-25",
    ] {
        let headers = [base[0], base[1], ("mcp-protocol-version", bad)];
        let outcome = send(&guard, Method::POST, &headers, &legacy("tools/list")).await;
        assert_refused(
            &outcome,
            400,
            -32022,
            &[
                "unsupported MCP-Protocol-Version",
                "2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28",
            ],
            bad,
        );
    }
    let headers = [
        base[0],
        base[1],
        ("mcp-protocol-version", "2025-06-18"),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let outcome = send(&guard, Method::POST, &headers, &legacy("tools/list")).await;
    assert_refused(
        &outcome,
        400,
        -32000,
        &["more than once"],
        "repeated header",
    );
}

#[tokio::test]
async fn initialize_negotiates_instead_of_being_refused() {
    let guard = ProtocolGuardLayer::new();
    let base = [("content-type", JSON), ("accept", BOTH)];
    let initialize = |version: &str| {
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
               "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        .to_string()
    };
    assert_passed(
        &send(&guard, Method::POST, &base, &initialize("2025-06-18")).await,
        "2025-06-18",
        "known",
    );
    // Asking for a version the server lacks still reaches the handler, which answers with its own.
    assert_passed(
        &send(&guard, Method::POST, &base, &initialize("2099-01-01")).await,
        "2025-11-25",
        "unknown",
    );
    // An initialize is legacy-era traffic even when it asks for the stateless revision.
    assert_passed(
        &send(&guard, Method::POST, &base, &initialize("2026-07-28")).await,
        "2025-11-25",
        "asks for 2026-07-28",
    );

    let stateless_only = ProtocolGuardLayer::builder()
        .supported_versions([ProtocolVersion::V2026_07_28])
        .build()
        .unwrap();
    let outcome = send(
        &stateless_only,
        Method::POST,
        &base,
        &initialize("2025-06-18"),
    )
    .await;
    assert_refused(
        &outcome,
        404,
        -32601,
        &["only the stateless era", "2026-07-28"],
        "stateless-only server",
    );
}

#[tokio::test]
async fn stateless_version_header_must_match_meta() {
    let guard = ProtocolGuardLayer::new();
    let headers = |version: &'static str| {
        vec![
            ("content-type", JSON),
            ("accept", BOTH),
            ("mcp-protocol-version", version),
            ("mcp-method", "tools/list"),
        ]
    };
    let body = stateless("tools/list", json!({}));
    assert_passed(
        &send(&guard, Method::POST, &headers(V_NEW), &body).await,
        V_NEW,
        "agreeing",
    );

    let no_header = [
        ("content-type", JSON),
        ("accept", BOTH),
        ("mcp-method", "tools/list"),
    ];
    let outcome = send(&guard, Method::POST, &no_header, &body).await;
    assert_refused(
        &outcome,
        400,
        -32020,
        &["MCP-Protocol-Version header is missing"],
        "header missing",
    );

    let no_meta =
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}).to_string();
    let outcome = send(&guard, Method::POST, &headers(V_NEW), &no_meta).await;
    assert_refused(
        &outcome,
        400,
        -32602,
        &[
            "_meta is missing",
            "io.modelcontextprotocol/protocolVersion",
        ],
        "meta missing",
    );

    let outcome = send(&guard, Method::POST, &headers("2025-11-25"), &body).await;
    assert_refused(
        &outcome,
        400,
        -32020,
        &["\"2025-11-25\"", "\"2026-07-28\""],
        "header and meta disagree",
    );

    // A server that dropped the stateless era refuses it like any unsupported version.
    let legacy_only = ProtocolGuardLayer::builder()
        .supported_versions([ProtocolVersion::V2025_06_18, ProtocolVersion::V2025_11_25])
        .build()
        .unwrap();
    let outcome = send(&legacy_only, Method::POST, &headers(V_NEW), &body).await;
    assert_refused(
        &outcome,
        400,
        -32022,
        &["2025-06-18, 2025-11-25"],
        "era dropped",
    );
}

#[tokio::test]
async fn mcp_method_and_mcp_name_mirror_the_body() {
    let guard = ProtocolGuardLayer::new();
    let call = stateless(
        "tools/call",
        json!({"name": "get_weather", "arguments": {"city": "Oslo"}}),
    );
    let read = stateless("resources/read", json!({"uri": "file:///notes/über.txt"}));
    let prompt = stateless("prompts/get", json!({"name": "Hello, 世界"}));
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                               "params": {"requestId": 3, "_meta": {"io.modelcontextprotocol/protocolVersion": V_NEW, "io.modelcontextprotocol/clientCapabilities": {}}}})
    .to_string();
    // (case, body, Mcp-Method values, Mcp-Name values, expected: None = passes, Some(mentions))
    let table: Vec<MirrorCase<'_>> = vec![
        (
            "tools/call agrees",
            &call,
            vec!["tools/call"],
            vec!["get_weather"],
            None,
        ),
        (
            "header names are case-insensitive",
            &call,
            vec!["tools/call"],
            vec!["get_weather"],
            None,
        ),
        (
            "method mismatch",
            &call,
            vec!["tools/list"],
            vec!["get_weather"],
            Some(vec!["Mcp-Method", "\"tools/list\"", "\"tools/call\""]),
        ),
        (
            "name mismatch",
            &call,
            vec!["tools/call"],
            vec!["delete_all"],
            Some(vec!["Mcp-Name", "\"delete_all\"", "\"get_weather\""]),
        ),
        (
            "method missing",
            &call,
            vec![],
            vec!["get_weather"],
            Some(vec!["Mcp-Method", "missing"]),
        ),
        (
            "name missing",
            &call,
            vec!["tools/call"],
            vec![],
            Some(vec!["Mcp-Name", "missing"]),
        ),
        (
            "method repeated",
            &call,
            vec!["tools/call", "tools/call"],
            vec!["get_weather"],
            Some(vec!["Mcp-Method", "more than once"]),
        ),
        (
            "name repeated",
            &call,
            vec!["tools/call"],
            vec!["get_weather", "get_weather"],
            Some(vec!["Mcp-Name", "more than once"]),
        ),
        (
            "method as base64",
            &call,
            vec!["=?base64?dG9vbHMvY2FsbA==?="],
            vec!["get_weather"],
            None,
        ),
        (
            "uri agrees via base64",
            &read,
            vec!["resources/read"],
            vec!["=?base64?ZmlsZTovLy9ub3Rlcy/DvGJlci50eHQ=?="],
            None,
        ),
        (
            "uri mismatch",
            &read,
            vec!["resources/read"],
            vec!["file:///notes/other.txt"],
            Some(vec!["params.uri"]),
        ),
        (
            "prompt name via base64",
            &prompt,
            vec!["prompts/get"],
            vec!["=?base64?SGVsbG8sIOS4lueVjA==?="],
            None,
        ),
        (
            "prompt name sent raw",
            &prompt,
            vec!["prompts/get"],
            vec!["Hello, ??"],
            Some(vec!["Mcp-Name"]),
        ),
        (
            "malformed sentinel",
            &call,
            vec!["tools/call"],
            vec!["=?base64?***?="],
            Some(vec!["Mcp-Name", "not valid =?base64?"]),
        ),
        (
            "notification mirrors its method",
            &notification,
            vec!["notifications/cancelled"],
            vec![],
            None,
        ),
        (
            "notification method missing",
            &notification,
            vec![],
            vec![],
            Some(vec!["Mcp-Method"]),
        ),
    ];
    for (case, body, methods, names, expected) in table {
        let mut headers = vec![
            ("content-type", JSON),
            ("accept", BOTH),
            ("mcp-protocol-version", V_NEW),
        ];
        let method_header = if case.contains("case-insensitive") {
            "MCP-METHOD"
        } else {
            "mcp-method"
        };
        let name_header = if case.contains("case-insensitive") {
            "Mcp-Name"
        } else {
            "mcp-name"
        };
        headers.extend(methods.iter().map(|value| (method_header, *value)));
        headers.extend(names.iter().map(|value| (name_header, *value)));
        let outcome = send(&guard, Method::POST, &headers, body).await;
        match expected {
            None => assert_passed(&outcome, V_NEW, case),
            Some(mentions) => assert_refused(&outcome, 400, -32020, &mentions, case),
        }
    }
}

#[tokio::test]
async fn header_values_with_invalid_characters_are_refused() {
    let guard = ProtocolGuardLayer::new();
    let call = stateless("tools/call", json!({"name": "café", "arguments": {}}));
    for raw in [&b"caf\xc3\xa9"[..], b" get_weather", b"get_weather\t"] {
        let request = Request::post("/mcp")
            .header("content-type", JSON)
            .header("accept", BOTH)
            .header("mcp-protocol-version", V_NEW)
            .header("mcp-method", "tools/call")
            .header("mcp-name", http::HeaderValue::from_bytes(raw).unwrap())
            .body(Full::from(call.clone()))
            .unwrap();
        let handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        });
        let response = guard.layer(handler).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{raw:?}");
        let body: serde_json::Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        assert_eq!(body["error"]["code"], -32020);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("characters a header cannot carry")
        );
        assert_eq!(body["id"], 7, "the request id is echoed when known");
    }
}

#[tokio::test]
async fn mcp_param_headers_follow_configured_annotations() {
    let schema = json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "priority": {"type": "integer", "x-mcp-header": "Priority"},
        "urgent": {"type": "boolean", "x-mcp-header": "Urgent"}
    }});
    let guard = ProtocolGuardLayer::builder()
        .tool_input_schema("dispatch", schema)
        .build()
        .unwrap();
    let body = |arguments: serde_json::Value| {
        stateless(
            "tools/call",
            json!({"name": "dispatch", "arguments": arguments}),
        )
    };
    let full = json!({"region": "eu-west-1", "priority": 3, "urgent": true});
    let table: Vec<ParamCase<'_>> = vec![
        (
            "all agree",
            full.clone(),
            vec![
                ("mcp-param-region", "eu-west-1"),
                ("mcp-param-priority", "3"),
                ("mcp-param-urgent", "true"),
            ],
            None,
        ),
        (
            "integers compare numerically",
            full.clone(),
            vec![
                ("Mcp-Param-Region", "eu-west-1"),
                ("MCP-PARAM-PRIORITY", "3.0"),
                ("mcp-param-urgent", "true"),
            ],
            None,
        ),
        (
            "unknown param headers pass untouched",
            full.clone(),
            vec![
                ("mcp-param-region", "eu-west-1"),
                ("mcp-param-priority", "3"),
                ("mcp-param-urgent", "true"),
                ("mcp-param-trace", "abc"),
            ],
            None,
        ),
        (
            "null and absent need no header",
            json!({"region": null}),
            vec![],
            None,
        ),
        (
            "string mismatch",
            full.clone(),
            vec![
                ("mcp-param-region", "us-east-1"),
                ("mcp-param-priority", "3"),
                ("mcp-param-urgent", "true"),
            ],
            Some(vec!["mcp-param-region", "\"us-east-1\"", "\"eu-west-1\""]),
        ),
        (
            "integer mismatch",
            full.clone(),
            vec![
                ("mcp-param-region", "eu-west-1"),
                ("mcp-param-priority", "4"),
                ("mcp-param-urgent", "true"),
            ],
            Some(vec!["mcp-param-priority"]),
        ),
        (
            "boolean must be lowercase",
            full.clone(),
            vec![
                ("mcp-param-region", "eu-west-1"),
                ("mcp-param-priority", "3"),
                ("mcp-param-urgent", "TRUE"),
            ],
            Some(vec!["mcp-param-urgent"]),
        ),
        (
            "header missing for a body value",
            full.clone(),
            vec![
                ("mcp-param-region", "eu-west-1"),
                ("mcp-param-urgent", "true"),
            ],
            Some(vec!["mcp-param-priority", "missing"]),
        ),
        (
            "header without a body value",
            json!({}),
            vec![("mcp-param-region", "eu-west-1")],
            Some(vec!["mcp-param-region", "no value"]),
        ),
        (
            "repeated param header",
            json!({"region": "a"}),
            vec![("mcp-param-region", "a"), ("mcp-param-region", "a")],
            Some(vec!["more than once"]),
        ),
    ];
    for (case, arguments, params, expected) in table {
        let mut headers = vec![
            ("content-type", JSON),
            ("accept", BOTH),
            ("mcp-protocol-version", V_NEW),
            ("mcp-method", "tools/call"),
            ("mcp-name", "dispatch"),
        ];
        headers.extend(params);
        let outcome = send(&guard, Method::POST, &headers, &body(arguments)).await;
        match expected {
            None => assert_passed(&outcome, V_NEW, case),
            Some(mentions) => assert_refused(&outcome, 400, -32020, &mentions, case),
        }
    }
}

#[tokio::test]
async fn batches_only_in_2025_03_26() {
    let guard = ProtocolGuardLayer::new();
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "method": "notifications/initialized"}]).to_string();
    let base = [("content-type", JSON), ("accept", BOTH)];
    assert_passed(
        &send(&guard, Method::POST, &base, &batch).await,
        "2025-03-26",
        "absent header = 2025-03-26",
    );
    for version in ["2025-06-18", "2025-11-25"] {
        let headers = [base[0], base[1], ("mcp-protocol-version", version)];
        let outcome = send(&guard, Method::POST, &headers, &batch).await;
        assert_refused(
            &outcome,
            400,
            -32600,
            &[
                "batches are allowed only in protocol version 2025-03-26",
                version,
            ],
            version,
        );
    }
    let headers = [
        base[0],
        base[1],
        ("mcp-protocol-version", V_NEW),
        ("mcp-method", "ping"),
    ];
    let outcome = send(&guard, Method::POST, &headers, &batch).await;
    assert_refused(&outcome, 400, -32600, &["batches"], "stateless batch");
}

#[tokio::test]
async fn bodies_that_are_not_json_rpc_are_refused() {
    let guard = ProtocolGuardLayer::new();
    let base = [("content-type", JSON), ("accept", BOTH)];
    for body in [
        "",
        "{",
        "not json",
        r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
        r#"{"id":1,"id":2,"method":"ping"}"#,
    ] {
        let outcome = send(&guard, Method::POST, &base, body).await;
        assert_refused(&outcome, 400, -32700, &["not a JSON-RPC message"], body);
    }
}

#[tokio::test]
async fn get_and_delete_in_the_stateless_era_are_not_allowed() {
    let guard = ProtocolGuardLayer::new();
    for method in [Method::GET, Method::DELETE] {
        let headers = [
            ("accept", "text/event-stream"),
            ("mcp-protocol-version", V_NEW),
        ];
        match send(&guard, method.clone(), &headers, "").await {
            Outcome::Refused { status, allow, .. } => {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
                assert_eq!(allow.as_deref(), Some("POST"));
            }
            passed => panic!("{method}: {passed:?}"),
        }
        // A legacy client on the same mixed server may still GET and DELETE.
        let legacy_headers = [
            ("accept", "text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        assert_passed(
            &send(&guard, method.clone(), &legacy_headers, "").await,
            "2025-11-25",
            "legacy GET/DELETE",
        );
    }
    let stateless_only = ProtocolGuardLayer::builder()
        .supported_versions([ProtocolVersion::V2026_07_28])
        .build()
        .unwrap();
    for method in [Method::GET, Method::DELETE] {
        let outcome = send(
            &stateless_only,
            method.clone(),
            &[("accept", "text/event-stream")],
            "",
        )
        .await;
        assert!(
            matches!(
                outcome,
                Outcome::Refused {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    ..
                }
            ),
            "{method}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn an_empty_version_set_is_a_build_error() {
    let error = ProtocolGuardLayer::builder()
        .supported_versions([])
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("supported_versions"), "{error}");
    let error = ProtocolGuardLayer::builder()
        .tool_input_schema(
            "bad",
            json!({"properties": {"a": {"x-mcp-header": "two words"}}}),
        )
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("\"bad\""), "{error}");
}

/// A gateway may route on `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` whatever
/// the era, so a legacy request that carries them must mirror its body too
/// (they were forwarded unchecked). Legacy clients need not send them.
#[tokio::test]
async fn legacy_requests_that_carry_routing_headers_must_mirror_the_body() {
    let schema = json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"}
    }});
    let guard = ProtocolGuardLayer::builder()
        .tool_input_schema("dispatch", schema)
        .build()
        .unwrap();
    let call = |tool: &str| {
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
               "params": {"name": tool, "arguments": {"region": "eu-west-1"}}})
        .to_string()
    };
    let response = json!({"jsonrpc": "2.0", "id": 4, "result": {}}).to_string();
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                       {"jsonrpc": "2.0", "id": 2, "method": "ping"}])
    .to_string();
    let dispatch = call("dispatch");
    let echo = call("echo");
    let list = legacy("tools/list");
    // (case, version, body, extra headers, None = passes or the words the refusal names)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a String,
        Vec<(&'a str, &'a str)>,
        Option<Vec<&'a str>>,
    );
    let table: Vec<Case<'_>> = vec![
        ("no routing headers", "2025-11-25", &echo, vec![], None),
        (
            "agreeing headers",
            "2025-11-25",
            &echo,
            vec![("mcp-method", "tools/call"), ("mcp-name", "echo")],
            None,
        ),
        (
            "method mismatch",
            "2025-11-25",
            &echo,
            vec![("mcp-method", "tools/list")],
            Some(vec!["Mcp-Method", "\"tools/list\"", "\"tools/call\""]),
        ),
        (
            "name mismatch without Mcp-Method",
            "2025-06-18",
            &echo,
            vec![("mcp-name", "delete_all")],
            Some(vec!["Mcp-Name", "\"delete_all\"", "\"echo\""]),
        ),
        (
            "Mcp-Name on a method that names nothing",
            "2025-11-25",
            &list,
            vec![("mcp-name", "delete_all")],
            Some(vec!["Mcp-Name", "tools/list"]),
        ),
        (
            "Mcp-Method on a response",
            "2025-11-25",
            &response,
            vec![("mcp-method", "tools/call")],
            Some(vec!["Mcp-Method", "the body has none"]),
        ),
        (
            "routing headers on a batch",
            "2025-03-26",
            &batch,
            vec![("mcp-method", "tools/list")],
            Some(vec!["batch"]),
        ),
        (
            "an annotated argument's header may be left out",
            "2025-11-25",
            &dispatch,
            vec![],
            None,
        ),
        (
            "an annotated argument's header that is sent must agree",
            "2025-11-25",
            &dispatch,
            vec![("mcp-param-region", "us-east-1")],
            Some(vec!["mcp-param-region", "\"us-east-1\"", "\"eu-west-1\""]),
        ),
        (
            "an agreeing argument header",
            "2025-11-25",
            &dispatch,
            vec![("mcp-param-region", "eu-west-1")],
            None,
        ),
    ];
    for (case, version, body, extra, expected) in table {
        let mut headers = vec![
            ("content-type", JSON),
            ("accept", BOTH),
            ("mcp-protocol-version", version),
        ];
        headers.extend(extra);
        let outcome = send(&guard, Method::POST, &headers, body).await;
        match expected {
            None => assert_passed(&outcome, version, case),
            Some(mentions) => assert_refused(&outcome, 400, -32020, &mentions, case),
        }
    }
}

/// `Mcp-Name` belongs to `tools/call`, `prompts/get` and `resources/read`; on
/// any other method it names something the body does not, in either era.
#[tokio::test]
async fn mcp_name_on_a_method_without_a_name_is_refused() {
    let guard = ProtocolGuardLayer::new();
    let body = stateless("tools/list", json!({}));
    let outcome = send(
        &guard,
        Method::POST,
        &[
            ("content-type", JSON),
            ("accept", BOTH),
            ("mcp-protocol-version", V_NEW),
            ("mcp-method", "tools/list"),
            ("mcp-name", "delete_all"),
        ],
        &body,
    )
    .await;
    assert_refused(
        &outcome,
        400,
        -32020,
        &["Mcp-Name", "tools/list"],
        "stateless",
    );
}

/// By default an `Mcp-Param-*` header the guard cannot compare with the body
/// (a tool whose schema it has not seen, a parameter the schema does not
/// annotate) is forwarded untouched; `strict_param_headers` refuses it.
#[tokio::test]
async fn strict_param_headers_refuse_what_the_guard_cannot_check() {
    let schema = json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"}
    }});
    let lenient = ProtocolGuardLayer::builder()
        .tool_input_schema("dispatch", schema.clone())
        .build()
        .unwrap();
    let strict = ProtocolGuardLayer::builder()
        .tool_input_schema("dispatch", schema)
        .strict_param_headers(true)
        .build()
        .unwrap();
    let call = |tool: &'static str| {
        stateless(
            "tools/call",
            json!({"name": tool, "arguments": {"region": "eu-west-1", "trace": "abc"}}),
        )
    };
    let list = stateless("tools/list", json!({}));
    // (case, body, Mcp-Method, Mcp-Name, param headers, words the strict refusal names)
    let table = [
        (
            "a tool whose schema is unknown",
            call("mystery"),
            "tools/call",
            Some("mystery"),
            vec![("mcp-param-region", "eu-west-1")],
            vec!["mcp-param-region", "mystery"],
        ),
        (
            "a parameter the schema does not annotate",
            call("dispatch"),
            "tools/call",
            Some("dispatch"),
            vec![
                ("mcp-param-region", "eu-west-1"),
                ("mcp-param-trace", "abc"),
            ],
            vec!["mcp-param-trace", "dispatch"],
        ),
        (
            "a method without arguments",
            list,
            "tools/list",
            None,
            vec![("mcp-param-region", "eu-west-1")],
            vec!["mcp-param-region", "tools/list"],
        ),
    ];
    for (case, body, method, name, params, mentions) in table {
        let mut headers = vec![
            ("content-type", JSON),
            ("accept", BOTH),
            ("mcp-protocol-version", V_NEW),
            ("mcp-method", method),
        ];
        if let Some(name) = name {
            headers.push(("mcp-name", name));
        }
        headers.extend(params);
        let outcome = send(&lenient, Method::POST, &headers, &body).await;
        assert_passed(&outcome, V_NEW, case);
        let outcome = send(&strict, Method::POST, &headers, &body).await;
        assert_refused(&outcome, 400, -32020, &mentions, case);
    }
    // What the strict guard can check still passes.
    let headers = [
        ("content-type", JSON),
        ("accept", BOTH),
        ("mcp-protocol-version", V_NEW),
        ("mcp-method", "tools/call"),
        ("mcp-name", "dispatch"),
        ("mcp-param-region", "eu-west-1"),
    ];
    let outcome = send(&strict, Method::POST, &headers, &call("dispatch")).await;
    assert_passed(&outcome, V_NEW, "an annotated parameter under strict");
}
