//! Verified tokens, remembered: a client's repeated token is not verified
//! cryptographically on every request.
//!
//! A hit is on every authenticated request's path, so it is kept to what it
//! must do: the SHA-256 of the token (the cache never holds a token), one
//! shard's read lock, one hash-table probe with the digest as its own hash,
//! two clock reads and a reference count. A general-purpose cache (moka, used
//! here before) cost as much again as the digest on top of that: its own
//! SipHash of the key, an epoch pin, a read log and its housekeeping. What a
//! hit does not need (admission, recency) buys nothing here: only tokens that
//! verified are ever inserted, so a client cannot fill the cache with junk.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::digest::{SHA256, digest};
use mcp_guard_core::Principal;

/// The SHA-256 of a token: the cache never holds a token.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TokenHash([u8; 32]);

impl TokenHash {
    fn of(token: &str) -> TokenHash {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        TokenHash(hash)
    }

    /// Which shard holds the token: bits the table's hash does not use.
    fn shard(&self, shards: usize) -> usize {
        usize::from(self.0[8]) % shards
    }
}

/// A digest is uniformly distributed already, so its first eight bytes are
/// its hash: no second hash function per lookup. A client can grind tokens
/// whose digests share a bucket, but only verified tokens are inserted, so
/// the probes of such a lookup still end at the first empty slot of a table
/// filled with well-spread digests.
impl Hash for TokenHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(prefix));
    }
}

/// Passes a [`TokenHash`]'s prefix through as the hash.
#[derive(Default)]
struct DigestPrefix(u64);

impl Hasher for DigestPrefix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, prefix: u64) {
        self.0 = prefix;
    }

    /// Not reached ([`TokenHash`] writes one `u64`); folds bytes in anyway.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
}

struct Verified {
    principal: Principal,
    /// When the entry ends by the monotonic clock (its lifetime after the
    /// insert); `None` when that is later than an `Instant` can hold.
    until: Option<Instant>,
}

