//! The audit event: what one request was, who made it, how it ended.

use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};
use serde_json::value::RawValue;

/// One MCP request as the [`ObserveLayer`](crate::ObserveLayer) saw it, handed
/// to every [`EventSink`] when the response body ends (or is dropped).
///
/// One event per JSON-RPC request of a POST body (one per message of a
/// batch), and one per `GET`/`DELETE` (with [`method`](Self::method) `None`).
/// Never carries the bearer token: the caller is the [`Caller`] the verified
/// token named. Every string a client chose (method, request id, target,
/// session id, protocol version) is cut for display as
/// [`truncated_for_display`](mcp_guard_core::truncated_for_display) does: at
/// most 96 characters, non-printable and non-ASCII bytes escaped, `…`
/// marking a cut.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestEvent {
    /// When the request arrived.
    pub time: SystemTime,
    /// Who the bearer token said is calling (issuer, subject, client id), when
    /// bearer auth verified one; never the token itself.
    pub caller: Option<Caller>,
    /// The legacy-era session id: the request's `Mcp-Session-Id` header, or the
    /// one the response to `initialize` minted.
    pub session_id: Option<String>,
    /// The protocol version: the `MCP-Protocol-Version` header, else
    /// `_meta`'s, else `initialize`'s `params.protocolVersion`.
    pub protocol_version: Option<String>,
    /// The HTTP method.
    pub http_method: Method,
    /// The response's HTTP status; `500` when the inner service failed, `499`
    /// (nginx's "client closed request") when the client went away before
    /// the response head.
    pub status: StatusCode,
    /// The JSON-RPC method; `None` for `GET`/`DELETE` and bodies that did not parse
    /// (or when no envelope peek ran in the stack).
    pub method: Option<String>,
    /// The JSON-RPC request id, as its JSON text (`1`, `"a-1"`).
    pub request_id: Option<String>,
    /// The tool or prompt name (`params.name`) or the resource URI (`params.uri`).
    pub target: Option<String>,
    /// How the request ended.
    pub outcome: Outcome,
    /// From the request's arrival to the end of the response body.
    pub duration: Duration,
    /// Bytes of the request body (as read by the envelope peek, else `Content-Length`).
    pub request_bytes: u64,
    /// Bytes of the response body that went out.
    pub response_bytes: u64,
    /// The tool call's `params.arguments`, only for tools the operator opted in
    /// with [`ObserveLayer::log_arguments_of`](crate::ObserveLayer::log_arguments_of).
    pub arguments: Option<Box<RawValue>>,
    /// The W3C `traceparent` the client put in `params._meta` (SEP-414),
    /// when it has the W3C form (`{version}-{trace id}-{parent id}-{flags}`:
    /// 55 characters, lower-case hex, version not `ff`, ids not all zero);
    /// an invalid one is dropped, and the `tracestate` with it.
    pub traceparent: Option<String>,
}

/// Who called, as the verified bearer token named them. Never the token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caller {
    /// The token's issuer (`iss`).
    pub issuer: Option<String>,
    /// The token's subject (`sub`).
    pub subject: Option<String>,
    /// The OAuth client the token was issued to.
    pub client_id: Option<String>,
}

impl Caller {
    /// The caller a verified token's [`Principal`](mcp_guard_core::Principal) names.
    pub fn from_principal(principal: &mcp_guard_core::Principal) -> Self {
        Caller {
            issuer: principal.issuer().map(str::to_owned),
            subject: principal.subject().map(str::to_owned),
            client_id: principal.client_id().map(str::to_owned),
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler answered the request's id with a JSON-RPC result (found in
    /// the response body), or a `GET`/`DELETE` ended with a 2xx. Only this
    /// outcome teaches a [`MetricsSink`](crate::metrics::MetricsSink) a tool name.
    Ok,
    /// A 2xx answer to a JSON-RPC request in which no answer to the request's
    /// id was found: not JSON-RPC, larger than the scan bound, an answer to
    /// another id, the scan turned off, or a stack without an envelope peek.
    /// The handler may have answered with a result or an error: unconfirmed,
    /// so it teaches no tool name.
    Unconfirmed,
    /// A notification (or a response the client sent), which has no answer,
    /// taken with a 2xx (`202 Accepted`). Teaches no tool name: anyone can
    /// send a notification naming any tool.
    Accepted,
    /// The handler answered with a JSON-RPC error.
    RpcError {
        /// The error's `code`.
        code: i64,
    },
    /// A guard refused the request (the response's
    /// [`Rejection`](mcp_guard_core::Rejection)).
    Refused {
        /// The guard that refused.
        guard: &'static str,
        /// Why, a short snake_case token.
        reason: &'static str,
    },
    /// A non-2xx status with neither a guard's refusal nor a JSON-RPC error.
    HttpError,
    /// The client went away: the response future was dropped before the
    /// response head, or the body before its end, and the answer was not seen.
    Aborted,
}

impl Outcome {
    /// A short stable label: `ok`, `unconfirmed`, `accepted`, `rpc_error`,
    /// `refused`, `http_error`, `aborted`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Unconfirmed => "unconfirmed",
            Outcome::Accepted => "accepted",
            Outcome::RpcError { .. } => "rpc_error",
            Outcome::Refused { .. } => "refused",
            Outcome::HttpError => "http_error",
            Outcome::Aborted => "aborted",
        }
    }
}

/// Where [`RequestEvent`]s go: the tracing sink by default, a metrics sink, or
/// your own (a database, a queue).
///
/// `record` runs on the task that drives the response body, when the body
/// ends: keep it quick and non-blocking (hand the event to a channel for slow
/// work).
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use mcp_observe::{EventSink, RequestEvent};
///
/// #[derive(Clone, Default)]
/// struct Collect(Arc<Mutex<Vec<RequestEvent>>>);
///
/// impl EventSink for Collect {
///     fn record(&self, event: &RequestEvent) {
///         self.0.lock().unwrap().push(event.clone());
///     }
/// }
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Records one event.
    fn record(&self, event: &RequestEvent);
}

impl<S: EventSink + ?Sized> EventSink for std::sync::Arc<S> {
    fn record(&self, event: &RequestEvent) {
        (**self).record(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_stable() {
        assert_eq!(Outcome::Ok.label(), "ok");
        assert_eq!(Outcome::Unconfirmed.label(), "unconfirmed");
        assert_eq!(Outcome::Accepted.label(), "accepted");
        assert_eq!(Outcome::RpcError { code: -32601 }.label(), "rpc_error");
        assert_eq!(
            Outcome::Refused {
                guard: "g",
                reason: "r"
            }
            .label(),
            "refused"
        );
        assert_eq!(Outcome::HttpError.label(), "http_error");
        assert_eq!(Outcome::Aborted.label(), "aborted");
    }
}
