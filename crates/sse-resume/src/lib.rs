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
//! - **Stored before sent.** The handler's stream is drained into the
//!   [`EventStore`]; the client's body reads the store after its cursor, then
//!   follows live. Replay and live are one cursor: no gap, no duplicate.
//!   While the client that opened the stream is connected, its body drives
//!   the drain in the connection's task (no task or timer per stream to wake).
//! - **Drained while away.** When the client disconnects, the handler's stream
//!   is still read into the store for the
//!   [drain timeout](SseResumeLayerBuilder::drain_timeout), so a result that
//!   arrives meanwhile is there on resume.
//! - **Scoped to the session.** Events are keyed by the session's id from the
//!   [`SessionContext`](mcp_guard_core::SessionContext) the session layer
//!   (mcp-session) puts in the request extensions, only for the principal
//!   that owns the session; that principal's
//!   [`Owner::key`](mcp_guard_core::Owner::key) is the budget its events
//!   count against. A `Last-Event-ID` of another
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
//!   stream that is still running or has a reader attached. A reader holds a
//!   lease only while it still has events to read: one that sent a closed
//!   stream to its end leaves it the first to give up.
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
//! In a stack the session layer (mcp-session) inserts the
//! [`SessionContext`](mcp_guard_core::SessionContext); here a `map_request`
//! stands in for it.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use mcp_guard_core::{Owner, ProtocolVersion, SessionContext};
//! use mcp_sse_resume::SseResumeLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A handler that answers with SSE, setting ids of its own that the layer replaces.
//! let handler = tower::service_fn(|_: Request<Full<Bytes>>| async move {
//!     let response = Response::builder().header("content-type", "text/event-stream").body(Full::from(
//!         "id: handler-1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
//!     ));
//!     Ok::<_, Infallible>(response.unwrap())
//! });
//! let service = ServiceBuilder::new()
//!     // What the session layer tells the layers inside it about a live session.
//!     .map_request(|mut request: Request<Full<Bytes>>| {
//!         let session = SessionContext::new("a1b2c3", ProtocolVersion::V2025_06_18, Owner::anonymous());
//!         request.extensions_mut().insert(session);
//!         request
//!     })
//!     .layer(SseResumeLayer::new())
//!     .service(handler);
//!
//! let call = Request::post("/mcp")
//!     .header("content-type", "application/json")
//!     .header("mcp-session-id", "a1b2c3")
//!     .body(Full::from(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))?;
//! let text = service.oneshot(call).await?.into_body().collect().await.unwrap().to_bytes();
//! let text = String::from_utf8(text.to_vec())?;
//! // The event carries the layer's id, `<stream>-1`, not the handler's.
//! assert!(text.starts_with("id: ") && text.contains("-1\ndata: {"), "{text}");
//! assert!(!text.contains("handler-1"));
//! # Ok(())
//! # }
//! ```
//!
//! [`SseResumeLayer::disabled`] switches the layer off without changing the
//! stack's type: everything passes through untouched.

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
