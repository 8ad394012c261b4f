use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::Owner;

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
    derived: Derived,
}

/// What is derived from the names, computed on first use and kept for the
/// principal's life (the verified-token cache hands the same principal to
/// every request of a token, so per-request work is a reference count).
#[derive(Clone, Default)]
struct Derived {
    owner: OnceLock<Owner>,
    caller_key: OnceLock<Arc<str>>,
}

/// A cache: not part of what a principal says.
impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// A cache: two principals are equal whatever they computed already.
impl PartialEq for Derived {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Principal {
    /// A principal with nothing known yet.
    pub fn new() -> Self {
        Principal::default()
    }

    /// Sets the token's issuer (`iss`).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.data_mut().issuer = Some(issuer.into());
        self
    }

    /// Sets the token's subject (`sub`).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.data_mut().subject = Some(subject.into());
        self
    }

    /// Sets the OAuth client the token was issued to (`client_id` / `azp`).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.data_mut().client_id = Some(client_id.into());
        self
    }

    /// Sets the granted scopes.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.data_mut().scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets when the token expires (`exp`).
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.data_mut().expires_at = Some(expires_at);
        self
    }

    /// Sets the token's raw claims.
    pub fn with_claims(mut self, claims: serde_json::Map<String, serde_json::Value>) -> Self {
        self.data_mut().claims = claims;
        self
    }

    /// The data to change, with what was derived from it forgotten.
    fn data_mut(&mut self) -> &mut Data {
        let data = Arc::make_mut(&mut self.data);
        data.derived = Derived::default();
        data
    }

    /// Who owns what this principal creates (sessions, event budgets):
    /// [`Owner::of`] this principal, computed once.
    pub fn owner(&self) -> &Owner {
        self.data.derived.owner.get_or_init(|| Owner::of(self))
    }

    /// The caller's rate-limit bucket: the subject within its issuer,
    /// whatever the client; else the client, when the token names no subject
    /// (client-credentials tokens); else one bucket per issuer for tokens that
    /// name neither, so a token cannot escape the limit by leaving its names
    /// out. Formatted `"{issuer} sub {subject}"`, `"{issuer} client {client}"`
    /// or `"{issuer} unnamed"` (the issuer empty when absent); computed once,
    /// so cloning it is a reference count.
    ///
    /// ```
    /// use mcp_guard_core::Principal;
    ///
    /// let principal = Principal::new().with_issuer("https://i").with_subject("alice").with_client_id("app");
    /// assert_eq!(&**principal.caller_key(), "https://i sub alice");
    /// let robot = Principal::new().with_issuer("https://i").with_client_id("cron");
    /// assert_eq!(&**robot.caller_key(), "https://i client cron");
    /// ```
    pub fn caller_key(&self) -> &Arc<str> {
        self.data.derived.caller_key.get_or_init(|| {
            let issuer = self.issuer().unwrap_or("");
            let key = match (self.subject(), self.client_id()) {
                (Some(subject), _) => format!("{issuer} sub {subject}"),
                (None, Some(client)) => format!("{issuer} client {client}"),
                (None, None) => format!("{issuer} unnamed"),
            };
            Arc::from(key)
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_keys_follow_subject_then_client_then_issuer() {
        let base = Principal::new().with_issuer("https://i");
        assert_eq!(
            &**base
                .clone()
                .with_subject("s")
                .with_client_id("c")
                .caller_key(),
            "https://i sub s"
        );
        assert_eq!(
            &**base.clone().with_client_id("c").caller_key(),
            "https://i client c"
        );
        assert_eq!(&**base.caller_key(), "https://i unnamed");
        assert_eq!(&**Principal::new().caller_key(), " unnamed");
    }

    #[test]
    fn derived_values_are_computed_once_and_shared_by_clones() {
        let principal = Principal::new().with_issuer("i").with_subject("s");
        let clone = principal.clone();
        assert!(Arc::ptr_eq(principal.caller_key(), clone.caller_key()));
        assert!(std::ptr::eq(principal.owner(), clone.owner()));
        assert_eq!(principal.owner().key(), "principal 1:i 1:s -");
    }

    #[test]
    fn changing_a_name_forgets_what_was_derived() {
        let principal = Principal::new().with_issuer("i").with_subject("s");
        assert_eq!(&**principal.caller_key(), "i sub s");
        assert_eq!(principal.owner().subject(), Some("s"));
        let changed = principal.clone().with_subject("t");
        assert_eq!(&**changed.caller_key(), "i sub t");
        assert_eq!(changed.owner().subject(), Some("t"));
        // The original is untouched, and equality ignores the caches.
        assert_eq!(&**principal.caller_key(), "i sub s");
        assert_eq!(
            principal,
            Principal::new().with_issuer("i").with_subject("s")
        );
    }
}
