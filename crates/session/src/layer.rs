use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mcp_guard_core::EnvelopeLimits;
use tower_layer::Layer;

use crate::id::DEFAULT_MAX_SESSION_ID_LEN;
use crate::service::{SessionGuard, Shared};
use crate::store::{MemorySessionStore, SessionStore, SessionStoreLimits};

/// Who mints session ids.
///
/// Exactly one of the layer and the handler may mint them. rmcp's
/// `StreamableHttpService` mints its own unless built with
/// `StreamableHttpServerConfig::with_legacy_session_mode(false)`: behind
/// [`Mode::Issue`] build it that way, or use [`Mode::Track`] and leave rmcp's
/// sessions on.
///
/// A handler that answers an `initialize` with its own `Mcp-Session-Id` under
/// [`Mode::Issue`] is a misconfiguration the layer cannot repair (the handler
/// would not know the layer's id, so every later request would fail inside
/// it): the initialize gets a `500` JSON-RPC error (`-32603`, the request's
/// id, a message naming both settings), no session is created, the handler's
/// own session is ended with a `DELETE`, and the layer logs an `error` once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The layer mints the id and sets it on the successful initialize
    /// response; the handler must be stateless (rmcp:
    /// `with_legacy_session_mode(false)`).
    Issue,
    /// The handler mints ids (rmcp in legacy session mode, its default, or
    /// any existing server); the layer records the id of each successful
    /// initialize and enforces everything on top. DELETE is forwarded to the
    /// handler too.
    Track,
}

/// What to do when the caller's [`Principal`](mcp_guard_core::Principal) lacks
/// an issuer or a subject, so a session cannot be bound to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncompletePrincipal {
    /// Refuse to create the session (`403`): the default. Binding it to the
    /// client id alone would let every user of one client share sessions.
    #[default]
    Reject,
    /// Bind to whatever is present (e.g. the client id only), and log that
    /// the binding is weaker at `warn`. A principal naming no issuer,
    /// subject or client id at all is still refused: bound to nothing, its
    /// session would be anonymous.
    BindToPresent,
}

/// The layer's settings (see [`SessionGuardLayerBuilder`]).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) mode: Mode,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Duration,
    pub(crate) limits: SessionStoreLimits,
    pub(crate) client_termination: bool,
    pub(crate) incomplete_principal: IncompletePrincipal,
    pub(crate) max_id_len: usize,
    pub(crate) touch_interval: Duration,
    pub(crate) retry_after: Duration,
    pub(crate) peek: EnvelopeLimits,
    pub(crate) max_initialize_response_bytes: usize,
    pub(crate) initialize_response_timeout: Duration,
    pub(crate) pin_protocol_version: bool,
    /// Whether the handler minting its own ids under [`Mode::Issue`] was
    /// logged: once per layer, shared by the services it makes.
    pub(crate) handler_ids_logged: Arc<AtomicBool>,
}

/// Applies [`SessionGuard`]: the MCP session lifecycle in front of any
/// handler, bound to the caller, in a [`SessionStore`].
///
/// See the [crate documentation](crate) for the rules.
/// [`disabled`](Self::disabled) makes a layer of the same type that guards nothing.
pub struct SessionGuardLayer<St = MemorySessionStore> {
    /// The store and settings; `None` when the guard is switched off.
    guard: Option<Shared<St>>,
}

impl<St> Clone for SessionGuardLayer<St> {
    fn clone(&self) -> Self {
        SessionGuardLayer {
            guard: self.guard.clone(),
        }
    }
}

impl<St> fmt::Debug for SessionGuardLayer<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionGuardLayer")
            .field(
                "settings",
                &self.guard.as_ref().map(|guard| &guard.settings),
            )
            .finish_non_exhaustive()
    }
}

