//! The combined preset: one builder, [`McpGuard`], that stacks every guard in the
//! order of the request's path and yields one `tower::Layer`.
//!
//! ```text
//! response timeout → origin guard → CORS → protocol guard → bearer auth
//!     → rate limit → session → resumable SSE → your handler
//! ```
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
//! Every guard can be switched off (`without_…`) or replaced by a layer you
//! configured yourself (`origin_guard(…)`, `bearer_auth(…)`, …). A
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

// Which items are used depends on the guards whose features are on.
#![cfg_attr(not(feature = "full"), allow(dead_code, unused_variables))]

pub mod bypass;
mod endpoint;
mod error;
mod layer;
pub mod service;
mod unused;

use std::marker::PhantomData;
use std::time::Duration;

use mcp_guard_core::EnvelopeLimits;

pub use error::McpGuardConfigError;
pub use layer::McpGuardLayer;
pub use service::McpGuardService;

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

/// The default request body limit of the presets: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The default time a client gets to send a request body: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The default wait for a handler's response headers: 60 s. It never cuts a
/// streaming body.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// The remote preset's default per-principal rate: 50 requests a second.
#[cfg(feature = "rate-limit")]
pub const DEFAULT_RATE_PER_SECOND: u32 = 50;
/// The remote preset's default per-principal burst: 100 requests.
#[cfg(feature = "rate-limit")]
pub const DEFAULT_RATE_BURST: u32 = 100;

/// Builds the preset's verifier for an audience from the auth settings.
type MakeVerifier<V> = fn(&str, &AuthSettings) -> Result<V, McpGuardConfigError>;

/// Marks the verifier and store types without owning values of them.
pub(crate) type Types<V, Ss, Es> = PhantomData<fn() -> (V, Ss, Es)>;

/// One guard's place in the stack: built by the preset from the builder's
/// settings, switched off, or a layer the user configured.
#[derive(Debug, Clone)]
enum Slot<L> {
    Preset,
    Off,
    Custom(L),
}

impl<L> Slot<L> {
    /// The layer to stack: the user's, or the preset's built by `preset`.
    #[allow(dead_code)] // unused when every guard's feature is off
    fn resolve<E>(self, preset: impl FnOnce() -> Result<L, E>) -> Result<Option<L>, E> {
        match self {
            Slot::Preset => preset().map(Some),
            Slot::Off => Ok(None),
            Slot::Custom(layer) => Ok(Some(layer)),
        }
    }
}

/// Where the server is reachable: the preset's allowlist and audience follow.
#[derive(Debug, Clone)]
enum Reach {
    Localhost,
    Public(String),
}

/// How the preset builds its token verifier (remote preset).
#[derive(Debug, Clone, Default)]
#[allow(dead_code)] // fields are read only with the `jwks` feature
struct AuthSettings {
    issuer: Option<String>,
    jwks_url: Option<String>,
    audience: Option<String>,
    #[cfg(feature = "bearer-auth")]
    policy: Option<mcp_bearer_auth::ScopePolicy>,
    scopes_supported: Vec<String>,
    require_access_token_type: bool,
    /// The preset's response timeout, which a JWKS attempt must fit in.
    response_timeout: Option<Duration>,
}

