//! A Tower layer that checks MCP Streamable HTTP requests of both protocol
//! eras before they reach the handler: content negotiation, the protocol
//! version, and — for the stateless 2026-07-28 era — that the routing headers
//! a load balancer acts on say the same as the body the handler executes.
//!
//! The layer decides each request's [`ProtocolVersion`](mcp_guard_core::ProtocolVersion)
//! once and puts it in the request's extensions for the layers after it;
//! [`Era::of`](mcp_guard_core::Era::of) reads the era from it.
//!
//! **The body.** Used alone, the guard reads a POST body itself, once, with
//! its own [`EnvelopeLimits`](mcp_guard_core::EnvelopeLimits) (set with
//! [`ProtocolGuardLayerBuilder::envelope_limits`]; size limit `413`, read
//! timeout `408`); the envelope goes into the extensions, so no later layer
//! parses the body again, and the handler gets the bytes unchanged. Behind an
//! [`EnvelopePeekLayer`](mcp_guard_core::EnvelopePeekLayer) (what the
//! `mcp-guard` presets stack) it finds the envelope in the extensions and
//! reads nothing.
//!
//! | rule | rejection |
//! |---|---|
//! | POST `Content-Type` is not `application/json` (parameters and case allowed) | `415` |
//! | POST `Accept` does not admit both `application/json` and `text/event-stream`; GET does not admit `text/event-stream` (`*/*`, `type/*` count, `q=0` does not) | `406` |
//! | `MCP-Protocol-Version` invalid or unsupported (absent = 2025-03-26 in the legacy era) | `400`, code `-32022`, `data: {"supported": [...], "requested": "..."}` |
//! | `MCP-Protocol-Version` repeated | `400`, code `-32000` |
//! | stateless era, in this order: the header missing while the body's `_meta` names a version | `400`, code `-32020` |
//! | … a request without `params._meta`, or whose `_meta` lacks `io.modelcontextprotocol/protocolVersion` or `io.modelcontextprotocol/clientCapabilities` | `400`, code `-32602` |
//! | … the header and the `_meta` version disagree | `400`, code `-32020` |
//! | … both name a version the server does not support | `400`, code `-32022` with `data` as above |
//! | … a method the stateless era removed (`initialize`, `ping`, `logging/setLevel`, `resources/subscribe`, `resources/unsubscribe`) | `404`, code `-32601` |
//! | … `Mcp-Method` ≠ `method`; `Mcp-Name` ≠ `params.name` (`tools/call`, `prompts/get`) or `params.uri` (`resources/read`); missing, repeated, invalid characters, malformed `=?base64?…?=` | `400`, code `-32020`, naming the header and both values |
//! | … an `Mcp-Param-{Name}` of an `x-mcp-header` argument missing, present without its argument, or disagreeing (integers numerically, booleans `true`/`false`) | `400`, code `-32020` |
//! | legacy era: an `Mcp-Method`, `Mcp-Name` or `Mcp-Param-*` that is sent but disagrees with the body as above (legacy clients need not send them), or any of them on a batch | `400`, code `-32020` |
//! | either era: `Mcp-Name` on a method that names no tool, prompt or resource | `400`, code `-32020` |
//! | with [`strict_param_headers`](ProtocolGuardLayerBuilder::strict_param_headers): an `Mcp-Param-*` the guard cannot compare with the body (unknown tool, unannotated parameter, not a `tools/call`) | `400`, code `-32020` |
//! | a JSON-RPC batch outside 2025-03-26 | `400`, code `-32600` |
//! | a body that is not a JSON-RPC message | `400`, code `-32700` |
//! | `GET`/`DELETE` in the stateless era, or on a server serving only it | `405` with `Allow: POST` |
//! | any other method but `OPTIONS` (`PUT`, `PATCH`, `HEAD` of the endpoint, …) | `405` with `Allow` |
//!
//! Every rejection of a body that parsed as one message with an id carries
//! that id, and is logged at `info` (a client's mistake, not the operator's)
//! by [`McpError::log_refusal`](mcp_guard_core::McpError::log_refusal).
//! Its response carries a [`Rejection`](mcp_guard_core::Rejection) extension
//! with the guard `protocol-guard` and the reason, by row:
//! `unsupported_media_type` (`415`), `not_acceptable` (`406`),
//! `unsupported_protocol_version` (`-32022`), `protocol_version_repeated`,
//! `meta_missing` (`-32602`), `header_mismatch` (every `-32020`),
//! `method_not_in_era` (`404`), `batch_not_allowed`, `parse_error`,
//! `invalid_message`, `method_not_allowed` (`405`); and from its own body read
//! `body_too_large` (`413`), `body_read_timeout` (`408`), `body_unreadable`.
//! A `GET`/`HEAD` of a public OAuth metadata document
//! ([`is_metadata_read`](mcp_guard_core::well_known::is_metadata_read)) is
//! passed on unchecked, whatever `Accept` or MCP headers it carries.
//!
//! **Which era.** The `MCP-Protocol-Version` header decides. Without it, a
//! request is legacy (2025-03-26), except that a body whose `_meta` names a
//! version is a stateless request missing its header. A legacy `initialize` is
//! never refused over the version it asks for: negotiation is the handler's.
//!
//! **`Mcp-Param-*`.** The guard learns which tool arguments a client mirrors
//! into headers by watching the handler's `tools/list` results go by (JSON or
//! SSE, up to 1 MiB, at most [`DEFAULT_MAX_LEARNED_TOOLS`] tools), or from
//! [`ProtocolGuardLayerBuilder::tool_input_schema`]. Headers of arguments no tool
//! annotates are forwarded untouched, unless
//! [`ProtocolGuardLayerBuilder::strict_param_headers`] is on. A tool's arguments are
//! only looked at when it has annotations.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_guard_core::{Era, GuardBody};
//! use mcp_protocol_guard::ProtocolGuardLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
//!     let era = Era::of(&request);
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!("{era:?}")))))
//! });
//! let service = ServiceBuilder::new().layer(ProtocolGuardLayer::new()).service(handler);
//!
//! let call = |method: &str, name: &str| {
//!     Request::post("/mcp")
//!         .header("content-type", "application/json")
//!         .header("accept", "application/json, text/event-stream")
//!         .header("mcp-protocol-version", "2026-07-28")
//!         .header("mcp-method", method)
//!         .header("mcp-name", name)
//!         .body(Full::from(
//!             r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
//!         ))
//!         .unwrap()
//! };
//! // Headers that agree with the body pass, and the handler learns the era.
//! let response = service.clone().oneshot(call("tools/call", "search")).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // A gateway routed on a tool name the body does not call: refused.
//! let response = service.oneshot(call("tools/call", "read_file")).await?;
//! assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod body;
mod check;
mod future;
mod layer;
mod negotiation;
mod param_headers;
mod sentinel;
mod service;

pub use body::ObservedBody;
pub use future::ResponseFuture;
pub use layer::{
    DEFAULT_MAX_LEARNED_TOOLS, ProtocolGuardConfigError, ProtocolGuardLayer,
    ProtocolGuardLayerBuilder,
};
pub use service::ProtocolGuard;
