//! The combined preset: one builder, [`McpGuard`], that stacks every guard in the
//! order of the request's path and yields one `tower::Layer`.
//!
//! ```text
//! response timeout → origin guard → CORS → envelope peek → protocol guard
//!     → bearer auth → rate limit → session → resumable SSE
//!     → discovery filter → your handler
//! ```
//!
//! The envelope peek reads a POST's JSON-RPC envelope once, bounded by
//! [`max_body_bytes`](McpGuard::max_body_bytes) and
//! [`body_read_timeout`](McpGuard::body_read_timeout), for every guard after
//! it, the ones you pass in yourself included: none of them reads the body
//! again.
//!
//! - [`McpGuard::local`]: a server on the user's own machine. Localhost origin
//!   guard and CORS, the protocol guard, sessions and resumable SSE in memory,
//!   no authentication.
//! - [`McpGuard::remote`] (feature `jwks`): a server on the internet. Host and
//!   origin from its public URL, bearer tokens checked against the issuer's JWKS
//!   (discovered) with the audience set to the public URL's canonical URI,
//!   sessions bound to the caller, resumable SSE, a request body limit, a
//!   per-principal rate limit (feature `rate-limit`), and a response timeout
//!   that bounds the wait for response headers, never a live SSE stream.
//!
//! Discovery filtered by authorization ([`filter_discovery`](McpGuard::filter_discovery),
//! feature `bearer-auth`) is off by default: it rewrites the handler's list
//! answers so each caller sees only the tools, prompts and resources its
//! token's scopes allow, which only a scope policy with per-tool (prompt,
//! resource) rules needs, and it costs a bounded buffer, a parse and a
//! rewrite of every list answer. Bearer auth refuses a call the token may not
//! make (`403` with the step-up challenge) whether it is on or not. On, it
//! sits innermost, so the events resumable SSE stores and replays are the
//! filtered ones, and [`guards`](McpGuardLayer::guards) lists it as
//! `discovery-filter`.
//!
//! Every guard can be switched off (`without_…`: the guard's own disabled
//! layer takes its place, so the stack's type stays the same) or replaced by a
//! layer you configured yourself (`origin_guard(…)`, `bearer_auth(…)`, …). A
//! configuration that cannot work is a [`McpGuardConfigError`] from
//! [`build`](McpGuard::build), naming the setting; so is a setting no guard in
//! the stack would read (an `issuer` without the preset's bearer auth, session
//! timeouts without its session layer).
//!
//! # Example
//!
//! ```
//! # #[cfg(all(feature = "origin-guard", feature = "session"))] {
//! use mcp_guard::McpGuard;
//!
//! let guard = McpGuard::local().build().expect("the local preset is valid");
//! assert_eq!(
//!     guard.guards(),
//!     ["response-timeout", "origin-guard", "cors", "protocol-guard", "session", "sse-resume"]
//! );
//! // One `.layer(guard)` in front of any tower HTTP service: rmcp's
//! // `StreamableHttpService`, an axum `Router`, a hyper `service_fn`…
//! let service = tower::ServiceBuilder::new()
//!     .layer(guard)
//!     .service_fn(|_request: http::Request<_>| async {
//!         let body: http_body_util::Full<bytes::Bytes> = Default::default();
//!         Ok::<_, std::convert::Infallible>(http::Response::new(body))
//!     });
//! # fn is_http_service<S: tower::Service<http::Request<http_body_util::Full<bytes::Bytes>>>>(_: &S) {}
//! # is_http_service(&service);
//! # }
//! ```
//!
//! # In an app with other routes
//!
//! The guards are for the MCP endpoint: a load balancer's `/healthz`, static
//! files or a REST API would fail their checks (`Host`, `Accept`, sessions).
//! Around a whole axum `Router`, name the endpoint with
//! [`endpoint`](McpGuard::endpoint): other paths pass through untouched,
//! while the OAuth metadata documents the remote preset serves still reach
//! the guards. Or wrap the MCP service alone and mount it with
//! `route_service` (then, under the remote preset, mount it at the RFC 9728
//! paths too, `/.well-known/oauth-protected-resource/mcp`, so the guards can
//! answer them).
//!
//! ```
//! # #[cfg(all(feature = "origin-guard", feature = "session"))] {
//! use axum::{Router, routing::get};
//! use mcp_guard::McpGuard;
//! # type Response = http::Response<axum::body::Body>;
//! # async fn mcp<B>(_: http::Request<B>) -> Result<Response, std::convert::Infallible> {
//! #     Ok(Response::default())
//! # }
//! // `mcp`: your MCP service, e.g. rmcp's `StreamableHttpService`.
//!
//! // The whole app behind one layer that guards /mcp only.
//! let app: Router = Router::new()
//!     .route_service("/mcp", tower::service_fn(mcp))
//!     .route("/healthz", get(|| async { "ok" }))
//!     .layer(McpGuard::local().endpoint("/mcp").build()?);
//!
//! // The same, with the guards around the MCP service alone.
//! let guarded = tower::ServiceBuilder::new()
//!     .layer(McpGuard::local().build()?)
//!     .service_fn(mcp);
//! let app: Router = Router::new()
//!     .route_service("/mcp", guarded)
//!     .route("/healthz", get(|| async { "ok" }));
//! # let _ = app;
//! # }
//! # Ok::<(), mcp_guard::McpGuardConfigError>(())
//! ```