/// Builds a [`McpGuardLayer`]: start from [`McpGuard::local`] or
/// [`McpGuard::remote`], adjust, [`build`](McpGuard::build). See the [module
/// docs](self).
///
/// `V`, `Ss` and `Es` are the token verifier, session store and event store
/// types; they change when you pass your own ([`bearer_auth`](Self::bearer_auth),
/// [`session_store`](Self::session_store), [`event_store`](Self::event_store)).
#[must_use = "a builder does nothing until `build` is called"]
pub struct McpGuard<V = DefaultVerifier, Ss = DefaultSessionStore, Es = DefaultEventStore> {
    reach: Reach,
    /// Bad values given to setters, reported by `build`.
    errors: Vec<McpGuardConfigError>,
    /// The one path the guards cover (`None`: every request).
    endpoint: Option<String>,
    response_timeout: Option<Duration>,
    peek: PeekSettings,
    #[cfg(feature = "origin-guard")]
    allowlist: Option<mcp_origin_guard::Allowlist>,
    #[cfg(feature = "origin-guard")]
    origin_guard: Slot<mcp_origin_guard::OriginGuardLayer>,
    #[cfg(feature = "cors")]
    cors: Slot<mcp_cors_preset::McpCorsLayer>,
    #[cfg(feature = "protocol-guard")]
    protocol_guard: Slot<mcp_protocol_guard::ProtocolGuardLayer>,
    #[cfg(feature = "bearer-auth")]
    bearer_auth: Slot<mcp_bearer_auth::BearerAuthLayer<V>>,
    #[cfg(feature = "bearer-auth")]
    make_verifier: Option<MakeVerifier<V>>,
    auth: AuthSettings,
    #[cfg(feature = "rate-limit")]
    rate_limit: Slot<crate::rate_limit::RateLimitLayer>,
    #[cfg(feature = "session")]
    session: Slot<mcp_session::SessionGuardLayer<Ss>>,
    #[cfg(feature = "session")]
    session_store: Option<Ss>,
    session_settings: SessionSettings,
    #[cfg(feature = "sse-resume")]
    sse_resume: Slot<mcp_sse_resume::SseResumeLayer<Es>>,
    #[cfg(feature = "sse-resume")]
    event_store: Option<Es>,
    _types: Types<V, Ss, Es>,
}

#[derive(Debug, Clone, Copy)]
struct PeekSettings {
    max_body_bytes: usize,
    read_timeout: Duration,
}

impl PeekSettings {
    #[allow(dead_code)] // unused when no peeking guard's feature is on
    fn envelope_limits(self) -> EnvelopeLimits {
        EnvelopeLimits::new()
            .max_body_bytes(self.max_body_bytes)
            .read_timeout(self.read_timeout)
    }
}

#[derive(Debug, Clone, Default)]
#[allow(dead_code)] // fields are read only with the `session` feature
struct SessionSettings {
    #[cfg(feature = "session")]
    mode: Option<mcp_session::Mode>,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    max_sessions: Option<(usize, usize)>,
}

impl<V, Ss, Es> std::fmt::Debug for McpGuard<V, Ss, Es> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpGuard")
            .field("reach", &self.reach)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

/// The builder's fields whose types are the verifier and store parameters:
/// what changes when a verifier or store of another type is given.
struct Typed<V, Ss, Es> {
    #[cfg(feature = "bearer-auth")]
    bearer_auth: Slot<mcp_bearer_auth::BearerAuthLayer<V>>,
    #[cfg(feature = "bearer-auth")]
    make_verifier: Option<MakeVerifier<V>>,
    #[cfg(feature = "session")]
    session: Slot<mcp_session::SessionGuardLayer<Ss>>,
    #[cfg(feature = "session")]
    session_store: Option<Ss>,
    #[cfg(feature = "sse-resume")]
    sse_resume: Slot<mcp_sse_resume::SseResumeLayer<Es>>,
    #[cfg(feature = "sse-resume")]
    event_store: Option<Es>,
    _types: Types<V, Ss, Es>,
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// The same settings with the typed fields `change` makes from these.
    fn retype<V2, Ss2, Es2>(
        self,
        change: impl FnOnce(Typed<V, Ss, Es>) -> Typed<V2, Ss2, Es2>,
    ) -> McpGuard<V2, Ss2, Es2> {
        let typed = change(Typed {
            #[cfg(feature = "bearer-auth")]
            bearer_auth: self.bearer_auth,
            #[cfg(feature = "bearer-auth")]
            make_verifier: self.make_verifier,
            #[cfg(feature = "session")]
            session: self.session,
            #[cfg(feature = "session")]
            session_store: self.session_store,
            #[cfg(feature = "sse-resume")]
            sse_resume: self.sse_resume,
            #[cfg(feature = "sse-resume")]
            event_store: self.event_store,
            _types: PhantomData,
        });
        McpGuard {
            reach: self.reach,
            errors: self.errors,
            endpoint: self.endpoint,
            response_timeout: self.response_timeout,
            peek: self.peek,
            #[cfg(feature = "origin-guard")]
            allowlist: self.allowlist,
            #[cfg(feature = "origin-guard")]
            origin_guard: self.origin_guard,
            #[cfg(feature = "cors")]
            cors: self.cors,
            #[cfg(feature = "protocol-guard")]
            protocol_guard: self.protocol_guard,
            #[cfg(feature = "bearer-auth")]
            bearer_auth: typed.bearer_auth,
            #[cfg(feature = "bearer-auth")]
            make_verifier: typed.make_verifier,
            auth: self.auth,
            #[cfg(feature = "rate-limit")]
            rate_limit: self.rate_limit,
            #[cfg(feature = "session")]
            session: typed.session,
            #[cfg(feature = "session")]
            session_store: typed.session_store,
            session_settings: self.session_settings,
            #[cfg(feature = "sse-resume")]
            sse_resume: typed.sse_resume,
            #[cfg(feature = "sse-resume")]
            event_store: typed.event_store,
            _types: PhantomData,
        }
    }
}

