//! A Tower layer that owns the MCP session lifecycle (legacy era,
//! 2025-03-26 … 2025-11-25) in front of any handler: sessions minted or
//! tracked, bound to the caller, expired, capped, in a pluggable async store.
//!
//! | request | answer |
//! |---|---|
//! | `initialize` that succeeds | a session is created *after* the handler's successful InitializeResult; in [`Mode::Issue`] the layer mints the id (192 bits from the OS CSPRNG) and sets `Mcp-Session-Id`, in [`Mode::Track`] it records the handler's id |
//! | `initialize` the handler rejects | no session, nothing stored |
//! | `initialize` carrying an `Mcp-Session-Id` | the header is removed before the handler: a new session, whatever id was presented |
//! | any other request without `Mcp-Session-Id`, or with two | `400` |
//! | an id outside visible ASCII (0x21–0x7E) or over [`max_id_len`](SessionGuardLayerBuilder::max_id_len) | `400`, without a store lookup |
//! | an unknown, expired, ended id — or another caller's | `404`, code `-32001`, "initialize a new session" (the same answer: a leaked id tells its finder nothing) |
//! | `MCP-Protocol-Version` that is not a legacy-era version (another supported legacy version than the negotiated one is accepted, as the spec asks; [`pin_protocol_version`](SessionGuardLayerBuilder::pin_protocol_version) refuses it) | `400` |
//! | `DELETE` | the record is removed; the DELETE (with the [`Session`]) still goes through the layers inside, so they can purge what the session owned; in track mode the handler's answer is returned, in issue mode `204`; `405` with `Allow` when [client termination](SessionGuardLayerBuilder::client_termination) is off |
//! | more live sessions than allowed | `503` overall, `429` per principal, with `Retry-After`; anonymous sessions count against the overall cap only (see **Caps**) |
//! | the store cannot answer | `503` with `Retry-After`: never a `500`, never a silently new session |
//! | stateless-era (2026-07-28) traffic | passed through: no session read or minted, and an `Mcp-Session-Id` the handler put on the answer is removed |
//! | a `GET`/`HEAD` of a public OAuth metadata document | passed through untouched |
//!
//! Every refusal of a request whose body parsed carries its JSON-RPC `id`.
//!
//! **Binding.** A session records its [`Owner`](mcp_guard_core::Owner): that
//! of the [`Principal`](mcp_guard_core::Principal) that created it (issuer,
//! subject, client id), as bearer-auth puts it in the request's extensions;
//! without one, the session is anonymous. A principal
//! without issuer or subject is refused a session by default
//! ([`IncompletePrincipal`]), rather than silently bound to its client id;
//! one that names nobody at all is always refused, never made anonymous.
//!
//! **Caps.** At most [`max_sessions`](SessionGuardLayerBuilder::max_sessions)
//! live sessions overall (default 10 000, then `503`) and per principal
//! (default 32, then `429`). Anonymous sessions are bounded by the overall cap
//! alone: callers without a principal are not one caller, and the layer
//! cannot tell them apart, so one shared bucket would lock a local server's
//! only user out after 32 reconnects without `DELETE`. Per-address bounds on
//! unauthenticated clients belong to the HTTP server or a proxy.
//!
//! **Expiry.** Idle timeout and absolute lifetime, enforced by the store and
//! checked again by the layer. A busy session is touched in the store at most
//! once per [`touch_interval`](SessionGuardLayerBuilder::touch_interval), so a
//! remote store is not written on every request.
//!
//! **The handler's view.** Each request of a live session carries a
//! [`Session`], read with [`Session::from_extensions`]: id, owner, times,
//! negotiated version, and a small typed key-value state saved to the store
//! when the response arrives. It travels in the one extension the layer
//! inserts, the core's [`SessionContext`](mcp_guard_core::SessionContext)
//! (id, negotiated [`ProtocolVersion`](mcp_guard_core::ProtocolVersion),
//! owner): what the layers inside (sse-resume) read, so they need not depend
//! on this crate. The `DELETE` of a session carries it too.
//!
//! **Reading the body.** Whether a POST is an `initialize` is in its
//! JSON-RPC envelope. Used alone, the layer reads the envelope itself, once,
//! bounded by its own [`EnvelopeLimits`](mcp_guard_core::EnvelopeLimits)
//! (see [`envelope_limits`](SessionGuardLayerBuilder::envelope_limits)), and
//! hands the bytes on unchanged. Behind an
//! [`EnvelopePeekLayer`](mcp_guard_core::EnvelopePeekLayer) (as in the
//! `mcp-guard` presets) it finds the envelope in the request's extensions and
//! reads nothing.
//!
//! **Switched off.** [`SessionGuardLayer::disabled`] builds a layer of the
//! same type that passes everything through: a stack can switch the guard
//! off by configuration without changing its type.
//!
//! **Futures.** The response future is a hand-written state machine, and
//! no `Send` or `'static` bound falls on the inner service or the bodies (the
//! service must be `Clone`: a polled-ready instance goes into each request's
//! future, as in tower-http). A request the layer does not own is passed
//! through without an allocation. A request of a live session reads its body
//! (unless a layer outside did), looks its id up borrowed from the header,
//! and calls the handler: with a store that answers at once
//! ([`SessionStore::load_now`](store::SessionStore::load_now): the embedded
//! one does) nothing is boxed or copied, and the record is the stored one,
//! shared. The layer's own allocations on that path are the [`Session`]'s
//! shared state and the one extension it inserts. A store call that must
//! be waited for is boxed (a store returns its futures unnamed), holding
//! only the store and what the call needs: a network store's lookup (its
//! round trip dwarfs the box), a touch (once per
//! [`touch_interval`](SessionGuardLayerBuilder::touch_interval)), a changed
//! state saved, a `DELETE`'s removal, an `initialize`'s create.
//!
//! # Choosing a store
//!
//! The embedded [`MemorySessionStore`](store::MemorySessionStore) is the default: nothing
//! to run, about a kilobyte per idle session, gone when the process
//! restarts. Choose `RedisSessionStore` (feature `redis`) when more than one
//! server instance answers the same endpoint, or sessions must outlive a
//! restart: every instance then sees every session, its owner, its expiry
//! and the caps, which Redis enforces atomically. It costs one round trip to
//! Redis per request (the lookup) plus one per touch interval (the touch);
//! when Redis is down, requests that need a session get `503` with
//! `Retry-After`, never a session kept in memory instead.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_session::{Mode, RedisSessionStore, SessionGuardLayer};
//!
//! let store = RedisSessionStore::builder("redis://127.0.0.1:6379/").build().await?;
//! let layer = SessionGuardLayer::builder(Mode::Issue, store).build()?;
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
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_guard_core::GuardBody;
//! use mcp_session::SessionGuardLayer;
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A stateless handler; the layer mints and enforces the session ids.
//! let handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
//!     let result = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"demo","version":"1"}}}"#;
//!     let response = Response::builder().header("content-type", "application/json").body(Full::from(result));
//!     Ok::<_, Infallible>(response.unwrap())
//! });
//! let service = SessionGuardLayer::issue().layer(handler);
//!
//! let initialize = Request::post("/mcp")
//!     .header("content-type", "application/json")
//!     .body(Full::from(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#))?;
//! let response = service.clone().oneshot(initialize).await?;
//! let id = response.headers()["mcp-session-id"].clone();
//!
//! let ping = |id: Option<&http::HeaderValue>| {
//!     let mut request = Request::post("/mcp").header("content-type", "application/json");
//!     if let Some(id) = id {
//!         request = request.header("mcp-session-id", id);
//!     }
//!     request.body(Full::from(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)).unwrap()
//! };
//! assert_eq!(service.clone().oneshot(ping(Some(&id))).await?.status(), StatusCode::OK);
//! assert_eq!(service.clone().oneshot(ping(None)).await?.status(), StatusCode::BAD_REQUEST);
//! let unknown = http::HeaderValue::from_static("no-such-session");
//! assert_eq!(service.oneshot(ping(Some(&unknown))).await?.status(), StatusCode::NOT_FOUND);
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod future;
mod id;
mod initialize;
mod layer;
mod opening;
mod record;
mod service;
pub mod store;

pub use future::ResponseFuture;
pub use id::{DEFAULT_MAX_SESSION_ID_LEN, InvalidSessionId, SessionId};
pub use layer::{
    IncompletePrincipal, Mode, SessionGuardConfigError, SessionGuardLayer, SessionGuardLayerBuilder,
};
pub use record::{
    MAX_STATE_BYTES, MAX_STATE_KEYS, Session, SessionRecord, StateChanges, StateError, now_millis,
};
pub use service::SessionGuard;
#[cfg(feature = "redis")]
pub use store::{RedisSessionStore, RedisSessionStoreBuilder};
