//! The discovery filter's wiring: off by default; `filter_discovery(true)`
//! builds it from the preset's scope policy; `discovery_filter(…)` takes a
//! layer of your own.

use mcp_bearer_auth::ScopePolicy;
use mcp_bearer_auth::discovery::DiscoveryFilterLayer;

use super::{McpGuard, McpGuardConfigError};

/// What the builder was told about the filter.
#[derive(Debug, Default)]
pub(super) struct Wiring {
    on: bool,
    layer: Option<DiscoveryFilterLayer>,
    max_list_bytes: Option<usize>,
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Lists filtered by authorization: each caller's `tools/list`,
    /// `prompts/list`, `resources/list` and `resources/templates/list`
    /// answers hold only what its token's scopes allow under the
    /// [`scope_policy`](Self::scope_policy), in JSON and SSE answers, both
    /// eras (see [`mcp_bearer_auth::discovery`]). A call of a hidden tool is
    /// still answered by bearer auth's `403` step-up challenge.
    ///
    /// Off by default: it rewrites the handler's list answers (each buffered,
    /// up to [`max_list_bytes`](Self::max_list_bytes), parsed and written
    /// again), which only a policy with per-tool, per-prompt or
    /// per-resource rules needs; the protection itself, the `403` on a call
    /// the token may not make, is bearer auth's either way. Turned on, it
    /// needs the preset's bearer auth (the remote preset): without it no
    /// caller has scopes, and with your own
    /// [`bearer_auth`](Self::bearer_auth) layer the preset does not know its
    /// policy (pass [`discovery_filter`](Self::discovery_filter) instead);
    /// either is an error from [`build`](Self::build) naming
    /// `filter_discovery`.
    ///
    /// Keep the preset's resumable SSE on with it: the filter sits inside
    /// it, so what a `Last-Event-ID` replay sends is the filtered answer.
    /// With resumable SSE off and a handler that keeps and replays its own
    /// SSE events (rmcp's legacy session mode), a replay comes from the
    /// handler's copy, which the filter never rewrote.
    pub fn filter_discovery(mut self, on: bool) -> Self {
        self.common.discovery_filter.on = on;
        self
    }

    /// Your own [`DiscoveryFilterLayer`] (built from the policy your own
    /// bearer-auth layer enforces) instead of the preset's. An enabled one
    /// without bearer auth is an error from [`build`](Self::build) naming
    /// `discovery_filter`.
    pub fn discovery_filter(mut self, layer: DiscoveryFilterLayer) -> Self {
        self.common.discovery_filter.layer = Some(layer);
        self
    }

    /// The most bytes of one list answer (a JSON body, or one SSE event) the
    /// preset's discovery filter holds; an answer over it is replaced by a
    /// JSON-RPC error, never passed unfiltered. Default
    /// [`DEFAULT_MAX_LIST_BYTES`](mcp_bearer_auth::discovery::DEFAULT_MAX_LIST_BYTES)
    /// (4 MiB). Set without [`filter_discovery`](Self::filter_discovery), it is
    /// an error from [`build`](Self::build) naming `max_list_bytes`.
    pub fn max_list_bytes(mut self, bytes: usize) -> Self {
        self.common.discovery_filter.max_list_bytes = Some(bytes);
        self
    }
}

