//! The origin guard's wiring: the allowlist it shares with CORS, its setters,
//! its build step.

use mcp_origin_guard::{Allowlist, OriginGuardLayer};

use super::{McpGuard, McpGuardConfigError, Reach};

/// The allowlist set on the builder and the origin guard's layer (`None`: the
/// preset's).
#[derive(Debug, Default)]
pub(super) struct Wiring {
    pub(super) allowlist: Option<Allowlist>,
    pub(super) layer: Option<OriginGuardLayer>,
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// The hosts and origins the origin guard and CORS accept, instead of the
    /// preset's (localhost, or the public URL's).
    pub fn allowlist(mut self, allowlist: Allowlist) -> Self {
        self.common.origin_guard.allowlist = Some(allowlist);
        self
    }

    /// Your own origin guard instead of the preset's.
    pub fn origin_guard(mut self, layer: OriginGuardLayer) -> Self {
        self.common.origin_guard.layer = Some(layer);
        self
    }

    /// No origin guard. Only behind a proxy that checks `Host` and `Origin`
    /// itself: without it, any web page can reach a local server through DNS
    /// rebinding.
    pub fn without_origin_guard(mut self) -> Self {
        self.common.origin_guard.layer = Some(OriginGuardLayer::disabled());
        self
    }
}

impl Wiring {
    /// The allowlist the preset's origin guard and CORS use: the one set, or
    /// localhost, or the public URL's host and origin.
    pub(super) fn allowlist(&self, reach: &Reach) -> Result<Allowlist, McpGuardConfigError> {
        match (&self.allowlist, reach) {
            (Some(allowlist), _) => Ok(allowlist.clone()),
            (None, Reach::Localhost) => Ok(Allowlist::localhost()),
            #[cfg(feature = "jwks")]
            (None, Reach::Public(url)) => Allowlist::builder()
                .allow_public_url(url.clone())
                .build()
                .map_err(|error| McpGuardConfigError::new("public_url", error)),
        }
    }

    /// Whether the preset builds the guard (neither replaced nor off).
    pub(super) fn is_preset(&self) -> bool {
        self.layer.is_none()
    }

    /// The layer to stack: yours, the disabled one, or the preset's.
    pub(super) fn build(self, allowlist: &Allowlist) -> OriginGuardLayer {
        self.layer
            .unwrap_or_else(|| OriginGuardLayer::new(allowlist.clone()))
    }
}
