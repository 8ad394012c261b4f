//! Observability for MCP servers: one audit event per JSON-RPC request,
//! metrics by method, tool and outcome, and spans named after the
//! OpenTelemetry semantic conventions for MCP.
//!
//! [`ObserveLayer`] wraps the whole guard stack, so that it sees every
//! request — the handler's answers and every guard's refusal, by guard and
//! reason. For each request it
//!
//! - runs the stack inside one `tracing` span named and attributed after the
//!   [OpenTelemetry semantic conventions for MCP](https://opentelemetry.io/docs/specs/semconv/gen-ai/mcp/)
//!   (`otel.name` = the method when MCP defines it, else `other`; not the
//!   conventions' `"{mcp.method.name} {tool}"`, which would let any client
//!   mint span names: the tool is in `gen_ai.tool.name`), `mcp.method.name`,
//!   `mcp.session.id`, `mcp.protocol.version`, `jsonrpc.request.id`,
//!   `gen_ai.tool.name`, `gen_ai.prompt.name`, `mcp.resource.uri`,
//!   `error.type`, `rpc.response.status_code`, `otel.kind = "server"`), plus the
//!   W3C `traceparent`/`tracestate` a 2026-07-28 client put in `params._meta`
//!   (SEP-414);
//! - hands one [`RequestEvent`] per JSON-RPC message to each [`EventSink`] when
//!   the response body ends: the [`TracingSink`] by default (the audit trail),
//!   the [`metrics::MetricsSink`] for counters and latency histograms, or your own.
//!
//! # What one event is
//!
//! One per JSON-RPC message of a POST body: a batch (2025-03-26) gives one
//! event per message, each with its own method, target and outcome (its
//! answer found by id); they share the exchange's status, duration and byte
//! counts. One per `GET` and `DELETE`, with [`method`](RequestEvent::method) `None`.
//!
//! # How the outcome is found
//!
//! - A response carrying a guard's [`Rejection`](mcp_guard_core::Rejection): `refused`.
//! - Otherwise the handler's answer to the request's id, read from the
//!   response body as it passes — an `application/json` body, or the SSE event
//!   that carries it in a `text/event-stream` answer (legacy-era rmcp answers
//!   POSTs with SSE): `ok` for a result, `rpc_error` with its code for an
//!   error. Ids match as the handler reads them (`1` answers `1.0`). At most
//!   [`ObserveLayer::max_scan_bytes`] are kept (of the JSON body, or of one
//!   SSE line and one event's `data`); an answer larger than that is not
//!   read. The bytes pass on unchanged and undelayed.
//! - No answer to the request's id found (too large, not JSON-RPC, another
//!   id): the status decides, `unconfirmed` for 2xx, `http_error` else.
//!   Only `ok` — a result seen for that id — says a tool exists.
//! - A notification (no id) taken with a 2xx (`202`): `accepted`.
//! - A `GET` stream or `DELETE`: `ok` for a 2xx that ended, `http_error` else.
//! - A response future dropped before the response head, or a body dropped
//!   before its end, whose answer was not seen: `aborted`.
//!
//! # What a client chooses stays bounded
//!
//! Every string a client chose (method, request id, tool, prompt or
//! resource name, session id, protocol version, `tracestate`) reaches a span,
//! a log line or an event cut for display
//! ([`truncated_for_display`](mcp_guard_core::truncated_for_display): at most
//! 96 characters, escaped); a `traceparent` that is not of the W3C form is
//! dropped.
//!
//! # What the guards tell it
//!
//! Extensions only flow inward, so the layer puts a
//! [`Trail`](mcp_guard_core::Trail) into the request: the envelope peek
//! (`EnvelopePeekLayer`, or a guard used alone that reads the body through
//! `EnvelopeLimits::peek`) records the JSON-RPC envelope into it, bearer auth the
//! verified [`Principal`](mcp_guard_core::Principal). With no envelope peek in the
//! stack, the events still carry the status, refusal, duration and bytes.

//!
//! # Continuing the client's trace
//!
//! A 2026-07-28 client may put the W3C `traceparent` and `tracestate` of its
//! own span in `params._meta` (SEP-414). A valid `traceparent` is recorded on
//! the span (fields `traceparent`, `tracestate`) and in [`RequestEvent::traceparent`].
//! With the crate feature `opentelemetry`, the span continues that trace: the
//! W3C propagator reads them and `tracing-opentelemetry`'s `set_parent` makes
//! the client's span its parent, so an exporter shows the server's span in
//! the client's trace.
//!
//! `tracing-opentelemetry` starts the OpenTelemetry span the first time the
//! span is entered, and from then on neither its parent nor its name
//! (`otel.name`) can change; the envelope is read inside the stack, after
//! the span was made. So the [`Trail`](mcp_guard_core::Trail) carries the
//! span: the envelope peek names it (and sets its parent) the moment it has
//! read the envelope, and then runs the layers behind it — the guards after
//! it and the handler — inside it. Under the `opentelemetry` feature, this
//! layer's own polls enter the span only once the envelope is known, so what
//! runs before the peek (origin guard, CORS) logs outside it; without the
//! feature the whole stack runs inside it. A guard used alone that reads the
//! body itself records the envelope too, but does not enter the span: there,
//! the layers behind it run inside the span from the next poll on; in a
//! stack without any peek, under the feature, only the audit event is.

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod body;
mod event;
mod exchange;
mod future;
mod layer;
pub mod metrics;
#[cfg(feature = "opentelemetry")]
mod otel;
mod scan;
mod service;
mod tracing_sink;

pub use body::ObserveBody;
pub use event::{Caller, EventSink, Outcome, RequestEvent};
pub use future::ResponseFuture;
pub use layer::ObserveLayer;
pub use service::Observe;
pub use tracing_sink::TracingSink;
