//! A Tower layer that makes any MCP handler's Server-Sent Events resumable,
//! the way the legacy era (2025-03-26 … 2025-11-25) asks: a client whose
//! stream drops reconnects with `GET` + `Last-Event-ID` and gets exactly what it
//! missed on that stream. No message lost, none leaked across sessions.
//!
//! - **Ids of our own.** The handler's `text/event-stream` responses (POST
//!   streams and the GET stream) are parsed incrementally ([`SseParser`]) and
//!   every event gets the layer's id, `<stream>-<seq>` ([`EventId`]): unique
//!   across the session's streams (stream ids are random), naming its stream.
//!   Ids the handler set are replaced; its own empty priming events dropped.
//! - **Stored before sent.** A task drains the handler's stream into the
//!   [`EventStore`]; the client's body reads the store after its cursor, then
//!   follows live. Replay and live are one cursor: no gap, no duplicate.
//! - **Drained while away.** When the client disconnects, the handler's stream
//!   is still read into the store for the
//!   [drain timeout](SseResumeLayerBuilder::drain_timeout), so a result that
//!   arrives meanwhile is there on resume.
//! - **Scoped to the session.** Events are keyed by the session's id from the
//!   session layer's [`Session`](mcp_session::Session) (which the session layer
//!   only hands to the principal that owns it). A `Last-Event-ID` of another
//!   session, a forged one, an unknown one, or one past a stream's end gets
//!   `400`; one whose successors were evicted gets `410 Gone`. Never another
//!   session's events. `DELETE` purges the session's events. Each refusal
//!   logs at `info` and carries a [`Rejection`](mcp_guard_core::Rejection)
//!   extension with the guard `sse-resume` and the reason
//!   `event_id_malformed`, `event_id_unknown` (`400`), `events_evicted`
//!   (`410`) or `store_unavailable` (`503`).
//! - **2025-11-25.** A priming event (an id and empty `data`) opens every new
//!   stream, with `retry:`; it is never stored, so never replayed as data.
//!   Optional [polling](Polling) closes the connection (not the stream) after N
//!   events or a time budget. Older versions get neither.
//! - **Stateless era (2026-07-28).** No ids, no storage, no replay:
//!   `X-Accel-Buffering: no`, keep-alive comments on an interval, and a
//!   client disconnect drops the handler's body (nothing keeps running).
//! - **Bounded.** Events per stream, streams per session, bytes per session,
//!   per principal and overall, a TTL ([`EventStoreLimits`]); over a cap the
//!   oldest go, the appending principal's own first. One principal cannot
//!   evict another's events by flooding its own streams, and never another's
//!   stream that is still running or has a reader attached.
//!
//! Without a session (no session layer, or a sessionless server) responses
//! pass through untouched: there is nothing to scope a resume to.
//!
//! Stack it inside the session layer: `… → session → sse-resume → handler`.
//!
//! # Choosing a store
//!
//! The embedded [`MemoryEventStore`] is the default: ring buffers in the
//! process, gone when it restarts. Choose `RedisEventStore` (feature `redis`)
//! when more than one server instance answers the same endpoint: a client's
//! `GET` with `Last-Event-ID` may land on any instance, and must find the
//! events another instance stored, and follow them live. It keeps each stream
//! in a Redis Stream (a resume is one exclusive range read), enforces the same
//! [`EventStoreLimits`], and blocks in `XREAD` for the live tail on
//! connections of its own. When Redis is down, resumes and new event streams
//! get `503` with `Retry-After`. Use it with the session layer's
//! `RedisSessionStore`, so the sessions the events belong to are shared too.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_sse_resume::{RedisEventStore, SseResumeLayer};
//!
//! let store = RedisEventStore::builder("redis://127.0.0.1:6379/").build().await?;
//! let layer = SseResumeLayer::builder(store).build();
//! # drop(layer);
//! # Ok(())
//! # }
//! ```
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use mcp_guard_core::GuardBody;
//! use mcp_session::SessionGuardLayer;
//! use mcp_sse_resume::SseResumeLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A handler that answers initialize in JSON and everything else with SSE,
//! // setting ids of its own that the layer replaces.
//! let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
//!     let body = request.into_body().collect().await.unwrap().to_bytes();
//!     let response = if body.windows(10).any(|w| w == b"initialize") {
//!         Response::builder().header("content-type", "application/json").body(Full::from(
//!             r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#,
//!         ))
//!     } else {
//!         Response::builder().header("content-type", "text/event-stream").body(Full::from(
//!             "id: handler-1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
//!         ))
//!     };
//!     Ok::<_, Infallible>(response.unwrap())
//! });
//! let service = ServiceBuilder::new()
//!     .layer(SessionGuardLayer::issue())
//!     .layer(SseResumeLayer::new())
//!     .service(handler);
//!
//! let initialize = Request::post("/mcp").header("content-type", "application/json").body(Full::from(
//!     r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
//! ))?;
//! let session = service.clone().oneshot(initialize).await?.headers()["mcp-session-id"].clone();
//!
//! let call = Request::post("/mcp")
//!     .header("content-type", "application/json")
//!     .header("mcp-session-id", session)
//!     .body(Full::from(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))?;
//! let text = service.oneshot(call).await?.into_body().collect().await.unwrap().to_bytes();
//! let text = String::from_utf8(text.to_vec())?;
//! // The event carries the layer's id, `<stream>-1`, not the handler's.
//! assert!(text.starts_with("id: ") && text.contains("-1\ndata: {"), "{text}");
//! assert!(!text.contains("handler-1"));
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod body;
mod future;
mod id;
mod layer;
mod parser;
mod replay;
mod service;
pub mod store;

pub use body::ResumeBody;
pub use future::ResponseFuture;
pub use id::{EventId, InvalidEventId, StreamId};
pub use layer::{Polling, SseResumeLayer, SseResumeLayerBuilder};
pub use parser::{SseEvent, SseParseError, SseParser};
pub use service::SseResume;
pub use store::{
    EventStore, EventStoreLimits, EventStoreLimitsConfigError, MemoryEventStore, Replay,
    StoreError, StreamKey,
};
#[cfg(feature = "redis")]
pub use store::{RedisEventStore, RedisEventStoreBuilder};
