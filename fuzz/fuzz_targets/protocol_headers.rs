//! The stateless era's header–body mirror checks and `=?base64?…?=` decoding
//! (protocol-guard `sentinel.rs`, `check.rs`, `param_headers.rs`), driven
//! through the public `ProtocolGuardLayer` with `tower::ServiceExt::oneshot`.
//!
//! Input: a request in the format of `mcp_guard_fuzz::FuzzedRequest`; the
//! directive `@name: <bytes>` (or `@region: <bytes>`) instead builds a
//! consistent stateless `tools/call` whose tool name (or `region` argument of
//! the annotated tool `dispatch`) is those bytes as lossy UTF-8, mirrored into
//! `Mcp-Name` (or `Mcp-Param-Region`) plainly or Base64-wrapped as a client
//! must. Checked:
//! - nothing panics; every rejection is a JSON-RPC error with a JSON body;
//! - a stateless request reaches the handler only when `Mcp-Method`, `Mcp-Name`
//!   and `Mcp-Param-Region`, decoded by this file's own reading of the rule,
//!   equal the body's method, name/uri and `region` argument;
//! - a correctly mirrored value always gets through, whatever it holds.
#![no_main]

use std::convert::Infallible;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use mcp_guard_core::{Era, GuardBody, ProtocolVersion, RpcEnvelope};
use mcp_guard_fuzz::{FuzzedRequest, RUNTIME, assert_json_rpc_error, collect};
use mcp_protocol_guard::ProtocolGuardLayer;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

static GUARD: LazyLock<ProtocolGuardLayer> = LazyLock::new(|| {
    let schema = json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "priority": {"type": "integer", "x-mcp-header": "Priority"},
        "urgent": {"type": "boolean", "x-mcp-header": "Urgent"}
    }});
    ProtocolGuardLayer::builder()
        .tool_input_schema("dispatch", schema)
        .build()
        .expect("a valid configuration")
});

fuzz_target!(|data: &[u8]| {
    let fuzzed = FuzzedRequest::parse(data);
    let (request, must_pass) = match (fuzzed.directive("name"), fuzzed.directive("region")) {
        (Some(text), _) => (roundtrip(&String::from_utf8_lossy(text), "mirror"), true),
        (None, Some(text)) => (roundtrip("dispatch", &String::from_utf8_lossy(text)), true),
        (None, None) => (fuzzed.to_request(), false),
    };
    RUNTIME.block_on(async move {
        let service = GUARD.layer(tower::service_fn(handler));
        let response = service.oneshot(request).await.expect("infallible");
        let (parts, body) = collect(response).await;
        if must_pass {
            assert_eq!(
                parts.status,
                StatusCode::OK,
                "a correctly mirrored request was refused: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if parts.status != StatusCode::OK {
            assert_json_rpc_error(&parts, &body);
        }
    });
});

/// The handler: checks that what got through is mirrored correctly.
async fn handler(
    request: Request<GuardBody<Full<Bytes>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let stateless = request.extensions().get::<ProtocolVersion>().map(|version| version.era()) == Some(Era::Stateless);
    if let (true, Some(RpcEnvelope::Single(message))) =
        (stateless, request.extensions().get::<RpcEnvelope>())
    {
        let headers = request.headers();
        let Some(method) = message.method() else {
            // Not a request: nothing to mirror, so nothing may claim a method
            // (the handler refuses what is neither request nor response).
            assert!(
                headers.get("mcp-method").is_none(),
                "Mcp-Method on a body without a method got through"
            );
            return Ok(Response::new(Full::default()));
        };
        assert_eq!(
            decoded(headers, "mcp-method").as_deref(),
            Some(method),
            "Mcp-Method"
        );
        let named = match method {
            "tools/call" | "prompts/get" => message.name(),
            "resources/read" => message.uri(),
            _ => None,
        };
        if let Some(named) = named {
            assert_eq!(
                decoded(headers, "mcp-name").as_deref(),
                Some(named),
                "Mcp-Name"
            );
        }
        if method == "tools/call" && message.name() == Some("dispatch") {
            let arguments: Value = message
                .arguments()
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .unwrap_or(Value::Null);
            if let Some(region) = arguments["region"].as_str() {
                assert_eq!(
                    decoded(headers, "mcp-param-region").as_deref(),
                    Some(region),
                    "Mcp-Param-Region"
                );
            }
        }
    }
    Ok(Response::new(Full::default()))
}

/// This file's own reading of the rule: one header; plain visible ASCII with
/// inner spaces/tabs, or `=?base64?<standard Base64, padding optional>?=` of
/// UTF-8.
fn decoded(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?.as_bytes();
    assert!(values.next().is_none(), "a repeated {name} got through");
    let text = std::str::from_utf8(value).ok()?;
    assert!(
        text.bytes()
            .all(|byte| byte == b'\t' || (0x20..0x7f).contains(&byte))
            && !text.starts_with([' ', '\t'])
            && !text.ends_with([' ', '\t']),
        "{name} {text:?} got through with characters a header cannot carry"
    );
    match text
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(payload) => {
            let bytes = STANDARD_NO_PAD
                .decode(payload.trim_end_matches('='))
                .expect("a sentinel that got through is Base64");
            Some(String::from_utf8(bytes).expect("a sentinel that got through is UTF-8"))
        }
        None => Some(text.to_owned()),
    }
}

/// How a client mirrors `value` into a header.
fn mirrored(value: &str) -> String {
    let looks_like_a_sentinel = value.starts_with("=?base64?") && value.ends_with("?=");
    let plain = !value.is_empty()
        && !looks_like_a_sentinel
        && value
            .bytes()
            .all(|byte| byte == b'\t' || (0x20..0x7f).contains(&byte))
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t']);
    match plain {
        true => value.to_owned(),
        false => format!("=?base64?{}?=", STANDARD.encode(value)),
    }
}

fn roundtrip(name: &str, region: &str) -> Request<Full<Bytes>> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": name,
        "arguments": {"region": region, "priority": 3, "urgent": true},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}
    }});
    let mut builder = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", mirrored(name));
    if name == "dispatch" {
        builder = builder
            .header("mcp-param-region", mirrored(region))
            .header("mcp-param-priority", "3")
            .header("mcp-param-urgent", "true");
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid request")
}