impl McpGuard {
    /// A server on the user's own machine: localhost origin guard and CORS, the
    /// protocol guard, sessions and resumable SSE in memory, no authentication.
    pub fn local() -> Self {
        Self::preset(Reach::Localhost)
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
        let mut guard = Self::preset(Reach::Public(public_url.into()));
        guard.bearer_auth = Slot::Preset;
        guard.make_verifier = Some(jwt_verifier);
        #[cfg(feature = "rate-limit")]
        {
            guard.rate_limit = Slot::Preset;
        }
        guard
    }

    fn preset(reach: Reach) -> Self {
        McpGuard {
            reach,
            errors: Vec::new(),
            endpoint: None,
            response_timeout: Some(DEFAULT_RESPONSE_TIMEOUT),
            peek: PeekSettings {
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            },
            #[cfg(feature = "origin-guard")]
            allowlist: None,
            #[cfg(feature = "origin-guard")]
            origin_guard: Slot::Preset,
            #[cfg(feature = "cors")]
            cors: Slot::Preset,
            #[cfg(feature = "protocol-guard")]
            protocol_guard: Slot::Preset,
            #[cfg(feature = "bearer-auth")]
            bearer_auth: Slot::Off,
            #[cfg(feature = "bearer-auth")]
            make_verifier: None,
            auth: AuthSettings::default(),
            #[cfg(feature = "rate-limit")]
            rate_limit: Slot::Off,
            #[cfg(feature = "session")]
            session: Slot::Preset,
            #[cfg(feature = "session")]
            session_store: Some(mcp_session::store::MemorySessionStore::new()),
            session_settings: SessionSettings::default(),
            #[cfg(feature = "sse-resume")]
            sse_resume: Slot::Preset,
            #[cfg(feature = "sse-resume")]
            event_store: Some(mcp_sse_resume::MemoryEventStore::default()),
            _types: PhantomData,
        }
    }
}

