//! Reading the handler's answer to `initialize`: did it succeed, and which
//! protocol version did it negotiate? The version's text is parsed here, once:
//! from then on it travels as a [`ProtocolVersion`].

use mcp_guard_core::ProtocolVersion;
use mcp_guard_core::sse::{event_data, is_event_stream_type};
use serde_json::Value;

/// `Some(version)` when the answer (JSON or SSE) carries a successful
/// InitializeResult (`Some(None)` if it names no version this build knows);
/// `None` for a JSON-RPC error or anything else.
pub(crate) fn negotiated_version(
    content_type: &str,
    body: &[u8],
) -> Option<Option<ProtocolVersion>> {
    if is_event_stream_type(content_type) {
        let text = String::from_utf8_lossy(body);
        return event_data(&text)
            .iter()
            .filter_map(|data| serde_json::from_str::<Value>(data).ok())
            .find_map(|message| initialize_result(&message));
    }
    let message: Value = serde_json::from_slice(body).ok()?;
    match message {
        Value::Array(messages) => messages.iter().find_map(initialize_result),
        single => initialize_result(&single),
    }
}

fn initialize_result(message: &Value) -> Option<Option<ProtocolVersion>> {
    let result = message.get("result")?.as_object()?;
    if message.get("error").is_some() || !result.contains_key("protocolVersion") {
        return None;
    }
    Some(
        result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .and_then(|text| text.parse().ok()),
    )
}

#[cfg(test)]
mod tests {
    use super::negotiated_version;
    use mcp_guard_core::ProtocolVersion;

    #[test]
    fn successes_and_failures_in_both_content_types() {
        let ok = br#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#;
        assert_eq!(
            negotiated_version("application/json", ok),
            Some(Some(ProtocolVersion::V2025_11_25))
        );
        let sse = format!(
            "id: 0\nretry: 3000\ndata:\n\nevent: message\ndata: {}\n\n",
            String::from_utf8_lossy(ok)
        );
        assert_eq!(
            negotiated_version("text/event-stream", sse.as_bytes()),
            Some(Some(ProtocolVersion::V2025_11_25))
        );
        let error = br#"{"jsonrpc":"2.0","id":0,"error":{"code":-32602,"message":"bad params"}}"#;
        assert_eq!(negotiated_version("application/json", error), None);
        assert_eq!(
            negotiated_version(
                "application/json",
                br#"{"jsonrpc":"2.0","id":0,"result":{}}"#
            ),
            None
        );
        assert_eq!(negotiated_version("application/json", b"not json"), None);
        assert_eq!(
            negotiated_version("text/event-stream", b": only a comment\n\n"),
            None
        );
    }
}
