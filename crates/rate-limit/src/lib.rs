//! Request rate limits for MCP servers: a token bucket per authenticated
//! caller ([`governor`]'s keyed limiter), so one noisy client cannot starve
//! the others, and per-tool limits on top, so an expensive tool can have a
//! far smaller budget than the server as a whole.
//!
//! Stack it after bearer auth: it keys on the [`Principal`] that layer puts in
//! the request's extensions ([`Principal::caller_key`]: the subject within its
//! issuer, or the client id when a token has no subject; tokens that name
//! neither share one bucket per issuer).
//!
//! # Per-principal limit
//!
//! [`RateLimitLayer::per_second`] or [`RateLimitLayer::new`] with any governor
//! [`Quota`]. Every request of a caller counts. A request
//! without a principal (the RFC 9728 metadata, a public tool) is not counted
//! by this limit: limit anonymous traffic per address at the proxy in front,
//! where the address is known.
//!
//! # Per-tool limits
//!
//! [`RateLimitLayer::tool`] gives a tool its own quota per principal, e.g.
//! `expensive_tool` 5 a minute, like the scope policy of bearer auth gives it
//! its own scopes. A `tools/call` request naming the tool (`params.name`)
//! counts against it; in a batch (revision 2025-03-26) each call counts, and
//! a batch whose calls of one tool the bucket cannot all admit is refused as
//! a whole, spending nothing of that tool's bucket (in memory, a batch that
//! calls several limited tools may have spent the buckets of the tools
//! checked before the one that refused it; in Redis the whole batch is
//! counted atomically). A batch with more calls of a tool than its burst is
//! refused without `Retry-After`, since no wait would admit it. Other tools and other methods are not counted against it. A
//! quota is governor's GCRA: `Quota::per_minute(5)` admits 5 calls at once,
//! then one every 12 s.
//!
//! - **Both limits, in this order.** A call of a limited tool counts against
//!   the caller's per-principal limit first, then against the tool's. A
//!   request the per-principal limit refuses spends nothing of the tool's
//!   budget; a call the tool's limit refuses has spent one per-principal
//!   token (it was a request like any other). [`RateLimitLayer::tools_only`]
//!   has tool limits without a per-principal limit.
//! - **Anonymous callers share one bucket per tool.** A call without a
//!   principal (a public tool, a server without bearer auth) counts against
//!   one bucket per tool that all anonymous callers share: the tool's quota is
//!   then a cap on its anonymous use as a whole. Not counting them would let
//!   anyone without a token call the tool without limit; a bucket per
//!   anonymous caller needs the client's address, which only the proxy in
//!   front knows reliably.
//! - **Where the tool name comes from.** From the [`RpcEnvelope`] the
//!   stack's one envelope peek put in the request's extensions (a preset,
//!   or bearer auth or the protocol guard before this layer). Used alone,
//!   the layer reads the POST body itself, with the limits of
//!   [`RateLimitLayer::envelope_limits`] (`413`/`408`/`400` when the body is
//!   too large, too slow or broken), and hands the same bytes on: per-tool
//!   limits never stop counting because no layer before this one parsed the
//!   body. Without per-tool limits nothing is read.
//! - **A body that cannot be read is refused.** A POST whose envelope is
//!   [`RpcEnvelope::Unparsable`] (invalid JSON, a duplicated member, a
//!   member of the wrong type, a `null` id) names no tool the limits could
//!   count, yet a handler may still read one (the last of two `"name"`
//!   members, say) and run it. With per-tool limits it is refused: `400`, a
//!   JSON-RPC parse error (`-32700`, id `null`: none could be read) saying
//!   what to fix, `rate-limit` / `parse_error` (the protocol guard's code and
//!   reason for the same body). Without per-tool limits it passes unread.
//! - **Across instances.** By default the buckets live in this process's
//!   memory: behind a load balancer with `n` instances a caller gets up to
//!   `n` times each quota. With feature `redis`,
//!   `RateLimitLayer::tool_limits_in_redis` counts the per-tool limits in
//!   Redis instead: one budget per caller and tool for every instance (GCRA
//!   in one Lua script on Redis's clock; a batch's calls counted atomically,
//!   a refused batch spends nothing; each bucket expires once it is full
//!   again). A Redis that cannot answer within the connection's command
//!   timeout refuses the limited tool's calls with `503` and `Retry-After`
//!   (`rate-limit` / `store_unavailable`; fail closed, logged at `warn`);
//!   other calls never wait on Redis. The per-principal limit stays per
//!   instance: it guards each instance's own capacity (divide it by the
//!   instance count for a global figure).
//!
//! # Refusals
//!
//! A caller over a quota gets `429 Too Many Requests` with `Retry-After`
//! (whole seconds until the bucket admits the next request, rounded up) and
//! a JSON-RPC error body carrying the request's id. The response carries a
//! [`Rejection`](mcp_guard_core::Rejection) extension: `rate-limit` /
//! `rate_limited` for the per-principal limit, `rate-limit` /
//! `tool_rate_limited` for a tool's, whose message names the tool and whose
//! `data` is `{"tool": "...", "retryAfterSeconds": n}`; with per-tool limits,
//! `rate-limit` / `parse_error` (`400`) for a body that cannot be read (see
//! above). Refusals log at `info`, with the caller and the tool at `debug`.
//!
//! # Memory
//!
//! Every limiter forgets the buckets of callers idle long enough to be full
//! again (a sweep every 4096 requests), so memory follows the active callers.
//! The tools are the ones configured: a call of any other tool allocates
//! nothing.
//!
//! [`RateLimitLayer::disabled`] counts nothing, reads nothing and refuses
//! nothing, with the same service type: a stack can switch the limit off by
//! configuration without changing its type.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use std::num::NonZeroU32;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_guard_core::{GuardBody, Principal, Rejection};
//! use mcp_rate_limit::RateLimitLayer;
//! use tower::{Service, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // 20 requests a second per principal, bursts of up to 2.
//! let layer = RateLimitLayer::per_second(NonZeroU32::new(20).unwrap())
//!     .burst(NonZeroU32::new(2).unwrap());
//! let mut service = tower::ServiceBuilder::new()
//!     .layer(layer)
//!     .service_fn(|_request: Request<GuardBody<Full<Bytes>>>| async {
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
//!     });
//!
//! // Bearer auth puts the caller's principal in the extensions.
//! let from_alice = || {
//!     let mut request = Request::post("/mcp").body(Full::default()).unwrap();
//!     request.extensions_mut().insert(
//!         Principal::new().with_issuer("https://as.example").with_subject("alice"),
//!     );
//!     request
//! };
//! for _ in 0..2 {
//!     let response = service.ready().await?.call(from_alice()).await?;
//!     assert_eq!(response.status(), StatusCode::OK);
//! }
//! let refused = service.ready().await?.call(from_alice()).await?;
//! assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(refused.headers()["retry-after"], "1");
//! let rejection = refused.extensions().get::<Rejection>().unwrap();
//! assert_eq!((rejection.guard, rejection.reason), ("rate-limit", "rate_limited"));
//! # Ok(())
//! # }
//! ```
//!
//! A per-tool limit, for a layer used alone (it reads the body itself):
//!
//! ```
//! use std::convert::Infallible;
//! use std::num::NonZeroU32;
//!
//! use bytes::Bytes;
//! use governor::Quota;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use mcp_guard_core::{GuardBody, Principal};
//! use mcp_rate_limit::RateLimitLayer;
//! use tower::{Service, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = RateLimitLayer::tools_only()
//!     .tool("expensive_tool", Quota::per_minute(NonZeroU32::new(5).unwrap()))?;
//! let mut service = tower::ServiceBuilder::new()
//!     .layer(layer)
//!     .service_fn(|_request: Request<GuardBody<Full<Bytes>>>| async {
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
//!     });
//!
//! let call = |id: u32, tool: &str| {
//!     let body = format!(
//!         r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}"}}}}"#
//!     );
//!     let mut request = Request::post("/mcp").body(Full::new(Bytes::from(body))).unwrap();
//!     request.extensions_mut().insert(
//!         Principal::new().with_issuer("https://as.example").with_subject("alice"),
//!     );
//!     request
//! };
//! for id in 1..=5 {
//!     let response = service.ready().await?.call(call(id, "expensive_tool")).await?;
//!     assert_eq!(response.status(), StatusCode::OK);
//! }
//! let refused = service.ready().await?.call(call(6, "expensive_tool")).await?;
//! assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(refused.headers()["retry-after"], "12");
//! let body = refused.into_body().collect().await?.to_bytes();
//! let body: serde_json::Value = serde_json::from_slice(&body)?;
//! assert_eq!(body["id"], 6);
//! assert_eq!(body["error"]["data"]["tool"], "expensive_tool");
//!
//! // Other tools are not counted against it.
//! let echo = service.ready().await?.call(call(7, "echo")).await?;
//! assert_eq!(echo.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! [`Principal`]: mcp_guard_core::Principal
//! [`Principal::caller_key`]: mcp_guard_core::Principal::caller_key
//! [`RpcEnvelope`]: mcp_guard_core::RpcEnvelope
//! [`RpcEnvelope::Unparsable`]: mcp_guard_core::RpcEnvelope::Unparsable

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod future;
mod layer;
mod limits;
#[cfg(feature = "redis")]
mod redis;
mod service;

pub use future::ResponseFuture;
/// governor's quota, re-exported so a user of this crate need not depend on
/// governor to say "5 a minute".
pub use governor::Quota;
pub use layer::{RateLimitLayer, ToolLimitError};
pub use service::RateLimit;