/// The remote preset's verifier: the issuer's keys, by JWKS URL or discovered.
#[cfg(feature = "jwks")]
fn jwt_verifier(
    audience: &str,
    auth: &AuthSettings,
) -> Result<mcp_bearer_auth::JwtVerifier, McpGuardConfigError> {
    let issuer = auth.issuer.as_deref().ok_or_else(|| {
        McpGuardConfigError::new(
            "issuer",
            "the remote preset needs the authorization server's issuer URL: tokens' `iss` must match it, and the RFC 9728 metadata names it",
        )
    })?;
    let builder = mcp_bearer_auth::JwtVerifier::builder(issuer, audience)
        .require_access_token_type(auth.require_access_token_type);
    let builder = match &auth.jwks_url {
        Some(url) => builder.jwks_url(url.clone()),
        None => builder.discover_jwks(),
    };
    // A JWKS attempt cut short by the response timeout records nothing, so
    // the next request would start another and every one would end in 504
    // instead of 503 with Retry-After: the attempt gets at most half of it.
    let builder = match auth.response_timeout {
        Some(timeout) if timeout / 2 < mcp_bearer_auth::DEFAULT_JWKS_FETCH_TIMEOUT => {
            builder.jwks_fetch_timeout((timeout / 2).max(Duration::from_millis(1)))
        }
        _ => builder,
    };
    builder
        .build()
        .map_err(|error| McpGuardConfigError::new("issuer", error))
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Guards only the MCP endpoint at `path` (e.g. `/mcp`) of the service
    /// the layer wraps, so one `Router::layer` can wrap a whole app: requests
    /// for other paths (`/healthz`, static files, your API) reach it
    /// untouched, with no Host check, CORS or timeout. The public OAuth
    /// metadata documents (`/.well-known/oauth-protected-resource…`, which the
    /// remote preset answers itself, and the authorization server's) still go
    /// through the guards. Without it every request is guarded, which suits a
    /// layer around the MCP service alone (`route_service("/mcp", …)`). A
    /// `path` that is not an absolute path is an error from
    /// [`build`](Self::build) naming `endpoint`.
    pub fn endpoint(mut self, path: impl Into<String>) -> Self {
        self.endpoint = Some(path.into());
        self
    }

    /// How long the handler may take to start its response (the headers) before
    /// the client gets `504`. A streaming body is never cut. Default 60 s.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = Some(timeout);
        self
    }

    /// No response timeout.
    pub fn without_response_timeout(mut self) -> Self {
        self.response_timeout = None;
        self
    }

    /// The largest request body the guards read (`413` beyond). Default 4 MiB.
    ///
    /// It configures the layers the preset builds. A protocol guard, bearer
    /// auth or session layer you pass in yourself reads the body with its own
    /// `envelope_peek` settings: give it the same `EnvelopeLimits`.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.peek.max_body_bytes = bytes;
        self
    }

    /// How long a client may take to send its request body (`408` beyond), so
    /// a slow sender cannot hold a connection. Default 30 s. Like
    /// [`max_body_bytes`](Self::max_body_bytes), it configures the layers the
    /// preset builds, not ones you pass in.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.peek.read_timeout = timeout;
        self
    }
}

#[cfg(feature = "origin-guard")]
impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// The hosts and origins the origin guard and CORS accept, instead of the
    /// preset's (localhost, or the public URL's).
    pub fn allowlist(mut self, allowlist: mcp_origin_guard::Allowlist) -> Self {
        self.allowlist = Some(allowlist);
        self
    }

    /// Your own origin guard instead of the preset's.
    pub fn origin_guard(mut self, layer: mcp_origin_guard::OriginGuardLayer) -> Self {
        self.origin_guard = Slot::Custom(layer);
        self
    }

    /// No origin guard. Only behind a proxy that checks `Host` and `Origin`
    /// itself: without it, any web page can reach a local server through DNS
    /// rebinding.
    pub fn without_origin_guard(mut self) -> Self {
        self.origin_guard = Slot::Off;
        self
    }
}

#[cfg(feature = "cors")]
impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Your own CORS layer instead of the preset's.
    pub fn cors(mut self, layer: mcp_cors_preset::McpCorsLayer) -> Self {
        self.cors = Slot::Custom(layer);
        self
    }

    /// No CORS: browser clients on other origins cannot call the server.
    pub fn without_cors(mut self) -> Self {
        self.cors = Slot::Off;
        self
    }
}

#[cfg(feature = "protocol-guard")]
impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Your own protocol guard instead of the preset's. It is the first layer
    /// to read the body, so its `envelope_peek` settings (not the builder's
    /// [`max_body_bytes`](Self::max_body_bytes) and
    /// [`body_read_timeout`](Self::body_read_timeout)) bound that read.
    pub fn protocol_guard(mut self, layer: mcp_protocol_guard::ProtocolGuardLayer) -> Self {
        self.protocol_guard = Slot::Custom(layer);
        self
    }

    /// No protocol guard.
    pub fn without_protocol_guard(mut self) -> Self {
        self.protocol_guard = Slot::Off;
        self
    }
}

