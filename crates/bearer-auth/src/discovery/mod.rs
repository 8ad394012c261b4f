//! Discovery filtered by authorization: a caller's `tools/list`,
//! `prompts/list`, `resources/list` and `resources/templates/list` answers
//! hold only what that caller's scopes allow.
//!
//! [`DiscoveryFilterLayer`] takes the same [`ScopePolicy`](crate::ScopePolicy)
//! the [`BearerAuthLayer`](crate::BearerAuthLayer) in front of it enforces,
//! and lists an item exactly when bearer auth would let this caller use it:
//!
//! - a tool when it would pass a `tools/call` of it, a prompt a
//!   `prompts/get`, a resource a `resources/read` of its `uri`: the
//!   endpoint's scopes ([`require`](crate::ScopePolicy::require)), the
//!   method's ([`require_for_method`](crate::ScopePolicy::require_for_method)),
//!   the item's own, public tools and methods, and scope hierarchies all
//!   count ([`ScopePolicy::allows_call`](crate::ScopePolicy::allows_call));
//!   an item without its `name` (or `uri`) cannot be judged and is left out;
//! - a resource template when a `resources/read` would pass on the endpoint's
//!   and the method's scopes. A template stands for many URIs, and the
//!   per-resource rules name exact URIs, which cannot be matched soundly
//!   against a pattern; a read of an expanded URI still meets its own rule.
//!
//! Hiding is a convenience, not the protection: a call of a tool the caller
//! was not shown still goes through bearer auth, which answers `403
//! insufficient_scope` with the step-up challenge, so a client can step up
//! and, with the new token, sees the tool in its next listing.
//!
//! # Who is asking
//!
//! The caller is the [`Principal`](mcp_guard_core::Principal) bearer auth put
//! in the request's extensions. A request without one (no token on a public
//! method, or no bearer auth at all) is filtered as a caller holding no
//! scope: it sees public tools and public methods' items only, never more
//! than it could call. (Passing it unfiltered would list what it cannot
//! call; filtering it is what the policy says.)
//!
//! Which request is a list request is read from the
//! [`RpcEnvelope`](mcp_guard_core::RpcEnvelope) in the request's extensions:
//! bearer auth puts it there (behind an
//! [`EnvelopePeekLayer`](mcp_guard_core::EnvelopePeekLayer), as in the
//! `mcp-guard` presets, or reading the body itself when used alone). Without
//! one the filter cannot tell a list request apart and passes the request
//! untouched: place it after bearer auth.
//!
//! # Answers
//!
//! In the answer to a body holding a list request, **every JSON-RPC
//! response** is looked at: the JSON body (one message, or each message of
//! a batch array) and the `data` of each event of an event stream. Each one
//! whose `result` holds a `tools`, `prompts`, `resources` or
//! `resourceTemplates` array is filtered as that list (each such array of
//! it), **whatever its `id`**: ids are the client's to choose (a float `1.0`
//! a handler answers as `1`, one id given to two requests of a batch), so
//! they never decide whether a list is filtered. Messages with no list in
//! their `result` (error answers, a `ping`'s result, notifications, whose
//! lists would be in `params`) pass as they came.
//!
//! - **JSON** (`application/json`): buffered, up to
//!   [`max_list_bytes`](DiscoveryFilterLayer::max_list_bytes) (default
//!   [`DEFAULT_MAX_LIST_BYTES`]), filtered, handed on (`Content-Length`
//!   dropped: the length changed); a body holding no list is handed on byte
//!   for byte.
//! - **Event streams** (`text/event-stream`, which rmcp answers legacy-era
//!   POSTs with): cut into events as they come, every event up to the end of
//!   the stream; only the `data` of an event holding a list is rewritten.
//!   Its `id`, `event`, `retry` and comment lines, and every other event
//!   (notifications, the priming event with its empty data, keep-alive
//!   comments), pass byte for byte.
//! - Both **eras** alike; pagination (`nextCursor`) and every other member of
//!   the result stay as they are: a page may hold fewer items, never another
//!   page's.
//! - **Caching** (2026-07-28, SEP-2549): a filtered answer depends on the
//!   caller, so every stateless-era result holding a list is marked
//!   `"cacheScope": "private"`, whether or not it removed something, so no
//!   cache serves one caller's list to another. Legacy-era results carry no
//!   cache members and get none.
//! - **Batches** (2025-03-26): each message of an array answer is filtered
//!   on its own, as above.
//! - **Compression**: a list request is passed on without its
//!   `Accept-Encoding` header, so a compression layer behind the filter (or
//!   a handler that compresses) answers it uncompressed. Place compression in
//!   front of the filter to compress filtered lists. Other requests keep the
//!   header.
//! - An error status, or an answer of another type, lists nothing a client
//!   reads and passes.
//!
//! # Bounded, and failing closed
//!
//! The filter holds at most `max_list_bytes` of one JSON answer or one
//! event. It never passes on what it cannot read; in its place the caller
//! gets a JSON-RPC error `-32603` that says the answer was withheld and why,
//! with the id of each list request of the body no response has answered
//! yet (by id, the way a handler compares them: `1.0` is answered by `1`),
//! or of every list request once each was (an array for more than one):
//!
//! - A successful answer with a `Content-Encoding` other than `identity`
//!   (reason `list_encoded`), or a JSON answer whose declared length is over
//!   the limit (`list_too_large`), is refused before it is read: `502`, none
//!   of the handler's headers, a [`Rejection`](mcp_guard_core::Rejection)
//!   naming `discovery-filter` and the reason.
//! - A JSON answer found over the limit while reading it (`list_too_large`),
//!   or that is not JSON (`list_unreadable`): the status and headers are
//!   already the handler's; the body is the error document.
//! - An event over the limit (or an unfinished one holding more), or an
//!   event whose `data` is not empty and not JSON (`list_unreadable`): the
//!   events before it pass, an event carrying the error takes its place,
//!   and the stream ends there.
//!
//! Each is logged at `warn`: the operator raises the limit, paginates, or
//! moves compression in front.
//!
//! Requests that are not list requests cost a look at the envelope: no body
//! wrapping beyond a pass-through variant, nothing allocated.
//!
//! # In a stack
//!
//! Innermost, right before the handler, after resumable SSE: the events the
//! resume layer stores and replays are the filtered ones. The `mcp-guard`
//! preset puts it there with `McpGuard::filter_discovery(true)`.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use mcp_bearer_auth::ScopePolicy;
//! use mcp_bearer_auth::discovery::DiscoveryFilterLayer;
//! use mcp_guard_core::{Principal, RpcEnvelope};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = ScopePolicy::new()
//!     .require(["mcp"])
//!     .require_for_tool("admin_echo", ["mcp:admin"]);
//! let handler = tower::service_fn(|_: Request<Full<Bytes>>| async {
//!     let tools = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"admin_echo"}]}}"#;
//!     let response = Response::builder().header("content-type", "application/json");
//!     Ok::<_, Infallible>(response.body(Full::from(tools)).unwrap())
//! });
//! let service = DiscoveryFilterLayer::new(policy).layer(handler);
//!
//! // What bearer auth (and the envelope peek) in front leave in the extensions.
//! let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
//! let mut request = Request::post("/mcp").body(Full::from(list))?;
//! request.extensions_mut().insert(RpcEnvelope::parse(list.as_bytes()));
//! request.extensions_mut().insert(Principal::new().with_scopes(["mcp"]));
//!
//! let response = service.oneshot(request).await?;
//! let answer: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
//! assert_eq!(answer["result"]["tools"], serde_json::json!([{"name": "echo"}]));
//! # Ok(())
//! # }
//! ```

mod body;
mod filter;
mod future;
mod layer;
mod service;
mod sse;

pub use body::DiscoveryBody;
pub use future::ResponseFuture;
pub use layer::DiscoveryFilterLayer;
pub use service::DiscoveryFilter;

/// The default of [`DiscoveryFilterLayer::max_list_bytes`]: 4 MiB, the
/// presets' request body limit.
pub const DEFAULT_MAX_LIST_BYTES: usize = 4 * 1024 * 1024;

/// The name the filter's refusals carry in
/// [`Rejection::guard`](mcp_guard_core::Rejection), and the name the
/// `mcp-guard` preset lists it under (core's
/// [`guard::DISCOVERY_FILTER`](mcp_guard_core::guard::DISCOVERY_FILTER)).
pub const GUARD: &str = mcp_guard_core::guard::DISCOVERY_FILTER;
