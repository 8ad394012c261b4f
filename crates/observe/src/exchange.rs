//! One HTTP exchange being observed: what is known of it so far, its span,
//! and the events it becomes.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use mcp_guard_core::headers::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use mcp_guard_core::{Rejection, RpcEnvelope, RpcId, RpcMessage, Trail, truncated_for_display};
use tracing::Span;
use tracing::field::Empty;

use crate::layer::Config;
use crate::metrics::bounded_method;
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

/// A header's value as it may be logged: cut by [`truncated_for_display`].
fn header_text(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| truncated_for_display(value.as_bytes()))
}

/// A client's string as it may reach a log, a span or an event: what
/// [`truncated_for_display`] makes of it (at most 96 characters, escaped),
/// without an allocation when that is the string itself.
fn display(value: &str) -> Cow<'_, str> {
    let shown_as_is = value.len() <= 96
        && value
            .bytes()
            .all(|byte| matches!(byte, 0x20..=0x7e) && !matches!(byte, b'\\' | b'\'' | b'"'));
    if shown_as_is {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(truncated_for_display(value.as_bytes()))
    }
}

/// `value` when it is a W3C `traceparent` (`{version}-{trace id}-{parent
/// id}-{flags}`: 55 characters of lower-case hex and dashes, version not
/// `ff`, neither id all zeros), else `None`: an invalid one is dropped
/// rather than logged or used as the span's parent.
pub(crate) fn valid_traceparent(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    if bytes.len() != 55 || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let hex = |field: &[u8]| {
        field
            .iter()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    };
    let zero = |field: &[u8]| field.iter().all(|byte| *byte == b'0');
    let (version, trace_id, parent_id, flags) =
        (&bytes[..2], &bytes[3..35], &bytes[36..52], &bytes[53..]);
    let valid = hex(version)
        && hex(trace_id)
        && hex(parent_id)
        && hex(flags)
        && version != b"ff"
        && !zero(trace_id)
        && !zero(parent_id);
    valid.then_some(value)
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
    span.record("mcp.method.name", display(method).as_ref());
    if let Some(id) = message.id() {
        span.record("jsonrpc.request.id", id_text(id));
    }
    // `_meta`'s version equals the header's in the stateless era (the
    // protocol guard checks); `initialize` asks for its own.
    if let Some(version) = message
        .meta_protocol_version()
        .or(message.params_protocol_version())
    {
        span.record("mcp.protocol.version", display(version).as_ref());
    }
    match method {
        "tools/call" => {
            span.record("gen_ai.operation.name", "execute_tool");
            if let Some(name) = message.name() {
                span.record("gen_ai.tool.name", display(name).as_ref());
            }
        }
        "prompts/get" => {
            if let Some(name) = message.name() {
                span.record("gen_ai.prompt.name", display(name).as_ref());
            }
        }
        _ => {
            if let Some(uri) = message.uri() {
                span.record("mcp.resource.uri", display(uri).as_ref());
            }
        }
    }
    // The span's name is one of a fixed set: the semantic conventions'
    // "{method} {tool}" would let any client (before it is even
    // authenticated) mint span names; the tool is in `gen_ai.tool.name`.
    span.record("otel.name", bounded_method(method));
    // W3C: a `tracestate` is read only beside a valid `traceparent`.
    if let Some(traceparent) = message.meta_traceparent().and_then(valid_traceparent) {
        span.record("traceparent", traceparent);
        #[cfg(feature = "opentelemetry")]
        crate::otel::continue_trace(span, traceparent, message.meta_tracestate());
        if let Some(tracestate) = message.meta_tracestate() {
            span.record("tracestate", display(tracestate).as_ref());
        }
    }
}

/// Which of `params.name` / `params.uri` a method's target is.
fn target_of(message: &RpcMessage) -> Option<&str> {
    match message.method() {
        Some("resources/read" | "resources/subscribe" | "resources/unsubscribe") => message.uri(),
        _ => message.name().or(message.uri()),
    }
}

/// The id as it is logged: a number's JSON text, a string cut for display.
fn id_text(id: &RpcId) -> String {
    match id {
        RpcId::Number(number) => number.to_string(),
        RpcId::String(text) => display(text).into_owned(),
    }
}

/// What a message (or a body without one) waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expects {
    /// A JSON-RPC request: an answer to its id.
    Answer,
    /// A notification or a client's response: nothing but a 2xx.
    Nothing,
    /// A `GET` stream or a `DELETE`: a 2xx and, for a stream, its end.
    Status,
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
                    .filter_map(|message| message.id().cloned())
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

    /// The response future was dropped before the response head: the client
    /// went away (or a timeout gave up on the handler). Every request of the
    /// body is `aborted`, with status `499` (nginx's "client closed request").
    pub(crate) fn abandon(mut self: Box<Self>) {
        self.status = StatusCode::from_u16(499).unwrap_or(StatusCode::REQUEST_TIMEOUT);
        self.finish(false);
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
        // Only an answer found for the request's id is `ok` (and teaches a
        // metrics sink the tool's name); a 2xx without one is `unconfirmed`,
        // a notification's 2xx `accepted`.
        let outcome_of = |expects: Expects, found: Option<Outcome>| match (self.rejection, found) {
            (Some(rejection), _) => Outcome::Refused {
                guard: rejection.guard,
                reason: rejection.reason,
            },
            (None, Some(found)) => found,
            (None, None) if !ended => Outcome::Aborted,
            (None, None) if !self.status.is_success() => Outcome::HttpError,
            (None, None) => match expects {
                Expects::Answer => Outcome::Unconfirmed,
                Expects::Nothing => Outcome::Accepted,
                Expects::Status => Outcome::Ok,
            },
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
            let shown = |value: &str| display(value).into_owned();
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
                        .map(shown)
                }),
                http_method: self.http_method.clone(),
                status: self.status,
                method: method.map(shown),
                request_id: message.and_then(RpcMessage::id).map(id_text),
                target: target.map(shown),
                outcome,
                duration,
                request_bytes,
                response_bytes: self.response_bytes,
                arguments,
                traceparent: message
                    .and_then(RpcMessage::meta_traceparent)
                    .and_then(valid_traceparent)
                    .map(str::to_owned),
            }
        };
        let mut last = None;
        if messages.is_empty() {
            // A POST without an envelope (no peek, or a body that did not
            // parse) carried a request as far as anyone knows.
            let expects = if self.http_method == Method::POST {
                Expects::Answer
            } else {
                Expects::Status
            };
            let outcome = outcome_of(
                expects,
                answers.as_ref().and_then(|answers| answers.found(0)),
            );
            self.config.emit(&event(None, outcome));
            last = Some(outcome);
        } else {
            let mut request_index = 0;
            for message in messages {
                let (expects, found) = if message.is_request() {
                    request_index += 1;
                    let found = answers
                        .as_ref()
                        .and_then(|answers| answers.found(request_index - 1));
                    (Expects::Answer, found)
                } else {
                    (Expects::Nothing, None)
                };
                let outcome = outcome_of(expects, found);
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
