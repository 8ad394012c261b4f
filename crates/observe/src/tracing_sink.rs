//! [`TracingSink`]: the default sink, one `tracing` event per request.

use crate::{EventSink, Outcome, RequestEvent};

/// Writes each [`RequestEvent`] as one `tracing` event at `info`, target
/// `mcp_observe::audit`, inside the request's span. On by default in
/// [`ObserveLayer`](crate::ObserveLayer) (turn it off with
/// [`without_tracing_events`](crate::ObserveLayer::without_tracing_events)).
///
/// Fields are named after the OpenTelemetry attributes where one exists
/// (`mcp.method.name`, `mcp.session.id`, `mcp.protocol.version`,
/// `jsonrpc.request.id`, `gen_ai.tool.name`, `gen_ai.prompt.name`,
/// `mcp.resource.uri`, `rpc.response.status_code`, `error.type`,
/// `http.request.method`, `http.response.status_code`,
/// `http.request.body.size`, `http.response.body.size`, `enduser.id`,
/// `gen_ai.tool.call.arguments`), and `mcp_guard.*` for the rest (`outcome`,
/// `guard`, `reason`, `caller.issuer`, `caller.client_id`, `duration_ms`).
/// The bearer token never appears: the caller is what the verified token named.
///
/// Select the audit trail alone with the filter `mcp_observe::audit=info`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

impl EventSink for TracingSink {
    fn record(&self, event: &RequestEvent) {
        let method = event.method.as_deref();
        let target = event.target.as_deref();
        let (tool, prompt, uri) = match method {
            Some("tools/call") => (target, None, None),
            Some("prompts/get") => (None, target, None),
            Some("resources/read" | "resources/subscribe" | "resources/unsubscribe") => {
                (None, None, target)
            }
            _ => (None, None, None),
        };
        let (code, guard, reason) = match event.outcome {
            Outcome::RpcError { code } => (Some(code), None, None),
            Outcome::Refused { guard, reason } => (None, Some(guard), Some(reason)),
            _ => (None, None, None),
        };
        let caller = event.caller.as_ref();
        tracing::event!(
            target: "mcp_observe::audit",
            tracing::Level::INFO,
            mcp.method.name = method,
            gen_ai.tool.name = tool,
            gen_ai.prompt.name = prompt,
            mcp.resource.uri = uri,
            jsonrpc.request.id = event.request_id.as_deref(),
            mcp.session.id = event.session_id.as_deref(),
            mcp.protocol.version = event.protocol_version.as_deref(),
            mcp_guard.outcome = event.outcome.label(),
            rpc.response.status_code = code,
            mcp_guard.guard = guard,
            mcp_guard.reason = reason,
            enduser.id = caller.and_then(|caller| caller.subject.as_deref()),
            mcp_guard.caller.issuer = caller.and_then(|caller| caller.issuer.as_deref()),
            mcp_guard.caller.client_id = caller.and_then(|caller| caller.client_id.as_deref()),
            http.request.method = event.http_method.as_str(),
            http.response.status_code = event.status.as_u16(),
            mcp_guard.duration_ms = event.duration.as_secs_f64() * 1000.0,
            http.request.body.size = event.request_bytes,
            http.response.body.size = event.response_bytes,
            gen_ai.tool.call.arguments = event.arguments.as_deref().map(|arguments| arguments.get()),
            traceparent = event.traceparent.as_deref(),
            "mcp request"
        );
    }
}
