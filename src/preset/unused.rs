//! Settings the chosen preset would not use are errors, not silently ignored:
//! an operator who sets an issuer on a server without bearer auth believes
//! tokens are checked when nothing is.

use super::{McpGuard, McpGuardConfigError};

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// The first setting made on this builder that no guard it stacks reads:
    /// the preset's bearer auth, session layer or Host/Origin guards being
    /// off or replaced by a layer of your own.
    pub(super) fn unused_setting(&self) -> Option<McpGuardConfigError> {
        self.unused_auth_setting()
            .or_else(|| self.unused_session_setting())
            .or_else(|| self.unused_allowlist())
    }

    #[cfg(feature = "bearer-auth")]
    fn unused_auth_setting(&self) -> Option<McpGuardConfigError> {
        if self.bearer_auth.is_preset() {
            return None;
        }
        let auth = &self.bearer_auth.settings;
        let set = [
            ("issuer", auth.issuer.is_some()),
            ("jwks_url", auth.jwks_url.is_some()),
            ("audience", auth.audience.is_some()),
            ("scope_policy", auth.policy.is_some()),
            ("scopes_supported", !auth.scopes_supported.is_empty()),
            ("require_access_token_type", auth.require_access_token_type),
        ];
        first_set(set).map(|setting| {
            McpGuardConfigError::new(
                setting,
                "the preset's bearer auth does not use it: it is off (the local preset, or `without_bearer_auth`) or replaced by your own `bearer_auth` layer, so no token would be checked against it; use the remote preset, configure your own layer, or drop the setting",
            )
        })
    }

    #[cfg(not(feature = "bearer-auth"))]
    fn unused_auth_setting(&self) -> Option<McpGuardConfigError> {
        None
    }

    #[cfg(feature = "session")]
    fn unused_session_setting(&self) -> Option<McpGuardConfigError> {
        if self.session.is_preset() {
            return None;
        }
        let session = &self.session.settings;
        let set = [
            ("session_mode", session.mode.is_some()),
            ("session_idle_timeout", session.idle_timeout.is_some()),
            ("session_max_lifetime", session.max_lifetime.is_some()),
            ("max_sessions", session.max_sessions.is_some()),
        ];
        first_set(set).map(|setting| {
            McpGuardConfigError::new(
                setting,
                "the preset's session layer does not use it: it is off (`without_session`) or replaced by your own `session` layer; configure that layer, or drop the setting",
            )
        })
    }

    #[cfg(not(feature = "session"))]
    fn unused_session_setting(&self) -> Option<McpGuardConfigError> {
        None
    }

    #[cfg(feature = "origin-guard")]
    fn unused_allowlist(&self) -> Option<McpGuardConfigError> {
        let origin_guard = &self.common.origin_guard;
        #[cfg(feature = "cors")]
        let cors_uses_it = self.common.cors.is_none();
        #[cfg(not(feature = "cors"))]
        let cors_uses_it = false;
        let used = origin_guard.is_preset() || cors_uses_it;
        (origin_guard.allowlist.is_some() && !used).then(|| {
            McpGuardConfigError::new(
                "allowlist",
                "the preset's origin guard and CORS do not use it: both are off or replaced by your own layers; give your layers the allowlist, or drop the setting",
            )
        })
    }

    #[cfg(not(feature = "origin-guard"))]
    fn unused_allowlist(&self) -> Option<McpGuardConfigError> {
        None
    }
}

/// The first setting marked as set (of the builder's, or of the config
/// file's keys).
#[cfg(any(feature = "bearer-auth", feature = "session", feature = "config"))]
pub(crate) fn first_set<const N: usize>(
    settings: [(&'static str, bool); N],
) -> Option<&'static str> {
    settings
        .into_iter()
        .find_map(|(setting, set)| set.then_some(setting))
}

// Each test needs the guard whose settings it refuses.
#[cfg(all(
    test,
    any(
        feature = "bearer-auth",
        feature = "session",
        all(feature = "origin-guard", feature = "cors")
    )
))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::McpGuard;

    fn refused_setting<V, Ss, Es>(guard: McpGuard<V, Ss, Es>) -> &'static str {
        match guard.build() {
            Ok(_) => panic!("a setting the preset does not use was accepted"),
            Err(error) => {
                assert!(
                    error.problem().contains("not use") || error.problem().contains("unused"),
                    "the error says why: {error}"
                );
                error.setting()
            }
        }
    }

    #[cfg(feature = "bearer-auth")]
    #[test]
    fn auth_settings_without_the_presets_bearer_auth_are_refused() {
        assert_eq!(
            refused_setting(McpGuard::local().issuer("https://as.example")),
            "issuer"
        );
        assert_eq!(
            refused_setting(McpGuard::local().jwks_url("https://as.example/jwks")),
            "jwks_url"
        );
        assert_eq!(
            refused_setting(McpGuard::local().audience("https://mcp.example/mcp")),
            "audience"
        );
        assert_eq!(
            refused_setting(
                McpGuard::local()
                    .scope_policy(mcp_bearer_auth::ScopePolicy::new().require(["mcp"]))
            ),
            "scope_policy"
        );
        assert_eq!(
            refused_setting(McpGuard::local().scopes_supported(["mcp"])),
            "scopes_supported"
        );
    }

    #[cfg(all(feature = "jwks", feature = "rate-limit"))]
    #[test]
    fn auth_settings_with_bearer_auth_switched_off_are_refused() {
        let guard = McpGuard::remote("https://mcp.example.com/mcp")
            .issuer("https://as.example")
            .without_bearer_auth()
            .without_rate_limit();
        assert_eq!(refused_setting(guard), "issuer");
    }

    #[cfg(feature = "jwks")]
    #[test]
    fn the_remote_preset_uses_its_auth_settings() {
        let built = McpGuard::remote("https://mcp.example.com/mcp")
            .issuer("https://as.example")
            .jwks_url("https://as.example/jwks")
            .scope_policy(mcp_bearer_auth::ScopePolicy::new().require(["mcp"]))
            .scopes_supported(["mcp"])
            .build();
        assert!(built.is_ok(), "{:?}", built.err());
    }

    #[cfg(feature = "session")]
    #[test]
    fn session_settings_without_the_presets_session_layer_are_refused() {
        let off = || {
            let guard = McpGuard::local().without_session();
            #[cfg(feature = "sse-resume")]
            let guard = guard.without_sse_resume();
            guard
        };
        assert_eq!(
            refused_setting(off().session_idle_timeout(std::time::Duration::from_secs(5))),
            "session_idle_timeout"
        );
        assert_eq!(
            refused_setting(off().session_max_lifetime(std::time::Duration::from_secs(5))),
            "session_max_lifetime"
        );
        assert_eq!(refused_setting(off().max_sessions(10, 2)), "max_sessions");
        assert_eq!(
            refused_setting(off().session_mode(mcp_session::Mode::Track)),
            "session_mode"
        );
    }

    #[cfg(all(feature = "origin-guard", feature = "cors"))]
    #[test]
    fn an_allowlist_without_origin_guard_or_cors_is_refused() {
        let allowlist = mcp_origin_guard::Allowlist::builder()
            .allow_hosts(["mcp.internal:8080"])
            .build()
            .unwrap();
        let guard = McpGuard::local()
            .allowlist(allowlist)
            .without_origin_guard()
            .without_cors();
        assert_eq!(refused_setting(guard), "allowlist");
    }
}