/// The filter to stack: yours, the preset's, or the disabled one.
/// `bearer_auth_on`: whether bearer auth is in the stack; `preset_policy`:
/// the preset's bearer auth's policy (`None` when bearer auth is off or your
/// own layer).
pub(super) fn build(
    wiring: Wiring,
    bearer_auth_on: bool,
    preset_policy: Option<ScopePolicy>,
) -> Result<DiscoveryFilterLayer, McpGuardConfigError> {
    if let Some(layer) = wiring.layer {
        if layer.is_enabled() && !bearer_auth_on {
            return Err(McpGuardConfigError::new(
                "discovery_filter",
                "the discovery filter lists what the caller's token scopes allow; with bearer auth off no caller has a token (use the remote preset or your own `bearer_auth` layer)",
            ));
        }
        if wiring.max_list_bytes.is_some() {
            return Err(McpGuardConfigError::new(
                "max_list_bytes",
                "your own `discovery_filter` layer does not use it: set `max_list_bytes` on that layer",
            ));
        }
        return Ok(layer);
    }
    if !wiring.on {
        if wiring.max_list_bytes.is_some() {
            return Err(McpGuardConfigError::new(
                "max_list_bytes",
                "no discovery filter reads it: turn it on with `filter_discovery(true)`, or drop the setting",
            ));
        }
        return Ok(DiscoveryFilterLayer::disabled());
    }
    if !bearer_auth_on {
        return Err(McpGuardConfigError::new(
            "filter_discovery",
            "the discovery filter lists what the caller's token scopes allow; with bearer auth off (the local preset, or `without_bearer_auth`) no caller has a token: use the remote preset, or drop the setting",
        ));
    }
    let Some(policy) = preset_policy else {
        return Err(McpGuardConfigError::new(
            "filter_discovery",
            "the preset does not know the scope policy of your own `bearer_auth` layer: pass `discovery_filter(DiscoveryFilterLayer::new(policy))` with that policy instead",
        ));
    };
    let layer = DiscoveryFilterLayer::new(policy);
    Ok(match wiring.max_list_bytes {
        Some(bytes) => layer.max_list_bytes(bytes),
        None => layer,
    })
}

#[cfg(all(test, feature = "jwks", feature = "default"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mcp_bearer_auth::discovery::DiscoveryFilterLayer;
    use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy};

    use crate::McpGuard;

    const URL: &str = "https://mcp.example.com/mcp";
    const ISSUER: &str = "https://auth.example.com";

    fn remote() -> McpGuard {
        McpGuard::remote(URL).issuer(ISSUER)
    }

    fn refused<V, Ss, Es>(guard: McpGuard<V, Ss, Es>) -> &'static str {
        match guard.build() {
            Ok(_) => panic!("a configuration that cannot work was built"),
            Err(error) => error.setting(),
        }
    }

    #[test]
    fn off_by_default_innermost_and_named_when_on() {
        let off = remote().build().unwrap();
        assert!(!off.guards().contains(&"discovery-filter"));
        let on = remote().filter_discovery(true).build().unwrap();
        assert_eq!(on.guards().last(), Some(&"discovery-filter"), "innermost");
        let yours = remote()
            .discovery_filter(DiscoveryFilterLayer::new(ScopePolicy::new()))
            .build()
            .unwrap();
        assert_eq!(yours.guards().last(), Some(&"discovery-filter"));
    }

    #[test]
    fn a_filter_without_the_scopes_it_needs_is_a_build_error() {
        assert_eq!(
            refused(McpGuard::local().filter_discovery(true)),
            "filter_discovery"
        );
        assert_eq!(
            refused(
                McpGuard::remote(URL)
                    .without_bearer_auth()
                    .filter_discovery(true)
            ),
            "filter_discovery"
        );
        let verifier = JwtVerifier::builder(ISSUER, URL)
            .hs256_secret(b"a shared secret of at least 32 bytes!!")
            .build()
            .unwrap();
        let own = BearerAuthLayer::new(verifier, ProtectedResourceMetadata::new(URL, [ISSUER]));
        let with_own = || McpGuard::remote(URL).bearer_auth(own.clone());
        assert_eq!(
            refused(with_own().filter_discovery(true)),
            "filter_discovery"
        );
        let filter = DiscoveryFilterLayer::new(ScopePolicy::new());
        assert!(with_own().discovery_filter(filter.clone()).build().is_ok());
        assert_eq!(
            refused(McpGuard::local().discovery_filter(filter)),
            "discovery_filter"
        );
        assert_eq!(refused(remote().max_list_bytes(1024)), "max_list_bytes");
        assert!(
            remote()
                .filter_discovery(true)
                .max_list_bytes(1024)
                .build()
                .is_ok()
        );
    }
}