#[cfg(feature = "bearer-auth")]
impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// The authorization server whose tokens the remote preset accepts: its
    /// issuer URL (checked against `iss`, published in the RFC 9728 metadata).
    /// Its JWKS is discovered from its RFC 8414 (or OpenID) metadata unless
    /// [`jwks_url`](Self::jwks_url) is set.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.auth.issuer = Some(issuer.into());
        self
    }

    /// The issuer's JWKS URL, instead of discovering it.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.auth.jwks_url = Some(url.into());
        self
    }

    /// The audience tokens must carry, instead of the public URL's canonical
    /// URI (RFC 8707).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.auth.audience = Some(audience.into());
        self
    }

    /// The scopes each call needs (default: any valid token).
    pub fn scope_policy(mut self, policy: mcp_bearer_auth::ScopePolicy) -> Self {
        self.auth.policy = Some(policy);
        self
    }

    /// Refuse JWTs whose header `typ` is not `at+jwt` (RFC 9068 access
    /// tokens), so an ID token is never taken for an access token. Off by
    /// default: many authorization servers do not set `typ`.
    pub fn require_access_token_type(mut self, required: bool) -> Self {
        self.auth.require_access_token_type = required;
        self
    }

    /// The scopes the RFC 9728 metadata advertises.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.auth.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Your own bearer-auth layer (any verifier: introspection, your own)
    /// instead of the preset's.
    pub fn bearer_auth<V2>(
        self,
        layer: mcp_bearer_auth::BearerAuthLayer<V2>,
    ) -> McpGuard<V2, Ss, Es> {
        self.retype(|typed| Typed {
            bearer_auth: Slot::Custom(layer),
            make_verifier: None,
            #[cfg(feature = "session")]
            session: typed.session,
            #[cfg(feature = "session")]
            session_store: typed.session_store,
            #[cfg(feature = "sse-resume")]
            sse_resume: typed.sse_resume,
            #[cfg(feature = "sse-resume")]
            event_store: typed.event_store,
            _types: PhantomData,
        })
    }

    /// No bearer auth: anyone who reaches the server may call it.
    pub fn without_bearer_auth(mut self) -> Self {
        self.bearer_auth = Slot::Off;
        self
    }
}

#[cfg(feature = "rate-limit")]
impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// A per-principal rate limit of `per_second` requests with bursts of
    /// `burst` (stacked after bearer auth; see [`crate::rate_limit`]).
    pub fn rate_limit(mut self, per_second: u32, burst: u32) -> Self {
        self.rate_limit = match (
            std::num::NonZeroU32::new(per_second),
            std::num::NonZeroU32::new(burst),
        ) {
            (Some(rate), Some(burst)) => {
                Slot::Custom(crate::rate_limit::RateLimitLayer::per_second(rate).burst(burst))
            }
            _ => {
                self.errors.push(McpGuardConfigError::new(
                    "rate_limit",
                    "the rate and the burst must both be at least 1 (use `without_rate_limit` for none)",
                ));
                Slot::Off
            }
        };
        self
    }

    /// No rate limit.
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = Slot::Off;
        self
    }
}

#[cfg(feature = "session")]
impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Who mints session ids: the layer ([`Mode::Issue`](mcp_session::Mode::Issue),
    /// the default) or your handler ([`Mode::Track`](mcp_session::Mode::Track),
    /// e.g. rmcp in its legacy session mode).
    pub fn session_mode(mut self, mode: mcp_session::Mode) -> Self {
        self.session_settings.mode = Some(mode);
        self
    }

    /// A session unused this long ends (the session layer's default otherwise).
    pub fn session_idle_timeout(mut self, timeout: Duration) -> Self {
        self.session_settings.idle_timeout = Some(timeout);
        self
    }

    /// A session ends this long after it began, however busy.
    pub fn session_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_settings.max_lifetime = Some(lifetime);
        self
    }

    /// At most `overall` live sessions, and `per_principal` per authenticated
    /// principal; anonymous sessions (the local preset) are bounded by
    /// `overall` alone.
    pub fn max_sessions(mut self, overall: usize, per_principal: usize) -> Self {
        self.session_settings.max_sessions = Some((overall, per_principal));
        self
    }

    /// Where session records live (e.g. Redis, shared by many instances),
    /// instead of memory.
    pub fn session_store<Ss2>(self, store: Ss2) -> McpGuard<V, Ss2, Es> {
        self.with_session(Slot::Preset, Some(store))
    }

    /// Your own session layer instead of the preset's.
    pub fn session<Ss2>(self, layer: mcp_session::SessionGuardLayer<Ss2>) -> McpGuard<V, Ss2, Es> {
        self.with_session(Slot::Custom(layer), None)
    }

    /// No session layer (and so no resumable SSE: resumes are scoped to
    /// sessions).
    pub fn without_session(mut self) -> Self {
        self.session = Slot::Off;
        self
    }

    /// The same settings with a session layer of another store type (still off
    /// if it was off).
    fn with_session<Ss2>(
        self,
        slot: Slot<mcp_session::SessionGuardLayer<Ss2>>,
        store: Option<Ss2>,
    ) -> McpGuard<V, Ss2, Es> {
        let off = matches!(self.session, Slot::Off);
        self.retype(|typed| Typed {
            #[cfg(feature = "bearer-auth")]
            bearer_auth: typed.bearer_auth,
            #[cfg(feature = "bearer-auth")]
            make_verifier: typed.make_verifier,
            session: if off { Slot::Off } else { slot },
            session_store: store,
            #[cfg(feature = "sse-resume")]
            sse_resume: typed.sse_resume,
            #[cfg(feature = "sse-resume")]
            event_store: typed.event_store,
            _types: PhantomData,
        })
    }
}

