//! The one read of a POST body in a stack: [`EnvelopePeekLayer`].
//!
//! Placed before the first guard that needs the JSON-RPC envelope, it reads a
//! POST body once with one set of [`EnvelopeLimits`](crate::EnvelopeLimits)
//! (size, read time), puts the [`RpcEnvelope`](crate::RpcEnvelope) into the
//! request extensions and hands the bytes on unchanged. The guards behind it
//! find the envelope there and read nothing; a guard used alone reads the
//! body itself, with its own limits.
//!
//! Its refusals (`413` body too large, `408` body too slow, `400` body
//! unreadable) carry the [`Rejection`](crate::Rejection) guard
//! [`guard::ENVELOPE_PEEK`](crate::guard::ENVELOPE_PEEK) and the reasons
//! `body_too_large`, `body_read_timeout`, `body_unreadable`.
//!
//! When an observer outside put a [`Trail`](crate::Trail) carrying the
//! request's span in the request, the layers behind the peek run inside
//! that span ([`InTrailSpan`]).

mod future;
mod in_span;
mod layer;
mod service;

pub use future::EnvelopeCheck;
pub use in_span::{InTrailSpan, InTrailSpanFuture};
pub use layer::EnvelopePeekLayer;
pub use service::EnvelopePeek;
