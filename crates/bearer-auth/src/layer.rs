use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mcp_guard_core::EnvelopeLimits;
use tower_layer::Layer;

use crate::cache::VerifiedTokens;
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
    pub(crate) peek: EnvelopeLimits,
    pub(crate) cache: VerifiedTokens,
}

/// Applies [`BearerAuth`]: the MCP server as an OAuth 2.1 resource server.
///
/// See the [crate documentation](crate).
pub struct BearerAuthLayer<V> {
    verifier: Arc<V>,
    settings: Arc<Settings>,
}

impl<V> Clone for BearerAuthLayer<V> {
    fn clone(&self) -> Self {
        BearerAuthLayer {
            verifier: self.verifier.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<V> fmt::Debug for BearerAuthLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthLayer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
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
            peek: EnvelopeLimits::new(),
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
            verifier: self.verifier.clone(),
            settings: self.settings.clone(),
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
    peek: EnvelopeLimits,
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

    /// The body limits for reading a POST's envelope for the scope policy
    /// (shared with the protocol guard when it ran first).
    pub fn envelope_limits(mut self, peek: EnvelopeLimits) -> Self {
        self.peek = peek;
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
            peek: self.peek,
            cache: VerifiedTokens::new(self.cache_entries, self.cache_ttl),
        };
        BearerAuthLayer {
            verifier: Arc::new(self.verifier),
            settings: Arc::new(settings),
        }
    }
}
