use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::DEFAULT_MAX_LIST_BYTES;
use super::service::DiscoveryFilter;
use crate::ScopePolicy;

/// What an enabled filter's services share.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) policy: ScopePolicy,
    pub(crate) max_list_bytes: usize,
}

impl Settings {
    pub(crate) fn new(policy: ScopePolicy) -> Self {
        Settings {
            policy,
            max_list_bytes: DEFAULT_MAX_LIST_BYTES,
        }
    }
}

/// Applies [`DiscoveryFilter`]: `tools/list`, `prompts/list`,
/// `resources/list` and `resources/templates/list` answers hold only what the
/// caller's scopes allow under a [`ScopePolicy`]. See the [module
/// docs](super).
///
/// # Off
///
/// [`DiscoveryFilterLayer::disabled`] makes a layer whose service has the same
/// type as an enabled one and passes every request and response through
/// untouched.
///
/// ```
/// use mcp_bearer_auth::ScopePolicy;
/// use mcp_bearer_auth::discovery::DiscoveryFilterLayer;
///
/// let policy = ScopePolicy::new().require_for_tool("admin_echo", ["mcp:admin"]);
/// let on = DiscoveryFilterLayer::new(policy).max_list_bytes(1024 * 1024);
/// assert!(on.is_enabled());
/// assert_eq!(on.max_list_bytes_limit(), Some(1024 * 1024));
/// assert!(!DiscoveryFilterLayer::disabled().is_enabled());
/// ```
#[derive(Clone)]
pub struct DiscoveryFilterLayer {
    /// `None`: switched off.
    settings: Option<Arc<Settings>>,
}

impl DiscoveryFilterLayer {
    /// Lists filtered by `policy` (the one the bearer-auth layer in front
    /// enforces), buffering at most [`DEFAULT_MAX_LIST_BYTES`] of one answer.
    pub fn new(policy: ScopePolicy) -> Self {
        DiscoveryFilterLayer {
            settings: Some(Arc::new(Settings::new(policy))),
        }
    }

    /// A layer that filters nothing: see [Off](DiscoveryFilterLayer#off).
    pub fn disabled() -> Self {
        DiscoveryFilterLayer { settings: None }
    }

    /// Whether the layer filters (`false` for [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// The most bytes of one list answer the filter holds: a JSON body, or
    /// one event of an event stream. Default [`DEFAULT_MAX_LIST_BYTES`]. An
    /// answer over it is never passed unfiltered: the caller gets a JSON-RPC
    /// error with its request's id instead. No effect on a disabled layer.
    pub fn max_list_bytes(mut self, bytes: usize) -> Self {
        if let Some(settings) = &mut self.settings {
            Arc::make_mut(settings).max_list_bytes = bytes;
        }
        self
    }

    /// The limit set by [`max_list_bytes`](Self::max_list_bytes); `None`
    /// when disabled.
    pub fn max_list_bytes_limit(&self) -> Option<usize> {
        self.settings
            .as_ref()
            .map(|settings| settings.max_list_bytes)
    }
}

impl fmt::Debug for DiscoveryFilterLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscoveryFilterLayer")
            .field("settings", &self.settings)
            .finish()
    }
}

impl<S> Layer<S> for DiscoveryFilterLayer {
    type Service = DiscoveryFilter<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DiscoveryFilter {
            inner,
            settings: self.settings.clone(),
        }
    }
}
