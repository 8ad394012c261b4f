//! Bearer auth's wiring: the remote preset's token settings, their setters,
//! and the build step (the JWT verifier from the issuer's JWKS, the RFC 9728
//! metadata, the scope policy).

use std::marker::PhantomData;
use std::time::Duration;

use mcp_bearer_auth::{BearerAuthLayer, ScopePolicy};

use super::{McpGuard, McpGuardConfigError, Reach};

/// Builds the preset's layer from the settings (the remote preset's: a JWT
/// verifier from the issuer's JWKS). Chosen where the verifier type is
/// known, so `build` needs no bound on it.
type PresetLayer<V> =
    fn(&Reach, &AuthSettings, Option<Duration>) -> Result<BearerAuthLayer<V>, McpGuardConfigError>;

/// The layer (`None`: the preset's, made by `preset`) and the settings the
/// preset's layer is made from.
pub(super) struct Wiring<V> {
    layer: Option<BearerAuthLayer<V>>,
    preset: Option<PresetLayer<V>>,
    pub(super) settings: AuthSettings,
}

/// How the preset builds its token verifier (remote preset).
#[derive(Debug, Clone, Default)]
pub(super) struct AuthSettings {
    pub(super) issuer: Option<String>,
    pub(super) jwks_url: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) policy: Option<ScopePolicy>,
    pub(super) scopes_supported: Vec<String>,
    pub(super) require_access_token_type: bool,
}

impl<V> Wiring<V> {
    /// Bearer auth switched off (the local preset).
    pub(super) fn off() -> Self {
        Wiring {
            layer: Some(BearerAuthLayer::disabled()),
            preset: None,
            settings: AuthSettings::default(),
        }
    }

    /// Whether the preset builds the layer (neither replaced nor off).
    pub(super) fn is_preset(&self) -> bool {
        self.layer.is_none()
    }

    /// The layer to stack: yours, the disabled one, or the preset's.
    pub(super) fn build(
        self,
        reach: &Reach,
        response_timeout: Option<Duration>,
    ) -> Result<BearerAuthLayer<V>, McpGuardConfigError> {
        match (self.layer, self.preset) {
            (Some(layer), _) => Ok(layer),
            (None, Some(preset)) => preset(reach, &self.settings, response_timeout),
            (None, None) => Err(McpGuardConfigError::new(
                "bearer_auth",
                "no token verifier: pass your own layer with `bearer_auth`",
            )),
        }
    }
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// The authorization server whose tokens the remote preset accepts: its
    /// issuer URL (checked against `iss`, published in the RFC 9728 metadata).
    /// Its JWKS is discovered from its RFC 8414 (or OpenID) metadata unless
    /// [`jwks_url`](Self::jwks_url) is set.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.bearer_auth.settings.issuer = Some(issuer.into());
        self
    }

    /// The issuer's JWKS URL, instead of discovering it.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.bearer_auth.settings.jwks_url = Some(url.into());
        self
    }

    /// The audience tokens must carry, instead of the public URL's canonical
    /// URI (RFC 8707).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.bearer_auth.settings.audience = Some(audience.into());
        self
    }

    /// The scopes each call needs (default: any valid token).
    pub fn scope_policy(mut self, policy: ScopePolicy) -> Self {
        self.bearer_auth.settings.policy = Some(policy);
        self
    }

    /// Refuse JWTs whose header `typ` is not `at+jwt` (RFC 9068 access
    /// tokens), so an ID token is never taken for an access token. Off by
    /// default: many authorization servers do not set `typ`.
    pub fn require_access_token_type(mut self, required: bool) -> Self {
        self.bearer_auth.settings.require_access_token_type = required;
        self
    }

    /// The scopes the RFC 9728 metadata advertises.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_auth.settings.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Your own bearer-auth layer (any verifier: introspection, your own)
    /// instead of the preset's.
    pub fn bearer_auth<V2>(self, layer: BearerAuthLayer<V2>) -> McpGuard<V2, Ss, Es> {
        McpGuard {
            common: self.common,
            bearer_auth: Wiring {
                layer: Some(layer),
                preset: None,
                settings: self.bearer_auth.settings,
            },
            #[cfg(feature = "session")]
            session: self.session,
            #[cfg(feature = "sse-resume")]
            sse_resume: self.sse_resume,
            _types: PhantomData,
        }
    }

    /// No bearer auth: anyone who reaches the server may call it.
    pub fn without_bearer_auth(mut self) -> Self {
        self.bearer_auth.layer = Some(BearerAuthLayer::disabled());
        self
    }
}