impl<St> SessionGuardLayer<St> {
    /// A layer that guards nothing: its service hands every request and
    /// response through untouched (only wrapped in [`GuardBody`](mcp_guard_core::GuardBody)),
    /// reads no body, looks nothing up, mints no session, puts nothing in
    /// the extensions and logs nothing. Its service has the same type as an
    /// enabled layer's, so a stack can switch the guard off by configuration
    /// without changing its type. It needs no store.
    ///
    /// ```
    /// use mcp_session::{SessionGuardLayer, store::MemorySessionStore};
    ///
    /// let on = SessionGuardLayer::issue();
    /// let off = SessionGuardLayer::<MemorySessionStore>::disabled();
    /// assert!(on.is_enabled() && !off.is_enabled());
    /// let layers: [SessionGuardLayer; 2] = [on, off]; // one type
    /// # drop(layers);
    /// ```
    pub fn disabled() -> Self {
        SessionGuardLayer { guard: None }
    }

    /// Whether the layer guards anything (`false` only for [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.guard.is_some()
    }

    /// The store (e.g. to count live sessions); `None` when the layer is
    /// [`disabled`](Self::disabled).
    pub fn store(&self) -> Option<&St> {
        self.guard.as_ref().map(|guard| &*guard.store)
    }
}

impl SessionGuardLayer<MemorySessionStore> {
    /// Issue mode with the in-memory store and the default settings.
    pub fn issue() -> Self {
        SessionGuardLayer::builder(Mode::Issue, MemorySessionStore::new()).build_or_default()
    }

    /// Track mode with the in-memory store and the default settings.
    pub fn track() -> Self {
        SessionGuardLayer::builder(Mode::Track, MemorySessionStore::new()).build_or_default()
    }
}

impl<St: SessionStore> SessionGuardLayer<St> {
    /// Starts a configuration for `mode` on `store`.
    pub fn builder(mode: Mode, store: St) -> SessionGuardLayerBuilder<St> {
        SessionGuardLayerBuilder {
            store,
            settings: Settings {
                mode,
                idle_timeout: SessionGuardLayerBuilder::<St>::DEFAULT_IDLE_TIMEOUT,
                max_lifetime: SessionGuardLayerBuilder::<St>::DEFAULT_MAX_LIFETIME,
                limits: SessionStoreLimits {
                    max_sessions: SessionGuardLayerBuilder::<St>::DEFAULT_MAX_SESSIONS,
                    max_sessions_per_owner:
                        SessionGuardLayerBuilder::<St>::DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
                },
                client_termination: true,
                incomplete_principal: IncompletePrincipal::default(),
                max_id_len: DEFAULT_MAX_SESSION_ID_LEN,
                touch_interval: Duration::from_secs(30),
                retry_after: Duration::from_secs(5),
                peek: EnvelopeLimits::new(),
                max_initialize_response_bytes: 1024 * 1024,
                initialize_response_timeout: Duration::from_secs(30),
                pin_protocol_version: false,
                handler_ids_logged: Arc::new(AtomicBool::new(false)),
            },
        }
    }
}

impl<S, St> Layer<S> for SessionGuardLayer<St> {
    type Service = SessionGuard<S, St>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionGuard {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// Configures a [`SessionGuardLayer`]; [`build`](Self::build) checks the settings.
#[must_use = "call .build() to get the layer"]
pub struct SessionGuardLayerBuilder<St> {
    store: St,
    settings: Settings,
}

impl<St> fmt::Debug for SessionGuardLayerBuilder<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionGuardLayerBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<St: SessionStore> SessionGuardLayerBuilder<St> {
    /// Default idle timeout: 30 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// Default absolute lifetime: 24 hours.
    pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
    /// Default cap on live sessions: 10 000.
    pub const DEFAULT_MAX_SESSIONS: usize = 10_000;
    /// Default cap on live sessions of one principal: 32 (anonymous sessions
    /// are bounded by [`DEFAULT_MAX_SESSIONS`](Self::DEFAULT_MAX_SESSIONS)
    /// alone; see [`max_sessions`](Self::max_sessions)).
    pub const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL: usize = 32;

    /// A session ends after this long without a request.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.settings.idle_timeout = timeout;
        self
    }

    /// A session ends this long after it began, however busy. It is also how
    /// ids rotate: the client re-initializes and gets a new one (the protocol
    /// has no way to hand a client a new id mid-session).
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.max_lifetime = lifetime;
        self
    }

