//! A per-principal request rate limit for MCP servers: each authenticated
//! caller gets its own token bucket ([`governor`]'s keyed limiter), so one
//! noisy client cannot starve the others.
//!
//! Stack it after bearer auth: it keys on the [`Principal`] that layer puts in
//! the request's extensions ([`Principal::caller_key`]: the subject within its
//! issuer, or the client id when a token has no subject; tokens that name
//! neither share one bucket per issuer). A request without a principal (the
//! RFC 9728 metadata, a public tool) is not counted: limit anonymous traffic
//! per address at the proxy in front, where the address is known.
//!
//! A caller over its quota gets `429 Too Many Requests` with `Retry-After`
//! (whole seconds until the bucket admits the next request) and a JSON-RPC
//! error body; the response carries a [`Rejection`](mcp_guard_core::Rejection)
//! extension (`rate-limit` / `rate_limited`), and the refusal logs at `info`.
//!
//! [`RateLimitLayer::disabled`] counts nothing and refuses nothing, with the
//! same service type: a stack can switch the limit off by configuration
//! without changing its type.
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
//! use mcp_guard_core::{Principal, Rejection};
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
//!     .service_fn(|_request: Request<Full<Bytes>>| async {
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
//! [`Principal`]: mcp_guard_core::Principal
//! [`Principal::caller_key`]: mcp_guard_core::Principal::caller_key

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::RateLimitLayer;
pub use service::RateLimit;
