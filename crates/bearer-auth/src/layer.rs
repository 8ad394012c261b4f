use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mcp_guard_core::EnvelopeLimits;
use tower_layer::Layer;

use crate::cache::VerifiedTokens;
use crate::guard::Guard;
use crate::metadata::ProtectedResourceMetadata;
use crate::policy::ScopePolicy;
use crate::service::BearerAuth;
use crate::verifier::TokenVerifier;

/// Default longest bearer token accepted: 8 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) metadata_json: bytes::Bytes,
    pub(crate) metadata_url: String,
    pub(crate) served_paths: [String; 2],
    pub(crate) policy: ScopePolicy,
    pub(crate) keep_authorization: bool,
    pub(crate) max_token_bytes: usize,
    pub(crate) envelope_limits: EnvelopeLimits,
    pub(crate) cache: VerifiedTokens,
}

/// Applies [`BearerAuth`]: the MCP server as an OAuth 2.1 resource server.
///
/// See the [crate documentation](crate).
///
/// # Off
///
/// [`BearerAuthLayer::disabled`] makes a layer whose service has the same
/// type as an enabled one and passes every request and response through
/// untouched: no token needed nor checked, no metadata document served, the
/// `Authorization` header left as it came, nothing logged. A stack can switch
/// the guard off by configuration without changing its type.
///
/// ```
/// use std::convert::Infallible;
///
/// use bytes::Bytes;
/// use http::{Request, Response, StatusCode};
/// use http_body_util::Full;
/// use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
/// use mcp_guard_core::GuardBody;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let auth_configured = false;
/// let layer = if auth_configured {
///     let verifier = JwtVerifier::builder("https://auth.example.com", "https://mcp.example.com/mcp")
///         .hs256_secret(b"a shared secret of at least 32 bytes!!")
///         .build()?;
///     BearerAuthLayer::new(verifier, ProtectedResourceMetadata::new("https://mcp.example.com/mcp", ["https://auth.example.com"]))
/// } else {
///     BearerAuthLayer::<JwtVerifier>::disabled()
/// };
/// assert!(!layer.is_enabled());
/// let handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
///     Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
/// });
/// let anonymous = Request::post("/mcp").body(Full::from(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))?;
/// let response = layer.layer(handler).oneshot(anonymous).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// # Ok(())
/// # }
/// ```
pub struct BearerAuthLayer<V> {
    /// `None`: switched off.
    guard: Option<Arc<Guard<V>>>,
}

impl<V> Clone for BearerAuthLayer<V> {
    fn clone(&self) -> Self {
        BearerAuthLayer {
            guard: self.guard.clone(),
        }
    }
}

impl<V> fmt::Debug for BearerAuthLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthLayer")
            .field(
                "settings",
                &self.guard.as_ref().map(|guard| &guard.settings),
            )
            .finish_non_exhaustive()
    }
}

impl<V> BearerAuthLayer<V> {
    /// A layer that checks nothing: see [Off](BearerAuthLayer#off). Needs no
    /// verifier; name its type, as in `BearerAuthLayer::<JwtVerifier>::disabled()`.
    pub fn disabled() -> Self {
        BearerAuthLayer { guard: None }
    }

    /// Whether the layer checks tokens (`false` for
    /// [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.guard.is_some()
    }
}

impl<V: TokenVerifier> BearerAuthLayer<V> {
    /// Tokens checked by `verifier`; `metadata` served (RFC 9728) and named in
    /// every challenge. Every call needs a valid token until a
    /// [`policy`](BearerAuthLayerBuilder::policy) says otherwise.
    pub fn new(verifier: V, metadata: ProtectedResourceMetadata) -> Self {
        BearerAuthLayer::builder(verifier, metadata).build()
    }

    /// Starts a configuration.
    pub fn builder(verifier: V, metadata: ProtectedResourceMetadata) -> BearerAuthLayerBuilder<V> {
        BearerAuthLayerBuilder {
            verifier,
            metadata,
            policy: ScopePolicy::new(),
            keep_authorization: false,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            envelope_limits: EnvelopeLimits::new(),
            cache_entries: 10_000,
            cache_ttl: Duration::from_secs(5 * 60),
        }
    }
}

impl<S, V> Layer<S> for BearerAuthLayer<V> {
    type Service = BearerAuth<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// Configures a [`BearerAuthLayer`].
#[must_use = "call .build() to get the layer"]
pub struct BearerAuthLayerBuilder<V> {
    verifier: V,
    metadata: ProtectedResourceMetadata,
    policy: ScopePolicy,
    keep_authorization: bool,
    max_token_bytes: usize,
    envelope_limits: EnvelopeLimits,
    cache_entries: u64,
    cache_ttl: Duration,
}

impl<V> fmt::Debug for BearerAuthLayerBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthLayerBuilder")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl<V: TokenVerifier> BearerAuthLayerBuilder<V> {
    /// The scopes calls need (default: a valid token, no particular scope).
    pub fn policy(mut self, policy: ScopePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Passes the `Authorization` header on to the handler. Off by default:
    /// handler code cannot forward the client's token upstream by accident.
    pub fn keep_authorization_header(mut self, keep: bool) -> Self {
        self.keep_authorization = keep;
        self
    }

    /// The longest token accepted (default 8 KiB); longer gets `400`.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The limits (size, read timeout) of the layer's own read of a POST's
    /// envelope for the scope policy, used when it runs alone. Behind an
    /// [`EnvelopePeekLayer`](mcp_guard_core::EnvelopePeekLayer) the envelope
    /// is already in the request's extensions and this layer reads nothing.
    pub fn envelope_limits(mut self, limits: EnvelopeLimits) -> Self {
        self.envelope_limits = limits;
        self
    }

    /// The verified-token cache: entries at most, and the longest any is kept
    /// (never past the token's `exp`). Defaults: 10 000 and 5 minutes.
    pub fn verified_token_cache(mut self, entries: u64, max_ttl: Duration) -> Self {
        self.cache_entries = entries;
        self.cache_ttl = max_ttl;
        self
    }

    /// Builds the layer.
    pub fn build(self) -> BearerAuthLayer<V> {
        let metadata_json =
            bytes::Bytes::from(serde_json::to_vec(&self.metadata).unwrap_or_default());
        let settings = Settings {
            metadata_url: self.metadata.metadata_url(),
            served_paths: self.metadata.served_paths(),
            metadata_json,
            policy: self.policy,
            keep_authorization: self.keep_authorization,
            max_token_bytes: self.max_token_bytes,
            envelope_limits: self.envelope_limits,
            cache: VerifiedTokens::new(self.cache_entries, self.cache_ttl),
        };
        BearerAuthLayer {
            guard: Some(Arc::new(Guard {
                verifier: self.verifier,
                settings,
            })),
        }
    }
}
