//! Shared vocabulary of the mcp-guard layers.
//!
//! Every guard crate speaks the same few types so that what one layer decides,
//! the next one reads instead of deciding again:
//!
//! - [`headers`]: the MCP header names as [`http::HeaderName`] constants.
//! - [`ProtocolVersion`] and [`Era`]: which revision a request speaks.
//! - [`McpError`]: the one builder for every rejection (HTTP status plus a
//!   JSON-RPC error body that tells the caller what to fix).
//! - [`Rejection`]: the guard and reason of a refusal, in the extensions of
//!   every rejection response, so a metrics or trace layer around the stack
//!   counts refusals by guard and reason without parsing bodies (see its
//!   example); [`guard`] holds the guard names.
//! - [`GuardBody`]: the request and response body every layer hands on, generic over the
//!   handler's body, so early returns work with axum, hyper and tonic bodies alike.
//! - [`RpcEnvelope`] and [`EnvelopeLimits`]: the JSON-RPC envelope of a POST body,
//!   read once with a size limit and a read timeout, cached in request extensions.
//! - [`Principal`]: who the bearer token says is calling; [`Principal::owner`] and
//!   [`Principal::caller_key`] derive, once per principal, who owns its state
//!   ([`Owner`]) and its rate-limit bucket.
//! - [`SessionContext`]: what the session layer tells the layers inside it (the
//!   session id, the negotiated [`ProtocolVersion`], the [`Owner`]).
//! - [`Trail`]: what the guards learned (the envelope, the principal), for an
//!   observer wrapped around the stack, where request extensions cannot reach.
//! - [`StoreError`]: a session or event store that cannot answer (a `503`).
//! - [`sse::event_data`]: the `data` of a complete SSE body, for layers that read a short
//!   answer; [`sse::is_event_stream`]: whether a response is a successful event stream.
//! - [`well_known`]: paths every layer treats alike (the RFC 9728 metadata document).
//!
//! # The guard kit
//!
//! What every guard would otherwise write out itself:
//!
//! - [`GuardFuture`] and [`Verdict`]: the one response future of every guard —
//!   answer at once, call the inner service at once, or await an asynchronous
//!   check and then call it (tower-http's `AsyncRequireAuthorization` shape: no
//!   box, no `Send + 'static` forced on the inner service).
//! - [`McpError::log_refusal`] and [`Severity`]: one way to log a refusal, at the
//!   level of an expected refusal or of an operator's problem.
//! - [`EnvelopePeekLayer`]: the one read of a POST body in a stack, with one set
//!   of [`EnvelopeLimits`]; [`EnvelopeLimits::start_peek`] and [`PeekFuture`]: the
//!   same read as a nameable future, for a guard used alone.
//! - `redis` (feature `redis`): the Redis connection plumbing the session and
//!   event stores share.
//!
//! This crate holds no policy: it never decides whether a request is allowed.
//!
//! # Example
//!
//! ```
//! use http::StatusCode;
//! use mcp_guard_core::{McpError, error_code};
//!
//! let rejection = McpError::new(
//!     StatusCode::FORBIDDEN,
//!     error_code::SERVER_ERROR,
//!     "Origin \"https://evil.example\" is not allowed",
//! );
//! let response = rejection.into_response::<http_body_util::Empty<bytes::Bytes>>();
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod body;
mod display;
mod envelope;
pub mod envelope_peek;
mod error;
mod future;
pub mod headers;
mod owner;
mod peek;
mod principal;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod rejection;
mod session_context;
pub mod sse;
mod store_error;
mod trail;
mod version;
pub mod well_known;

pub use body::GuardBody;
pub use display::truncated_for_display;
pub use envelope::{RpcEnvelope, RpcId, RpcMessage};
pub use envelope_peek::{EnvelopePeek, EnvelopePeekLayer};
pub use error::{McpError, Severity, error_code};
pub use future::{GuardFuture, NoCheck, Verdict, take_ready};
pub use owner::Owner;
pub use peek::{BodyChunks, EnvelopeLimits, PeekFuture, PeekStart};
pub use principal::Principal;
pub use rejection::{Rejection, guard};
pub use session_context::SessionContext;
pub use store_error::StoreError;
pub use trail::{OnEnvelope, Trail};
pub use version::{Era, InvalidProtocolVersion, ProtocolVersion};

/// The boxed error type used where bodies of different kinds meet.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