#[cfg(feature = "bearer-auth")]
mod bearer_auth;
mod build;
#[cfg(feature = "cors")]
mod cors;
#[cfg(feature = "bearer-auth")]
mod discovery_filter;
mod endpoint;
mod error;
mod layer;
#[cfg(feature = "origin-guard")]
mod origin_guard;
#[cfg(feature = "protocol-guard")]
mod protocol_guard;
#[cfg(feature = "rate-limit")]
mod rate_limit;
mod response_timeout;
mod service;
#[cfg(feature = "session")]
mod session;
#[cfg(feature = "sse-resume")]
mod sse_resume;
mod unused;

use std::marker::PhantomData;
use std::time::Duration;

use mcp_guard_core::EnvelopeLimits;

pub use error::McpGuardConfigError;
pub use layer::McpGuardLayer;
pub use response_timeout::{ResponseTimeout, ResponseTimeoutFuture};
pub use service::McpGuardService;
#[cfg(feature = "config")]
pub(crate) use unused::first_set;

/// The token verifier the presets build ([`JwtVerifier`](mcp_bearer_auth::JwtVerifier)),
/// or a placeholder when the `bearer-auth` feature is off.
#[cfg(feature = "bearer-auth")]
pub type DefaultVerifier = mcp_bearer_auth::JwtVerifier;
/// The token verifier the presets build (placeholder: feature `bearer-auth` off).
#[cfg(not(feature = "bearer-auth"))]
pub type DefaultVerifier = ();

/// The session store the presets use ([`MemorySessionStore`](mcp_session::store::MemorySessionStore)).
#[cfg(feature = "session")]
pub type DefaultSessionStore = mcp_session::store::MemorySessionStore;
/// The session store the presets use (placeholder: feature `session` off).
#[cfg(not(feature = "session"))]
pub type DefaultSessionStore = ();

/// The event store the presets use ([`MemoryEventStore`](mcp_sse_resume::MemoryEventStore)).
#[cfg(feature = "sse-resume")]
pub type DefaultEventStore = mcp_sse_resume::MemoryEventStore;
/// The event store the presets use (placeholder: feature `sse-resume` off).
#[cfg(not(feature = "sse-resume"))]
pub type DefaultEventStore = ();

