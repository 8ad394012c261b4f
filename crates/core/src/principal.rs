use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

/// Who the bearer token says is calling. Inserted into request extensions by the
/// bearer-auth layer; read by the session layer (to bind sessions to callers) and
/// by handlers.
///
/// Every member a token may lack is an `Option`: a layer that binds to the caller
/// must decide what to do when, say, `sub` is missing, never silently fall back.
///
/// ```
/// use mcp_guard_core::Principal;
///
/// let principal = Principal::new()
///     .with_issuer("https://auth.example.com")
///     .with_subject("user-42")
///     .with_scopes(["tools:read", "tools:call"]);
/// assert!(principal.has_scope("tools:call"));
/// assert!(!principal.has_scope("admin"));
/// assert_eq!(principal.subject(), Some("user-42"));
/// ```
///
/// Cloning is cheap (a reference count): the verified-token cache hands the
/// same principal to every request that carries the token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Principal {
    data: Arc<Data>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Data {
    issuer: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    scopes: BTreeSet<String>,
    expires_at: Option<SystemTime>,
    claims: serde_json::Map<String, serde_json::Value>,
}

impl Principal {
    /// A principal with nothing known yet.
    pub fn new() -> Self {
        Principal::default()
    }

    /// Sets the token's issuer (`iss`).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.data).issuer = Some(issuer.into());
        self
    }

    /// Sets the token's subject (`sub`).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.data).subject = Some(subject.into());
        self
    }

    /// Sets the OAuth client the token was issued to (`client_id` / `azp`).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.data).client_id = Some(client_id.into());
        self
    }

    /// Sets the granted scopes.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        Arc::make_mut(&mut self.data).scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets when the token expires (`exp`).
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        Arc::make_mut(&mut self.data).expires_at = Some(expires_at);
        self
    }

    /// Sets the token's raw claims.
    pub fn with_claims(mut self, claims: serde_json::Map<String, serde_json::Value>) -> Self {
        Arc::make_mut(&mut self.data).claims = claims;
        self
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> Option<&str> {
        self.data.issuer.as_deref()
    }

    /// The subject (`sub`).
    pub fn subject(&self) -> Option<&str> {
        self.data.subject.as_deref()
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> Option<&str> {
        self.data.client_id.as_deref()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.data.scopes
    }

    /// Whether `scope` was granted (exact match; scope hierarchies are the
    /// bearer-auth layer's policy).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.data.scopes.contains(scope)
    }

    /// When the token expires.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.data.expires_at
    }

    /// All claims of the token, as verified.
    pub fn claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.data.claims
    }
}