impl Verified {
    fn is_current(&self, now: Instant) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

type Shard = HashMap<TokenHash, Verified, BuildHasherDefault<DigestPrefix>>;

/// Shards of a cache large enough to have them: requests with different
/// tokens take different locks.
const SHARDS: usize = 16;

/// A bounded cache of verified principals, each kept no longer than its
/// token's `exp` (nor than `max_ttl`, nor than its verifier allows).
pub(crate) struct VerifiedTokens {
    shards: Box<[RwLock<Shard>]>,
    /// Entries one shard holds at most (the cache at most `max_entries`).
    per_shard: usize,
    max_ttl: Duration,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("max_entries", &(self.per_shard * self.shards.len()))
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl VerifiedTokens {
    /// At most `max_entries` principals (none: nothing is cached).
    pub(crate) fn new(max_entries: u64, max_ttl: Duration) -> Self {
        let max_entries = usize::try_from(max_entries).unwrap_or(usize::MAX);
        // A small cache is one shard, so that it holds all it may.
        let shards = if max_entries >= SHARDS * 64 {
            SHARDS
        } else {
            1
        };
        VerifiedTokens {
            shards: (0..shards).map(|_| RwLock::default()).collect(),
            per_shard: max_entries / shards,
            max_ttl,
        }
    }

    fn shard(&self, key: &TokenHash) -> &RwLock<Shard> {
        &self.shards[key.shard(self.shards.len())]
    }

    /// The principal `token` was verified as, while its entry lasts.
    pub(crate) fn get(&self, token: &str) -> Option<Principal> {
        let key = TokenHash::of(token);
        let principal = {
            let shard = self
                .shard(&key)
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let verified = shard.get(&key)?;
            if !verified.is_current(Instant::now()) {
                return None;
            }
            verified.principal.clone()
        };
        // Belt and braces: never answer for a token past its exp, whatever
        // the monotonic clock says.
        let expired = principal
            .expires_at()
            .is_some_and(|exp| exp <= SystemTime::now());
        (!expired).then_some(principal)
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
        if lifetime.is_zero() || self.per_shard == 0 {
            return;
        }
        let now = Instant::now();
        let key = TokenHash::of(token);
        let mut shard = self
            .shard(&key)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            make_room(&mut shard, self.per_shard, now);
        }
        let verified = Verified {
            principal: principal.clone(),
            until: now.checked_add(lifetime),
        };
        shard.insert(key, verified);
    }
}

/// Frees room in a full shard: its entries that ended, or else the eighth
/// of them that would end first (at least one). One pass over the shard
/// buys room for many inserts, so an insert costs a bounded amount of work
/// on average however large the cache is, and the shard's write lock is
/// never held for a scan per insert.
fn make_room(shard: &mut Shard, per_shard: usize, now: Instant) {
    shard.retain(|_, verified| verified.is_current(now));
    if shard.len() < per_shard {
        return;
    }
    let batch = (per_shard / 8).max(1);
    let mut by_end: Vec<((bool, Option<Instant>), TokenHash)> = shard
        .iter()
        .map(|(key, verified)| ((verified.until.is_none(), verified.until), *key))
        .collect();
    if by_end.len() > batch {
        by_end.select_nth_unstable(batch - 1);
        by_end.truncate(batch);
    }
    for (_, key) in by_end {
        shard.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(subject: &str) -> Principal {
        Principal::new()
            .with_subject(subject)
            .with_expires_at(SystemTime::now() + Duration::from_secs(3600))
    }

    #[test]
    fn a_verified_token_is_found_and_only_that_token() {
        let cache = VerifiedTokens::new(100, Duration::from_secs(60));
        let a = principal("a");
        cache.insert("token-a", &a, None);
        assert_eq!(cache.get("token-a"), Some(a));
        assert_eq!(cache.get("token-b"), None);
        assert_eq!(cache.get("token-a "), None);
    }

    #[test]
    fn an_expired_or_unlimited_lifetime_is_bounded() {
        let cache = VerifiedTokens::new(100, Duration::from_secs(60));
        let expired = Principal::new().with_expires_at(SystemTime::now() - Duration::from_secs(1));
        cache.insert("expired", &expired, None);
        assert_eq!(cache.get("expired"), None, "not kept past exp");
        cache.insert("zero", &principal("z"), Some(Duration::ZERO));
        assert_eq!(cache.get("zero"), None, "the verifier allows no reuse");
        let forever = VerifiedTokens::new(100, Duration::MAX);
        forever.insert("no-exp", &Principal::new().with_subject("n"), None);
        assert!(forever.get("no-exp").is_some(), "no overflow, kept");
    }

    #[test]
    fn an_entry_ends_with_its_lifetime() {
        // Long enough that a descheduled test thread still finds it first.
        let cache = VerifiedTokens::new(100, Duration::from_secs(1));
        cache.insert("short", &principal("s"), None);
        assert!(cache.get("short").is_some());
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(cache.get("short"), None);
    }

    #[test]
    fn the_cache_holds_at_most_its_entries() {
        for max in [0u64, 1, 5, 2_000] {
            let cache = VerifiedTokens::new(max, Duration::from_secs(60));
            let tokens: Vec<String> = (0..max * 3 + 10).map(|n| format!("token-{n}")).collect();
            for token in &tokens {
                cache.insert(token, &principal(token), None);
            }
            let held = tokens.iter().filter(|t| cache.get(t).is_some()).count();
            assert!(held as u64 <= max, "{held} held, at most {max}");
            if max > 0 {
                let last = tokens.last().map(String::as_str).unwrap_or_default();
                assert!(cache.get(last).is_some(), "the latest insert is kept");
            }
        }
    }

    #[test]
    fn a_full_shard_makes_room_for_an_eighth_of_it_at_once() {
        let cache = VerifiedTokens::new(64, Duration::from_secs(3600));
        for n in 0..64u64 {
            let lifetime = Duration::from_secs(60 + n);
            cache.insert(&format!("token-{n}"), &principal("p"), Some(lifetime));
        }
        cache.insert("new", &principal("n"), None);
        let held: Vec<bool> = (0..64)
            .map(|n| cache.get(&format!("token-{n}")).is_some())
            .collect();
        assert_eq!(held[..8], [false; 8], "the eight that end first went");
        assert!(held[8..].iter().all(|kept| *kept), "the rest stayed");
        assert!(cache.get("new").is_some());
        // The room made lasts: seven more inserts evict nothing.
        for n in 0..7 {
            cache.insert(&format!("more-{n}"), &principal("m"), None);
        }
        assert!((8..64).all(|n| cache.get(&format!("token-{n}")).is_some()));
    }

    #[test]
    fn a_full_shard_drops_what_ends_first() {
        let cache = VerifiedTokens::new(2, Duration::from_secs(60));
        cache.insert("long", &principal("l"), None);
        cache.insert("short", &principal("s"), Some(Duration::from_secs(5)));
        cache.insert("new", &principal("n"), None);
        assert!(cache.get("long").is_some());
        assert_eq!(cache.get("short"), None);
        assert!(cache.get("new").is_some());
    }
}
