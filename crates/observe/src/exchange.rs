//! One HTTP exchange being observed: what is known of it so far, its span,
//! and the events it becomes.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use mcp_guard_core::headers::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use mcp_guard_core::{Rejection, RpcEnvelope, RpcId, RpcMessage, Trail};
use tracing::Span;
use tracing::field::Empty;

use crate::layer::Config;
use crate::scan::{Framing, Scanner, Wanted};
use crate::{Caller, Outcome, RequestEvent};

/// Everything about one request the events are made of; boxed once per
/// request and handed from the response future to the response body.
pub(crate) struct Exchange {
    config: Arc<Config>,
    pub(crate) trail: Trail,
    pub(crate) span: Span,
    time: SystemTime,
    start: Instant,
    http_method: Method,
    session_id: Option<String>,
    protocol_version: Option<String>,
    content_length: Option<u64>,
    /// The span has the envelope's attributes.
    annotated: bool,
    status: StatusCode,
    rejection: Option<Rejection>,
    pub(crate) response_bytes: u64,
    pub(crate) scanner: Option<Scanner>,
}

fn header_text(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The span of one MCP request, named and attributed after the OpenTelemetry
/// semantic conventions for MCP; the attributes known only once the envelope
/// is read (or the response is back) are declared empty and recorded then.
fn request_span(method: &Method) -> Span {
    tracing::info_span!(
        target: "mcp_observe",
        "mcp.request",
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        mcp.method.name = Empty,
        mcp.session.id = Empty,
        mcp.protocol.version = Empty,
        jsonrpc.request.id = Empty,
        gen_ai.operation.name = Empty,
        gen_ai.tool.name = Empty,
        gen_ai.prompt.name = Empty,
        mcp.resource.uri = Empty,
        error.type = Empty,
        rpc.response.status_code = Empty,
        network.protocol.name = "http",
        http.request.method = method.as_str(),
        http.response.status_code = Empty,
        mcp_guard.outcome = Empty,
        traceparent = Empty,
        tracestate = Empty,
    )
}

/// The envelope's attributes onto the request's span: what the envelope
/// peek calls through the [`Trail`] the moment it has read the envelope,
/// before the layers behind it run inside the span (and, with
/// `opentelemetry`, before the span is first entered, so its name and parent
/// can still be set).
fn annotate_span(span: &Span, envelope: &RpcEnvelope) {
    let Some(message) = envelope.single() else {
        if envelope.is_batch() {
            span.record("otel.name", "batch");
        }
        return;
    };
    let Some(method) = message.method() else {
        return;
    };
    span.record("mcp.method.name", method);
    if let Some(id) = message.id() {
        span.record("jsonrpc.request.id", id_text(id));
    }
    // `_meta`'s version equals the header's in the stateless era (the
    // protocol guard checks); `initialize` asks for its own.
    if let Some(version) = message
        .meta_protocol_version()
        .or(message.params_protocol_version())
    {
        span.record("mcp.protocol.version", version);
    }
    let name = match method {
        "tools/call" => {
            span.record("gen_ai.operation.name", "execute_tool");
            message.name().inspect(|name| {
                span.record("gen_ai.tool.name", *name);
            })
        }
        "prompts/get" => message.name().inspect(|name| {
            span.record("gen_ai.prompt.name", *name);
        }),
        _ => {
            if let Some(uri) = message.uri() {
                span.record("mcp.resource.uri", uri);
            }
            None
        }
    };
    // The span name stays low-cardinality: a tool or prompt name, never a URI.
    match name {
        Some(name) => span.record("otel.name", format!("{method} {name}")),
        None => span.record("otel.name", method),
    };
    if let Some(traceparent) = message.meta_traceparent() {
        span.record("traceparent", traceparent);
        #[cfg(feature = "opentelemetry")]
        crate::otel::continue_trace(span, traceparent, message.meta_tracestate());
    }
    if let Some(tracestate) = message.meta_tracestate() {
        span.record("tracestate", tracestate);
    }
}

/// Which of `params.name` / `params.uri` a method's target is.
fn target_of(message: &RpcMessage) -> Option<&str> {
    match message.method() {
        Some("resources/read" | "resources/subscribe" | "resources/unsubscribe") => message.uri(),
        _ => message.name().or(message.uri()),
    }
}

fn id_text(id: &RpcId) -> String {
    match id {
        RpcId::Number(number) => number.to_string(),
        RpcId::String(text) => text.clone(),
    }
}

impl Exchange {
    /// A new exchange, with the [`Trail`] to put in its request.
    pub(crate) fn start(config: Arc<Config>, method: &Method, headers: &HeaderMap) -> Self {
        let span = request_span(method);
        let trail = Trail::with_span(span.clone(), annotate_span);
        let session_id = header_text(headers, &MCP_SESSION_ID);
        let protocol_version = header_text(headers, &MCP_PROTOCOL_VERSION);
        if let Some(session_id) = &session_id {
            span.record("mcp.session.id", session_id.as_str());
        }
        if let Some(version) = &protocol_version {
            span.record("mcp.protocol.version", version.as_str());
        }
        Exchange {
            config,
            trail,
            span,
            time: SystemTime::now(),
            start: Instant::now(),
            http_method: method.clone(),
            session_id,
            protocol_version,
            content_length: headers
                .get(CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse().ok()),
            // Only a POST has an envelope to wait for.
            annotated: method != Method::POST,
            status: StatusCode::OK,
            rejection: None,
            response_bytes: 0,
            scanner: None,
        }
    }

    /// Enters the request's span for a poll of the stack.
    ///
    /// With the `opentelemetry` feature, not before the envelope is known:
    /// `tracing-opentelemetry` starts the OpenTelemetry span on its first
    /// entry, after which neither its parent (the client's `traceparent`) nor
    /// its name (`otel.name`) can change. What runs in the poll that reads the
    /// body (the guards, and a handler that answers at once) then runs outside
    /// the request's span.
    pub(crate) fn entered(&self) -> Option<tracing::span::Entered<'_>> {
        if cfg!(feature = "opentelemetry") && !self.annotated {
            return None;
        }
        Some(self.span.enter())
    }

    /// Notes that the envelope peek inside has read the envelope (the
    /// span's attributes were recorded then, by [`annotate_span`]); called
    /// on every poll until then: one atomic load.
    pub(crate) fn annotate(&mut self) {
        if !self.annotated && self.trail.envelope().is_some() {
            self.annotated = true;
        }
    }

    /// The response's head is back: what it says, and how its body will be scanned.
    pub(crate) fn respond(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        extensions: &http::Extensions,
    ) {
        self.annotate();
        self.status = status;
        self.span
            .record("http.response.status_code", status.as_u16());
        self.rejection = extensions.get::<Rejection>().copied();
        if self.session_id.is_none() {
            self.session_id = header_text(headers, &MCP_SESSION_ID);
            if let Some(session_id) = &self.session_id {
                self.span.record("mcp.session.id", session_id.as_str());
            }
        }
        if self.rejection.is_some() || self.config.max_scan_bytes == 0 {
            return;
        }
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let framing = if essence.eq_ignore_ascii_case("application/json") {
            Framing::Json
        } else if essence.eq_ignore_ascii_case("text/event-stream") {
            Framing::EventStream
        } else {
            return;
        };
        let wanted = match self.trail.envelope() {
            Some(envelope) => {
                let ids: Vec<_> = envelope
                    .messages()
                    .iter()
                    .filter(|message| message.is_request())
                    .filter_map(|message| serde_json::to_value(message.id()).ok())
                    .map(|id| (id, None))
                    .collect();
                if ids.is_empty() {
                    return;
                }
                Wanted::Ids(ids)
            }
            None if self.http_method == Method::POST => Wanted::First(None),
            None => return,
        };
        self.scanner = Some(Scanner::new(framing, self.config.max_scan_bytes, wanted));
    }

    /// The inner service failed: no response at all.
    pub(crate) fn fail(mut self: Box<Self>) {
        self.status = StatusCode::INTERNAL_SERVER_ERROR;
        self.annotate();
        self.finish(true);
    }

    /// The response body ended (`ended`) or was dropped before its end: the
    /// events go out.
    pub(crate) fn finish(mut self: Box<Self>, ended: bool) {
        self.annotate();
        let duration = self.start.elapsed();
        let answers = self.scanner.take().map(Scanner::finish);
        let _entered = self.span.enter();
        let caller = self.trail.principal().map(Caller::from_principal);
        let request_bytes = self.trail.body_bytes().or(self.content_length).unwrap_or(0);
        let messages = self
            .trail
            .envelope()
            .map(|envelope| envelope.messages())
            .unwrap_or(&[]);
        let outcome_of = |found: Option<Outcome>| match (self.rejection, found) {
            (Some(rejection), _) => Outcome::Refused {
                guard: rejection.guard,
                reason: rejection.reason,
            },
            (None, Some(found)) => found,
            (None, None) if !ended => Outcome::Aborted,
            (None, None) if self.status.is_success() => Outcome::Ok,
            (None, None) => Outcome::HttpError,
        };
        let event = |message: Option<&RpcMessage>, outcome: Outcome| {
            let method = message.and_then(RpcMessage::method);
            let target = message.and_then(target_of);
            let arguments = match (method, target) {
                (Some("tools/call"), Some(tool)) if self.config.arguments_of.contains(tool) => {
                    message
                        .and_then(RpcMessage::arguments)
                        .map(ToOwned::to_owned)
                }
                _ => None,
            };
            RequestEvent {
                time: self.time,
                caller: caller.clone(),
                session_id: self.session_id.clone(),
                protocol_version: self.protocol_version.clone().or_else(|| {
                    message
                        .and_then(|message| {
                            message
                                .meta_protocol_version()
                                .or(message.params_protocol_version())
                        })
                        .map(str::to_owned)
                }),
                http_method: self.http_method.clone(),
                status: self.status,
                method: method.map(str::to_owned),
                request_id: message.and_then(RpcMessage::id).map(id_text),
                target: target.map(str::to_owned),
                outcome,
                duration,
                request_bytes,
                response_bytes: self.response_bytes,
                arguments,
                traceparent: message
                    .and_then(RpcMessage::meta_traceparent)
                    .map(str::to_owned),
            }
        };
        let mut last = None;
        if messages.is_empty() {
            let outcome = outcome_of(answers.as_ref().and_then(|answers| answers.found(0)));
            self.config.emit(&event(None, outcome));
            last = Some(outcome);
        } else {
            let mut request_index = 0;
            for message in messages {
                let found = if message.is_request() {
                    request_index += 1;
                    answers
                        .as_ref()
                        .and_then(|answers| answers.found(request_index - 1))
                } else {
                    None
                };
                let outcome = outcome_of(found);
                self.config.emit(&event(Some(message), outcome));
                last = Some(outcome);
            }
        }
        // The span's outcome: the message's own (a batch's last message's).
        if let Some(outcome) = last {
            self.record_outcome(outcome);
        }
    }

    fn record_outcome(&self, outcome: Outcome) {
        let span = &self.span;
        span.record("mcp_guard.outcome", outcome.label());
        match outcome {
            Outcome::RpcError { code } => {
                let code = code.to_string();
                span.record("rpc.response.status_code", code.as_str());
                span.record("error.type", code.as_str());
                span.record("otel.status_code", "error");
            }
            Outcome::Refused { guard, reason } => {
                span.record("error.type", format!("{guard}/{reason}"));
            }
            Outcome::HttpError => {
                span.record("error.type", self.status.as_str());
                if self.status.is_server_error() {
                    span.record("otel.status_code", "error");
                }
            }
            _ => {}
        }
    }
}
