//! Verified tokens, remembered: a client's repeated token is not verified
//! cryptographically on every request. The cache is moka's synchronous one:
//! a lookup is in memory, so the layer answers a cache hit without a future
//! of its own.

use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::digest::{SHA256, digest};
use mcp_guard_core::Principal;
use moka::Expiry;
use moka::sync::Cache;

/// Keyed by the SHA-256 of the token: the cache never holds a token.
type TokenHash = [u8; 32];

#[derive(Clone)]
struct Verified {
    principal: Principal,
    lifetime: Duration,
}

struct UntilTokenExpiry;

impl Expiry<TokenHash, Verified> for UntilTokenExpiry {
    fn expire_after_create(
        &self,
        _: &TokenHash,
        verified: &Verified,
        _: Instant,
    ) -> Option<Duration> {
        Some(verified.lifetime)
    }
}

/// A bounded cache of verified principals, each kept no longer than its
/// token's `exp` (nor than `max_ttl`).
#[derive(Clone)]
pub(crate) struct VerifiedTokens {
    cache: Cache<TokenHash, Verified>,
    max_ttl: Duration,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl VerifiedTokens {
    pub(crate) fn new(max_entries: u64, max_ttl: Duration) -> Self {
        VerifiedTokens {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(UntilTokenExpiry)
                .build(),
            max_ttl,
        }
    }

    fn key(token: &str) -> TokenHash {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        key
    }

    pub(crate) fn get(&self, token: &str) -> Option<Principal> {
        let verified = self.cache.get(&Self::key(token))?;
        // Belt and braces: never answer for a token past its exp.
        let expired = verified
            .principal
            .expires_at()
            .is_some_and(|exp| exp <= SystemTime::now());
        (!expired).then_some(verified.principal)
    }

    pub(crate) fn insert(
        &self,
        token: &str,
        principal: &Principal,
        verifier_limit: Option<Duration>,
    ) {
        // A token already past its exp (accepted within the leeway) is not
        // kept at all; one without an expiry, up to max_ttl.
        let until_exp = match principal.expires_at() {
            Some(exp) => exp
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
            None => self.max_ttl,
        };
        let lifetime = until_exp
            .min(self.max_ttl)
            .min(verifier_limit.unwrap_or(self.max_ttl));
        if lifetime.is_zero() {
            return;
        }
        let verified = Verified {
            principal: principal.clone(),
            lifetime,
        };
        self.cache.insert(Self::key(token), verified);
    }
}