#[cfg(feature = "jwks")]
impl Wiring<mcp_bearer_auth::JwtVerifier> {
    /// The remote preset's bearer auth: a JWT verifier for the issuer's keys.
    pub(super) fn jwt() -> Self {
        Wiring {
            layer: None,
            preset: Some(jwt::layer),
            settings: AuthSettings::default(),
        }
    }
}

#[cfg(feature = "jwks")]
mod jwt {
    use std::time::Duration;

    use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};

    use super::AuthSettings;
    use crate::preset::{McpGuardConfigError, Reach};

    /// The remote preset's bearer auth: the verifier for the audience, the
    /// RFC 9728 metadata naming the issuer, the scope policy.
    pub(super) fn layer(
        reach: &Reach,
        auth: &AuthSettings,
        response_timeout: Option<Duration>,
    ) -> Result<BearerAuthLayer<JwtVerifier>, McpGuardConfigError> {
        let audience = audience(reach, auth)?;
        let verifier = verifier(&audience, auth, response_timeout)?;
        let issuer = auth.issuer.clone().unwrap_or_default();
        let metadata = ProtectedResourceMetadata::new(&audience, [issuer])
            .with_scopes_supported(auth.scopes_supported.iter().cloned());
        let mut builder = BearerAuthLayer::builder(verifier, metadata);
        if let Some(policy) = &auth.policy {
            builder = builder.policy(policy.clone());
        }
        Ok(builder.build())
    }

    /// The audience tokens must carry: the one set, or the public URL's
    /// canonical URI.
    fn audience(reach: &Reach, auth: &AuthSettings) -> Result<String, McpGuardConfigError> {
        match (&auth.audience, reach) {
            (Some(audience), _) => Ok(audience.clone()),
            (None, Reach::Public(url)) => mcp_bearer_auth::canonical_resource_uri(url).ok_or_else(|| {
                McpGuardConfigError::new(
                    "public_url",
                    format!("`{url}` is not an absolute http(s) URL without userinfo, so it cannot be the token audience"),
                )
            }),
            (None, Reach::Localhost) => Err(McpGuardConfigError::new(
                "audience",
                "bearer auth needs the audience its tokens carry: use the remote preset with the public URL, or set `audience`",
            )),
        }
    }

    /// The issuer's keys, by JWKS URL or discovered.
    fn verifier(
        audience: &str,
        auth: &AuthSettings,
        response_timeout: Option<Duration>,
    ) -> Result<JwtVerifier, McpGuardConfigError> {
        let issuer = auth.issuer.as_deref().ok_or_else(|| {
            McpGuardConfigError::new(
                "issuer",
                "the remote preset needs the authorization server's issuer URL: tokens' `iss` must match it, and the RFC 9728 metadata names it",
            )
        })?;
        let builder = JwtVerifier::builder(issuer, audience)
            .require_access_token_type(auth.require_access_token_type);
        let builder = match &auth.jwks_url {
            Some(url) => builder.jwks_url(url.clone()),
            None => builder.discover_jwks(),
        };
        // A JWKS attempt cut short by the response timeout records nothing, so
        // the next request would start another and every one would end in 504
        // instead of 503 with Retry-After: the attempt gets at most half of it.
        let builder = match response_timeout {
            Some(timeout) if timeout / 2 < mcp_bearer_auth::DEFAULT_JWKS_FETCH_TIMEOUT => {
                builder.jwks_fetch_timeout((timeout / 2).max(Duration::from_millis(1)))
            }
            _ => builder,
        };
        builder
            .build()
            .map_err(|error| McpGuardConfigError::new("issuer", error))
    }
}