#[cfg(feature = "sse-resume")]
impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Where resumable streams' events live (e.g. Redis, shared by many
    /// instances), instead of memory.
    pub fn event_store<Es2>(self, store: Es2) -> McpGuard<V, Ss, Es2> {
        self.with_sse_resume(Slot::Preset, Some(store))
    }

    /// Your own resumable-SSE layer instead of the preset's.
    pub fn sse_resume<Es2>(
        self,
        layer: mcp_sse_resume::SseResumeLayer<Es2>,
    ) -> McpGuard<V, Ss, Es2> {
        self.with_sse_resume(Slot::Custom(layer), None)
    }

    /// No resumable SSE: a dropped stream's events are lost.
    pub fn without_sse_resume(mut self) -> Self {
        self.sse_resume = Slot::Off;
        self
    }

    /// The same settings with a resume layer of another store type (still off
    /// if it was off).
    fn with_sse_resume<Es2>(
        self,
        slot: Slot<mcp_sse_resume::SseResumeLayer<Es2>>,
        store: Option<Es2>,
    ) -> McpGuard<V, Ss, Es2> {
        let off = matches!(self.sse_resume, Slot::Off);
        self.retype(|typed| Typed {
            #[cfg(feature = "bearer-auth")]
            bearer_auth: typed.bearer_auth,
            #[cfg(feature = "bearer-auth")]
            make_verifier: typed.make_verifier,
            session: typed.session,
            session_store: typed.session_store,
            sse_resume: if off { Slot::Off } else { slot },
            event_store: store,
            _types: PhantomData,
        })
    }
}

pub mod bounds {
    //! What the builder needs of its verifier and store types. Each is the
    //! guard crate's trait when the guard's feature is on, and satisfied by
    //! anything when it is off (the type is then a placeholder).

    /// A token verifier ([`TokenVerifier`](mcp_bearer_auth::TokenVerifier)).
    #[cfg(feature = "bearer-auth")]
    pub trait Verifier: mcp_bearer_auth::TokenVerifier {}
    #[cfg(feature = "bearer-auth")]
    impl<T: mcp_bearer_auth::TokenVerifier> Verifier for T {}
    /// A token verifier (feature `bearer-auth` off: anything).
    #[cfg(not(feature = "bearer-auth"))]
    pub trait Verifier {}
    #[cfg(not(feature = "bearer-auth"))]
    impl<T> Verifier for T {}

    /// A session store ([`SessionStore`](mcp_session::store::SessionStore)).
    #[cfg(feature = "session")]
    pub trait SessionStore: mcp_session::store::SessionStore {}
    #[cfg(feature = "session")]
    impl<T: mcp_session::store::SessionStore> SessionStore for T {}
    /// A session store (feature `session` off: anything).
    #[cfg(not(feature = "session"))]
    pub trait SessionStore {}
    #[cfg(not(feature = "session"))]
    impl<T> SessionStore for T {}

    /// An event store ([`EventStore`](mcp_sse_resume::EventStore)).
    #[cfg(feature = "sse-resume")]
    pub trait EventStore: mcp_sse_resume::EventStore {}
    #[cfg(feature = "sse-resume")]
    impl<T: mcp_sse_resume::EventStore> EventStore for T {}
    /// An event store (feature `sse-resume` off: anything).
    #[cfg(not(feature = "sse-resume"))]
    pub trait EventStore {}
    #[cfg(not(feature = "sse-resume"))]
    impl<T> EventStore for T {}
}