/// The default request body limit of the presets: 4 MiB (the envelope
/// peek's [`EnvelopeLimits::DEFAULT_MAX_BODY_BYTES`]).
pub const DEFAULT_MAX_BODY_BYTES: usize = EnvelopeLimits::DEFAULT_MAX_BODY_BYTES;
/// The default time a client gets to send a request body: 30 s (the
/// envelope peek's [`EnvelopeLimits::DEFAULT_READ_TIMEOUT`]).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = EnvelopeLimits::DEFAULT_READ_TIMEOUT;
/// The default wait for a handler's response headers: 60 s. It never cuts a
/// streaming body.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// The remote preset's default per-principal rate: 50 requests a second.
#[cfg(feature = "rate-limit")]
pub const DEFAULT_RATE_PER_SECOND: u32 = 50;
/// The remote preset's default per-principal burst: 100 requests.
#[cfg(feature = "rate-limit")]
pub const DEFAULT_RATE_BURST: u32 = 100;

/// Marks the verifier and store types without owning values of them.
pub(crate) type Types<V, Ss, Es> = PhantomData<fn() -> (V, Ss, Es)>;

/// Builds a [`McpGuardLayer`]: start from [`McpGuard::local`] or
/// [`McpGuard::remote`], adjust, [`build`](McpGuard::build). See the [module
/// docs](self).
///
/// `V`, `Ss` and `Es` are the token verifier, session store and event store
/// types; they change when you pass your own ([`bearer_auth`](Self::bearer_auth),
/// [`session_store`](Self::session_store), [`event_store`](Self::event_store)).
#[must_use = "a builder does nothing until `build` is called"]
pub struct McpGuard<V = DefaultVerifier, Ss = DefaultSessionStore, Es = DefaultEventStore> {
    /// Everything whose type does not depend on `V`, `Ss` or `Es`.
    common: Common,
    /// The parts typed by the verifier and the stores: what a verifier or
    /// store of another type replaces (each guard's file has its wiring).
    #[cfg(feature = "bearer-auth")]
    bearer_auth: bearer_auth::Wiring<V>,
    #[cfg(feature = "session")]
    session: session::Wiring<Ss>,
    #[cfg(feature = "sse-resume")]
    sse_resume: sse_resume::Wiring<Es>,
    _types: Types<V, Ss, Es>,
}

/// The builder's settings shared by the guards, and the wiring of the guards
/// that take no verifier or store. A guard's `Option<layer>` is `None` while
/// the preset builds it, and holds your layer or the guard's disabled one
/// otherwise.
#[derive(Debug)]
struct Common {
    reach: Reach,
    /// Bad values given to setters, reported by `build`.
    errors: Vec<McpGuardConfigError>,
    /// The one path the guards cover (`None`: every request).
    endpoint: Option<String>,
    response_timeout: Option<Duration>,
    /// The one envelope read's limits.
    envelope_limits: EnvelopeLimits,
    #[cfg(feature = "origin-guard")]
    origin_guard: origin_guard::Wiring,
    #[cfg(feature = "cors")]
    cors: Option<mcp_cors_preset::McpCorsLayer>,
    #[cfg(feature = "protocol-guard")]
    protocol_guard: Option<mcp_protocol_guard::ProtocolGuardLayer>,
    #[cfg(feature = "rate-limit")]
    rate_limit: Option<mcp_rate_limit::RateLimitLayer>,
    #[cfg(feature = "bearer-auth")]
    discovery_filter: discovery_filter::Wiring,
}

/// Where the server is reachable: the preset's allowlist and audience follow.
#[derive(Debug, Clone)]
enum Reach {
    Localhost,
    /// The remote preset's public URL.
    #[cfg(feature = "jwks")]
    Public(String),
}

impl<V, Ss, Es> std::fmt::Debug for McpGuard<V, Ss, Es> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpGuard")
            .field("reach", &self.common.reach)
            .field("response_timeout", &self.common.response_timeout)
            .finish_non_exhaustive()
    }
}