    /// Caps live sessions overall (`503` beyond) and per principal (`429`).
    ///
    /// Anonymous sessions (no [`Principal`](mcp_guard_core::Principal) in the
    /// request: the local preset, a server without bearer-auth) are bounded
    /// by `overall` alone. Callers without a principal are not one caller,
    /// and this layer cannot tell them apart (the peer address is not in a
    /// request's extensions on every server), so a shared per-principal
    /// bucket would lock a local server's only user out after
    /// `per_principal` reconnects without `DELETE`. Bound unauthenticated
    /// clients per address in the HTTP server or a proxy in front.
    pub fn max_sessions(mut self, overall: usize, per_principal: usize) -> Self {
        self.settings.limits = SessionStoreLimits {
            max_sessions: overall,
            max_sessions_per_owner: per_principal,
        };
        self
    }

    /// Whether clients may end sessions with `DELETE` (default: yes; else `405`).
    pub fn client_termination(mut self, allow: bool) -> Self {
        self.settings.client_termination = allow;
        self
    }

    /// What to do with a principal that lacks issuer or subject.
    pub fn incomplete_principal(mut self, policy: IncompletePrincipal) -> Self {
        self.settings.incomplete_principal = policy;
        self
    }

    /// The longest session id accepted (default 128 bytes).
    pub fn max_id_len(mut self, len: usize) -> Self {
        self.settings.max_id_len = len;
        self
    }

    /// A busy session's last-seen time is written to the store at most this
    /// often (default 30 s), so a remote store is not written on every request.
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.settings.touch_interval = interval;
        self
    }

    /// The `Retry-After` of `429`/`503` answers (default 5 s; a store error
    /// may name its own).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.settings.retry_after = retry_after;
        self
    }

    /// Whether a request must send exactly the `MCP-Protocol-Version` its
    /// session negotiated (default: no).
    ///
    /// By default any supported legacy-era version is accepted inside a
    /// session, as the spec asks (only an invalid or unsupported version is a
    /// `400`), and real clients rely on it: the official conformance suite
    /// sends `2025-03-26` inside a `2025-11-25` session. Pinning refuses a
    /// different version with `400`; turn it on only for clients you control.
    pub fn pin_protocol_version(mut self, pin: bool) -> Self {
        self.settings.pin_protocol_version = pin;
        self
    }

    /// The limits (size, read timeout) for reading a POST's JSON-RPC
    /// envelope when this layer is the first to need it (default
    /// [`EnvelopeLimits::new`]). Behind an
    /// [`EnvelopePeekLayer`](mcp_guard_core::EnvelopePeekLayer), or any layer
    /// that already read the envelope into the request's extensions, the
    /// layer reads nothing and these limits do not apply.
    pub fn envelope_limits(mut self, peek: EnvelopeLimits) -> Self {
        self.settings.peek = peek;
        self
    }

    /// Checks the settings and builds the layer.
    pub fn build(self) -> Result<SessionGuardLayer<St>, SessionGuardConfigError> {
        let settings = &self.settings;
        if settings.idle_timeout.is_zero() {
            return Err(SessionGuardConfigError::new(
                "idle_timeout",
                "must be longer than zero",
            ));
        }
        if settings.max_lifetime < settings.idle_timeout {
            return Err(SessionGuardConfigError::new(
                "max_lifetime",
                "must not be shorter than idle_timeout",
            ));
        }
        if settings.limits.max_sessions == 0 || settings.limits.max_sessions_per_owner == 0 {
            return Err(SessionGuardConfigError::new(
                "max_sessions",
                "both caps must be at least 1",
            ));
        }
        if settings.max_id_len < 16 {
            return Err(SessionGuardConfigError::new(
                "max_id_len",
                "must be at least 16 (minted ids are 32)",
            ));
        }
        Ok(self.build_or_default())
    }

    fn build_or_default(self) -> SessionGuardLayer<St> {
        SessionGuardLayer {
            guard: Some(Shared {
                store: Arc::new(self.store),
                settings: Arc::new(self.settings),
            }),
        }
    }
}

/// A setting [`SessionGuardLayerBuilder::build`] refuses, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGuardConfigError {
    setting: &'static str,
    reason: &'static str,
}

impl SessionGuardConfigError {
    fn new(setting: &'static str, reason: &'static str) -> Self {
        SessionGuardConfigError { setting, reason }
    }

    /// The builder method whose value was refused.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for SessionGuardConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for SessionGuardConfigError {}