impl<V, Ss, Es> McpGuard<V, Ss, Es>
where
    V: bounds::Verifier,
    Ss: bounds::SessionStore,
    Es: bounds::EventStore,
{
    /// The layer, or the first setting that cannot work.
    pub fn build(self) -> Result<McpGuardLayer<V, Ss, Es>, McpGuardConfigError> {
        if let Some(error) = self
            .errors
            .first()
            .cloned()
            .or_else(|| self.unused_setting())
        {
            return Err(error);
        }
        let endpoint = self
            .endpoint
            .as_deref()
            .map(endpoint::Endpoint::new)
            .transpose()?;
        #[allow(unused_variables)] // used by the guards whose features are on
        let peek = self.peek.envelope_limits();

        #[cfg(feature = "origin-guard")]
        let allowlist = match (self.allowlist, &self.reach) {
            (Some(allowlist), _) => allowlist,
            (None, Reach::Localhost) => mcp_origin_guard::Allowlist::localhost(),
            (None, Reach::Public(url)) => mcp_origin_guard::Allowlist::builder()
                .allow_public_url(url.clone())
                .build()
                .map_err(|error| McpGuardConfigError::new("public_url", error))?,
        };
        #[cfg(feature = "origin-guard")]
        let origin_guard = self
            .origin_guard
            .resolve(|| Ok(mcp_origin_guard::OriginGuardLayer::new(allowlist.clone())))?;
        #[cfg(feature = "cors")]
        let cors = self
            .cors
            .resolve(|| Ok(mcp_cors_preset::McpCorsLayer::new(allowlist.clone())))?;
        #[cfg(feature = "protocol-guard")]
        let protocol_guard = self.protocol_guard.resolve(|| {
            mcp_protocol_guard::ProtocolGuardLayer::builder()
                .envelope_limits(peek.clone())
                .build()
                .map_err(|error| McpGuardConfigError::new("protocol_guard", error))
        })?;
        #[cfg(feature = "bearer-auth")]
        let bearer_auth = {
            let mut auth = self.auth;
            auth.response_timeout = self.response_timeout;
            let reach = self.reach;
            let make_verifier = self.make_verifier;
            let peek = peek.clone();
            self.bearer_auth
                .resolve(move || preset_bearer_auth(&reach, &auth, make_verifier, peek))?
        };
        #[cfg(feature = "rate-limit")]
        let rate_limit = self.rate_limit.resolve(|| {
            Ok::<_, McpGuardConfigError>(
                crate::rate_limit::RateLimitLayer::per_second(nonzero(DEFAULT_RATE_PER_SECOND))
                    .burst(nonzero(DEFAULT_RATE_BURST)),
            )
        })?;
        #[cfg(all(feature = "rate-limit", feature = "bearer-auth"))]
        let limits_nobody = rate_limit.is_some() && bearer_auth.is_none();
        #[cfg(all(feature = "rate-limit", not(feature = "bearer-auth")))]
        let limits_nobody = rate_limit.is_some();
        #[cfg(feature = "rate-limit")]
        if limits_nobody {
            return Err(McpGuardConfigError::new(
                "rate_limit",
                "the rate limit keys on the principal bearer auth establishes; without bearer auth it would limit nobody (turn bearer auth on, or use `without_rate_limit`)",
            ));
        }
        #[cfg(feature = "session")]
        let session = {
            let settings = self.session_settings;
            let store = self.session_store;
            let peek = peek.clone();
            self.session
                .resolve(move || preset_session(settings, store, peek))?
        };
        #[cfg(feature = "sse-resume")]
        let sse_resume = {
            let store = self.event_store;
            self.sse_resume.resolve(move || {
                let store = store.ok_or_else(|| {
                    McpGuardConfigError::new(
                        "event_store",
                        "no event store: pass one with `event_store`, or your own layer with `sse_resume`",
                    )
                })?;
                Ok::<_, McpGuardConfigError>(mcp_sse_resume::SseResumeLayer::builder(store).build())
            })?
        };
        #[cfg(feature = "sse-resume")]
        if sse_resume.is_some() && session.is_none() {
            return Err(McpGuardConfigError::new(
                "sse_resume",
                "resumable SSE scopes every resume to a session; with the session layer off nothing could be resumed (turn sessions on, or use `without_sse_resume`)",
            ));
        }
        Ok(McpGuardLayer {
            endpoint,
            response_timeout: self.response_timeout,
            #[cfg(feature = "origin-guard")]
            origin_guard,
            #[cfg(feature = "cors")]
            cors,
            #[cfg(feature = "protocol-guard")]
            protocol_guard,
            #[cfg(feature = "bearer-auth")]
            bearer_auth,
            #[cfg(feature = "rate-limit")]
            rate_limit,
            #[cfg(feature = "session")]
            session,
            #[cfg(feature = "sse-resume")]
            sse_resume,
            _types: PhantomData,
        })
    }
}

