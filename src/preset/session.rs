//! The session layer's wiring: its settings, setters and store, and its
//! build step.

use std::marker::PhantomData;
use std::time::Duration;

use mcp_session::store::{MemorySessionStore, SessionStore};
use mcp_session::{Mode, SessionGuardLayer};

use super::{McpGuard, McpGuardConfigError};

/// Builds the preset's layer on a store. Chosen where the store type is known
/// to be a [`SessionStore`], so `build` needs no bound on it.
type PresetLayer<Ss> =
    fn(Ss, &SessionSettings) -> Result<SessionGuardLayer<Ss>, McpGuardConfigError>;

/// The layer (`None`: the preset's, on `store`) and the settings the preset's
/// layer is made from.
pub(super) struct Wiring<Ss> {
    layer: Option<SessionGuardLayer<Ss>>,
    store: Option<(Ss, PresetLayer<Ss>)>,
    pub(super) settings: SessionSettings,
}

#[derive(Debug, Clone, Default)]
pub(super) struct SessionSettings {
    pub(super) mode: Option<Mode>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) max_lifetime: Option<Duration>,
    pub(super) max_sessions: Option<(usize, usize)>,
}

impl Wiring<MemorySessionStore> {
    /// The presets' sessions, in memory.
    pub(super) fn in_memory() -> Self {
        Wiring {
            layer: None,
            store: Some((MemorySessionStore::new(), preset_layer)),
            settings: SessionSettings::default(),
        }
    }
}

impl<Ss> Wiring<Ss> {
    /// Whether the preset builds the layer (neither replaced nor off).
    pub(super) fn is_preset(&self) -> bool {
        self.layer.is_none()
    }

    fn is_off(&self) -> bool {
        self.layer.as_ref().is_some_and(|layer| !layer.is_enabled())
    }

    /// The same settings with `layer` and `store` of another store type; still
    /// off if it was off.
    fn retype<Ss2>(
        self,
        layer: Option<SessionGuardLayer<Ss2>>,
        store: Option<(Ss2, PresetLayer<Ss2>)>,
    ) -> Wiring<Ss2> {
        let layer = match self.is_off() {
            true => Some(SessionGuardLayer::disabled()),
            false => layer,
        };
        Wiring {
            layer,
            store,
            settings: self.settings,
        }
    }

    /// The layer to stack: yours, the disabled one, or the preset's.
    pub(super) fn build(self) -> Result<SessionGuardLayer<Ss>, McpGuardConfigError> {
        match (self.layer, self.store) {
            (Some(layer), _) => Ok(layer),
            (None, Some((store, preset))) => preset(store, &self.settings),
            (None, None) => Err(McpGuardConfigError::new(
                "session_store",
                "no session store: pass one with `session_store`, or your own layer with `session`",
            )),
        }
    }
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Who mints session ids: the layer ([`Mode::Issue`], the default) or your
    /// handler ([`Mode::Track`], e.g. rmcp in its legacy session mode).
    pub fn session_mode(mut self, mode: Mode) -> Self {
        self.session.settings.mode = Some(mode);
        self
    }

    /// A session unused this long ends (the session layer's default otherwise).
    pub fn session_idle_timeout(mut self, timeout: Duration) -> Self {
        self.session.settings.idle_timeout = Some(timeout);
        self
    }

    /// A session ends this long after it began, however busy.
    pub fn session_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.session.settings.max_lifetime = Some(lifetime);
        self
    }

    /// At most `overall` live sessions, and `per_principal` per authenticated
    /// principal; anonymous sessions (the local preset) are bounded by
    /// `overall` alone.
    pub fn max_sessions(mut self, overall: usize, per_principal: usize) -> Self {
        self.session.settings.max_sessions = Some((overall, per_principal));
        self
    }

    /// Where session records live (e.g. Redis, shared by many instances),
    /// instead of memory.
    pub fn session_store<Ss2: SessionStore>(self, store: Ss2) -> McpGuard<V, Ss2, Es> {
        self.with_session(|session| session.retype(None, Some((store, preset_layer))))
    }

    /// Your own session layer instead of the preset's.
    pub fn session<Ss2>(self, layer: SessionGuardLayer<Ss2>) -> McpGuard<V, Ss2, Es> {
        self.with_session(|session| session.retype(Some(layer), None))
    }

    /// No session layer (and so no resumable SSE: resumes are scoped to
    /// sessions).
    pub fn without_session(mut self) -> Self {
        self.session.layer = Some(SessionGuardLayer::disabled());
        self
    }

    /// The same builder with the session wiring `change` makes of this one.
    fn with_session<Ss2>(
        self,
        change: impl FnOnce(Wiring<Ss>) -> Wiring<Ss2>,
    ) -> McpGuard<V, Ss2, Es> {
        McpGuard {
            common: self.common,
            #[cfg(feature = "bearer-auth")]
            bearer_auth: self.bearer_auth,
            session: change(self.session),
            #[cfg(feature = "sse-resume")]
            sse_resume: self.sse_resume,
            _types: PhantomData,
        }
    }
}

/// The preset's session layer: the mode (issue by default), the store, the
/// timeouts and caps set on the builder.
fn preset_layer<Ss: SessionStore>(
    store: Ss,
    settings: &SessionSettings,
) -> Result<SessionGuardLayer<Ss>, McpGuardConfigError> {
    let mode = settings.mode.unwrap_or(Mode::Issue);
    let mut builder = SessionGuardLayer::builder(mode, store);
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
