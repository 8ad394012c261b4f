//! Requests as an MCP client sends them over HTTP (reqwest), for the tests
//! that talk to a served stack on loopback.

use serde_json::{Value, json};

/// The legacy (session) era's protocol version the tests speak.
pub const LEGACY_VERSION: &str = "2025-11-25";

/// `initialize` (id 1) of a legacy-era client.
pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": LEGACY_VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

/// A POST of the JSON-RPC `body` to `url`, accepting JSON or SSE; inside
/// `session` (with the legacy era's `MCP-Protocol-Version`) when given.
pub fn post(
    http: &reqwest::Client,
    url: &str,
    body: &Value,
    session: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    match session {
        Some(session) => in_session(request, session),
        None => request,
    }
}

/// A GET of `session`'s stream from `url`, resuming after `last_event_id`.
pub fn resume(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    last_event_id: &str,
) -> reqwest::RequestBuilder {
    in_session(http.get(url), session)
        .header("accept", "text/event-stream")
        .header("last-event-id", last_event_id)
}

/// `request` inside `session`, in the legacy era.
pub fn in_session(request: reqwest::RequestBuilder, session: &str) -> reqwest::RequestBuilder {
    request
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", LEGACY_VERSION)
}

/// Sends `request` and reads its answer as JSON (a test's one-line fetch of
/// a metadata document, a JWKS, a token response).
pub async fn json_of<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    request.send().await.unwrap().json().await.unwrap()
}
