//! Which guard refused a request, and why, readable off the response.

use std::fmt;

/// Which guard refused a request and why: in the extensions of every
/// rejection response an mcp-guard layer produces, so a metrics or trace layer
/// wrapped around the stack counts refusals by guard and reason without
/// parsing bodies.
///
/// `guard` is one of the names in [`guard`](crate::guard) (the names
/// `McpGuardLayer::guards()` lists); `reason` is a short, stable snake_case
/// token (`host_not_allowed`, `invalid_token`, `unknown_session`, …; each
/// guard crate documents its own). Both are `&'static str`, so counting them
/// allocates nothing and a label set stays bounded. A response without the
/// extension is the handler's own.
///
/// # Example: counting refusals
///
/// Wrap the guarded service in a `tower::util::MapResponseLayer` (or read the
/// extension in `tower_http::trace::TraceLayer`'s `on_response`); the closure
/// below is what it would run on every response:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
///
/// use http::{Response, StatusCode};
/// use mcp_guard_core::{McpError, Rejection, error_code, guard};
///
/// type Counts = Arc<Mutex<HashMap<Rejection, u64>>>;
///
/// /// What a `MapResponseLayer::new(count_refusals(counts))` runs on every response.
/// fn count_refusals<B>(counts: Counts) -> impl Fn(Response<B>) -> Response<B> + Clone {
///     move |response| {
///         if let Some(rejection) = response.extensions().get::<Rejection>() {
///             *counts.lock().unwrap().entry(*rejection).or_default() += 1;
///         }
///         response
///     }
/// }
///
/// let counts = Counts::default();
/// let count = count_refusals(counts.clone());
///
/// // A refusal, as a guard makes it…
/// let refusal = McpError::new(StatusCode::NOT_FOUND, error_code::SESSION_NOT_FOUND, "session not found")
///     .with_reason("unknown_session")
///     .rejected_by(guard::SESSION)
///     .into_response::<http_body_util::Empty<bytes::Bytes>>();
/// count(refusal);
/// // …and the handler's own answer, which carries no `Rejection`.
/// count(Response::new(mcp_guard_core::GuardBody::<http_body_util::Empty<bytes::Bytes>>::default()));
///
/// let counts = counts.lock().unwrap();
/// assert_eq!(counts.len(), 1);
/// assert_eq!(counts[&Rejection { guard: "session", reason: "unknown_session" }], 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    /// The guard that refused the request (see [`guard`](crate::guard)).
    pub guard: &'static str,
    /// Why, as a short stable snake_case token.
    pub reason: &'static str,
}

impl Rejection {
    /// The reason of a refusal whose guard named none (a bug in the guard;
    /// every refusal of the mcp-guard crates names one).
    pub const UNSPECIFIED: &'static str = "unspecified";
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.guard, self.reason)
    }
}

/// The guard names a [`Rejection`] carries, one per guard, the same names
/// `McpGuardLayer::guards()` lists.
pub mod guard {
    /// `mcp-origin-guard`: Host and Origin (DNS rebinding, cross-site requests).
    pub const ORIGIN_GUARD: &str = "origin-guard";
    /// `mcp-cors-preset`: refused CORS preflights.
    pub const CORS: &str = "cors";
    /// `EnvelopePeekLayer`: the one read of a POST body in a stack (its
    /// size and read time); a guard that reads the body itself names itself.
    pub const ENVELOPE_PEEK: &str = "envelope-peek";
    /// `mcp-protocol-guard`: Accept, Content-Type, protocol version, routing
    /// headers, the body's size and shape.
    pub const PROTOCOL_GUARD: &str = "protocol-guard";
    /// `mcp-bearer-auth`: the access token and its scopes.
    pub const BEARER_AUTH: &str = "bearer-auth";
    /// `mcp-rate-limit`: the per-principal request limit.
    pub const RATE_LIMIT: &str = "rate-limit";
    /// `mcp-session`: the session lifecycle.
    pub const SESSION: &str = "session";
    /// `mcp-sse-resume`: `Last-Event-ID` and the event store.
    pub const SSE_RESUME: &str = "sse-resume";
    /// The discovery filter (`mcp-bearer-auth`'s `discovery` module): a list
    /// answer too large to filter.
    pub const DISCOVERY_FILTER: &str = "discovery-filter";
    /// The root crate's response timeout (`504`).
    pub const RESPONSE_TIMEOUT: &str = "response-timeout";
}
