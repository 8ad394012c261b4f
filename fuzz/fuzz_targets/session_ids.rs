//! Session-id and event-id validation (session `id.rs` `SessionId`, sse-resume
//! `id.rs` `EventId`), and the session layer's answer to a fuzzed
//! `Mcp-Session-Id`, driven through the public `SessionGuardLayer`.
//!
//! Input: one byte for the id length limit, then the id's bytes. Checked:
//! - `SessionId::parse` accepts exactly the non-empty values within the limit
//!   made of visible ASCII (0x21–0x7E), and keeps them byte for byte;
//!   its `Debug` never shows more than six characters;
//! - an `EventId` (`Last-Event-ID`) that parses prints back to an id that
//!   parses to the same value;
//! - a request with that id reaches the handler of a session layer holding one
//!   live session only when the id is that session's, and is otherwise
//!   refused with 400 or 404 and a JSON-RPC error.
#![no_main]

use std::convert::Infallible;
use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use mcp_guard_core::GuardBody;
use mcp_guard_fuzz::{RUNTIME, assert_json_rpc_error, collect};
use mcp_session::{SessionGuardLayer, SessionId};
use mcp_sse_resume::EventId;
use tower::{Layer, ServiceExt};

/// One session layer with one live session, made once.
static SESSIONS: LazyLock<(SessionGuardLayer, HeaderValue)> = LazyLock::new(|| {
    let layer = SessionGuardLayer::issue();
    let initialize = Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Full::from(
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}"#,
        ))
        .expect("a request");
    let response = RUNTIME
        .block_on(layer.layer(tower::service_fn(handler)).oneshot(initialize))
        .expect("infallible");
    let id = response.headers()["mcp-session-id"].clone();
    (layer, id)
});

fuzz_target!(|data: &[u8]| {
    let [limit, id @ ..] = data else {
        return;
    };
    let limit = usize::from(*limit);
    let parsed = SessionId::parse(id, limit);
    let valid =
        !id.is_empty() && id.len() <= limit && id.iter().all(|byte| (0x21..=0x7e).contains(byte));
    assert_eq!(parsed.is_ok(), valid, "{id:?} within {limit}");
    if let Ok(parsed) = &parsed {
        assert_eq!(parsed.as_str().as_bytes(), id);
        let shown = format!("{parsed:?}");
        assert!(shown.len() <= "SessionId(…)".len() + 6, "{shown}");
    }

    if let Ok(text) = std::str::from_utf8(id)
        && let Ok(event) = text.parse::<EventId>()
    {
        let printed = event.to_string();
        assert_eq!(printed.parse::<EventId>(), Ok(event.clone()), "{text:?}");
        assert!(text.is_ascii());
    }

    let Ok(value) = HeaderValue::from_bytes(id) else {
        return;
    };
    let (layer, live) = &*SESSIONS;
    let is_live = value == *live;
    let ping = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("mcp-session-id", value)
        .body(Full::from(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        .expect("a request");
    RUNTIME.block_on(async {
        let response = layer
            .layer(tower::service_fn(handler))
            .oneshot(ping)
            .await
            .expect("infallible");
        let (parts, body) = collect(response).await;
        match is_live {
            true => assert_eq!(parts.status, StatusCode::OK),
            false => {
                assert!(
                    matches!(
                        parts.status,
                        StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
                    ),
                    "{id:?} got {}",
                    parts.status
                );
                assert_json_rpc_error(&parts, &body);
            }
        }
    });
});

async fn handler(_: Request<GuardBody<Full<Bytes>>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let result = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"fuzz","version":"1"}}}"#;
    let response = Response::builder()
        .header("content-type", "application/json")
        .body(Full::from(result))
        .expect("a response");
    Ok(response)
}
