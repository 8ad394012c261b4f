//! A per-principal request rate limit: each authenticated caller gets its own
//! token bucket ([`governor`]'s keyed limiter), so one noisy client cannot
//! starve the others.
//!
//! Stack it after bearer auth: it keys on the [`Principal`] that layer puts in
//! the request's extensions (issuer and subject, or the client id when a token
//! has no subject; tokens that name neither share one bucket per issuer). A
//! request without a principal (the RFC 9728 metadata, a
//! public tool) is not counted: limit anonymous traffic per address at the
//! proxy in front, where the address is known.
//!
//! A caller over its quota gets `429 Too Many Requests` with `Retry-After` (whole
//! seconds until the bucket admits the next request) and a JSON-RPC error body;
//! the response carries a [`Rejection`](mcp_guard_core::Rejection) extension
//! (`rate-limit` / `rate_limited`), and the refusal logs at `info`.
//!
//! # Example
//!
//! ```
//! use std::num::NonZeroU32;
//! use mcp_guard::rate_limit::RateLimitLayer;
//!
//! // 20 requests a second per principal, bursts of up to 40.
//! let layer = RateLimitLayer::per_second(NonZeroU32::new(20).unwrap())
//!     .burst(NonZeroU32::new(40).unwrap());
//! let service = tower::ServiceBuilder::new()
//!     .layer(layer)
//!     .service_fn(|_request: http::Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//!     });
//! # let _ = service;
//! ```
//!
//! [`Principal`]: mcp_guard_core::Principal

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::RateLimitLayer;
pub use service::RateLimit;