impl McpGuard {
    /// A server on the user's own machine: localhost origin guard and CORS, the
    /// protocol guard, sessions and resumable SSE in memory, no authentication.
    pub fn local() -> Self {
        McpGuard {
            common: Common {
                reach: Reach::Localhost,
                errors: Vec::new(),
                endpoint: None,
                response_timeout: Some(DEFAULT_RESPONSE_TIMEOUT),
                envelope_limits: EnvelopeLimits::new(),
                #[cfg(feature = "origin-guard")]
                origin_guard: origin_guard::Wiring::default(),
                #[cfg(feature = "cors")]
                cors: None,
                #[cfg(feature = "protocol-guard")]
                protocol_guard: None,
                #[cfg(feature = "rate-limit")]
                rate_limit: Some(mcp_rate_limit::RateLimitLayer::disabled()),
                #[cfg(feature = "bearer-auth")]
                discovery_filter: discovery_filter::Wiring::default(),
            },
            #[cfg(feature = "bearer-auth")]
            bearer_auth: bearer_auth::Wiring::off(),
            #[cfg(feature = "session")]
            session: session::Wiring::in_memory(),
            #[cfg(feature = "sse-resume")]
            sse_resume: sse_resume::Wiring::in_memory(),
            _types: PhantomData,
        }
    }

    /// A server on the internet, reached at `public_url` (e.g.
    /// `https://mcp.example.com/mcp`): host and origin from that URL; bearer
    /// tokens from the issuer you set with [`issuer`](Self::issuer) (JWKS
    /// discovered through its metadata, or [`jwks_url`](Self::jwks_url)), with
    /// the audience the URL's canonical URI; sessions bound to the caller;
    /// resumable SSE; the body limit; with feature `rate-limit`, a
    /// per-principal rate limit of [`DEFAULT_RATE_PER_SECOND`] a second.
    #[cfg(feature = "jwks")]
    pub fn remote(public_url: impl Into<String>) -> Self {
        let mut guard = Self::local();
        guard.common.reach = Reach::Public(public_url.into());
        guard.bearer_auth = bearer_auth::Wiring::jwt();
        #[cfg(feature = "rate-limit")]
        {
            guard.common.rate_limit = None;
        }
        guard
    }
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Guards only the MCP endpoint at `path` (e.g. `/mcp`) of the service
    /// the layer wraps, so one `Router::layer` can wrap a whole app: requests
    /// for other paths (`/healthz`, static files, your API) reach it
    /// untouched, with no Host check, CORS, body read or timeout. The public
    /// OAuth metadata documents (`/.well-known/oauth-protected-resource…`,
    /// which the remote preset answers itself, and the authorization server's)
    /// still go through the guards. Without it every request is guarded,
    /// which suits a layer around the MCP service alone
    /// (`route_service("/mcp", …)`). A `path` that is not an absolute path is
    /// an error from [`build`](Self::build) naming `endpoint`.
    pub fn endpoint(mut self, path: impl Into<String>) -> Self {
        self.common.endpoint = Some(path.into());
        self
    }

    /// How long the handler may take to start its response (the headers) before
    /// the client gets `504`. A streaming body is never cut. Default 60 s.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.common.response_timeout = Some(timeout);
        self
    }

    /// No response timeout.
    pub fn without_response_timeout(mut self) -> Self {
        self.common.response_timeout = None;
        self
    }

    /// The largest request body the guards read (`413` beyond). Default 4 MiB.
    /// The stack reads a body once, for every guard, those you pass in
    /// yourself included.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.common.envelope_limits = self.common.envelope_limits.max_body_bytes(bytes);
        self
    }

    /// How long a client may take to send its request body (`408` beyond), so
    /// a slow sender cannot hold a connection. Default 30 s.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.common.envelope_limits = self.common.envelope_limits.read_timeout(timeout);
        self
    }
}