#[cfg(feature = "rate-limit")]
fn nonzero(value: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(value).unwrap_or(std::num::NonZeroU32::MIN)
}

/// The preset's bearer auth: the verifier for the audience, the RFC 9728
/// metadata naming the issuer, the scope policy, the shared envelope peek.
#[cfg(feature = "bearer-auth")]
fn preset_bearer_auth<V: mcp_bearer_auth::TokenVerifier>(
    reach: &Reach,
    auth: &AuthSettings,
    make_verifier: Option<MakeVerifier<V>>,
    peek: EnvelopeLimits,
) -> Result<mcp_bearer_auth::BearerAuthLayer<V>, McpGuardConfigError> {
    let audience = match (&auth.audience, reach) {
        (Some(audience), _) => audience.clone(),
        (None, Reach::Public(url)) => mcp_bearer_auth::canonical_resource_uri(url).ok_or_else(|| {
            McpGuardConfigError::new(
                "public_url",
                format!("`{url}` is not an absolute http(s) URL without userinfo, so it cannot be the token audience"),
            )
        })?,
        (None, Reach::Localhost) => {
            return Err(McpGuardConfigError::new(
                "audience",
                "bearer auth needs the audience its tokens carry: use the remote preset with the public URL, or set `audience`",
            ));
        }
    };
    let make_verifier = make_verifier.ok_or_else(|| {
        McpGuardConfigError::new(
            "bearer_auth",
            "no token verifier: pass your own layer with `bearer_auth`",
        )
    })?;
    let verifier = make_verifier(&audience, auth)?;
    let issuer = auth.issuer.clone().unwrap_or_default();
    let metadata = mcp_bearer_auth::ProtectedResourceMetadata::new(&audience, [issuer])
        .with_scopes_supported(auth.scopes_supported.iter().cloned());
    let mut builder =
        mcp_bearer_auth::BearerAuthLayer::builder(verifier, metadata).envelope_limits(peek);
    if let Some(policy) = &auth.policy {
        builder = builder.policy(policy.clone());
    }
    Ok(builder.build())
}

/// The preset's session layer: the mode (issue by default), the store, the
/// timeouts and caps set on the builder, the shared envelope peek.
#[cfg(feature = "session")]
fn preset_session<Ss: mcp_session::store::SessionStore>(
    settings: SessionSettings,
    store: Option<Ss>,
    peek: EnvelopeLimits,
) -> Result<mcp_session::SessionGuardLayer<Ss>, McpGuardConfigError> {
    let store = store.ok_or_else(|| {
        McpGuardConfigError::new(
            "session_store",
            "no session store: pass one with `session_store`, or your own layer with `session`",
        )
    })?;
    let mode = settings.mode.unwrap_or(mcp_session::Mode::Issue);
    let mut builder = mcp_session::SessionGuardLayer::builder(mode, store).envelope_limits(peek);
    if let Some(timeout) = settings.idle_timeout {
        builder = builder.idle_timeout(timeout);
    }
    if let Some(lifetime) = settings.max_lifetime {
        builder = builder.max_lifetime(lifetime);
    }
    if let Some((overall, per_principal)) = settings.max_sessions {
        builder = builder.max_sessions(overall, per_principal);
    }
    builder
        .build()
        .map_err(|error| McpGuardConfigError::new(error.setting(), error))
}
