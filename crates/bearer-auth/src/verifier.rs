use std::fmt;
use std::future::Future;
use std::time::Duration;

use mcp_guard_core::Principal;

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The token is not valid (signature, expiry, issuer, audience…): `401`
    /// with `error="invalid_token"`. The text is safe to show the client; it
    /// never contains the token.
    Invalid(String),
    /// The verifier could not decide (its key source or introspection endpoint
    /// is down, and no cached answer applies): `503` with `Retry-After`.
    Unavailable {
        /// What went wrong (logged only).
        reason: String,
        /// When to retry.
        retry_after: Duration,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Invalid(reason) => write!(f, "invalid token: {reason}"),
            VerifyError::Unavailable { reason, .. } => {
                write!(f, "token verification unavailable: {reason}")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// Turns a bearer token into the [`Principal`] it stands for. Async and
/// fallible, so any verifier fits: the shipped [`JwtVerifier`](crate::JwtVerifier),
/// introspection, or your own.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`. The principal's `expires_at` bounds how long the layer
    /// caches the answer.
    fn verify(&self, token: &str) -> impl Future<Output = Result<Principal, VerifyError>> + Send;

    /// The longest the layer may reuse a verified answer (it never reuses one
    /// past the token's expiry either). `None`: the layer's own limit.
    fn max_cache_ttl(&self) -> Option<std::time::Duration> {
        None
    }
}
