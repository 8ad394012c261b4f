//! Verified tokens, remembered: a client's repeated token is not verified
//! cryptographically on every request.
//!
//! A hit is on every authenticated request's path, so it is kept to what it
//! must do: a keyed 128-bit hash of the token (the cache never holds a
//! token), one shard's read lock, one hash-table probe with that hash as its
//! own hash, two clock reads and a reference count. A general-purpose cache
//! (moka, used here before) cost as much again as the token's hash on top of
//! that: its own SipHash of the key, an epoch pin, a read log and its
//! housekeeping. What a hit does not need (admission, recency) buys nothing
//! here: only tokens that verified are ever inserted, so a client cannot fill
//! the cache with junk.
//!
//! # The key of an entry
//!
//! An entry is found by SipHash-2-4 with 128-bit output of the token's bytes
//! under a 128-bit key drawn from the system's random generator when the
//! cache is made (each cache its own; the key never leaves the process and is
//! not in the cache's `Debug`). It took SHA-256 before, which costs more on
//! a token of a few hundred bytes: half as much again where the CPU has SHA
//! instructions, several times as much where it has none.
//!
//! - **The cache never holds a token**: only the 16-byte hash, and nothing of
//!   the token can be read back from it.
//! - **A token that was never verified cannot hit**: a hit needs the token's
//!   hash to equal that of a token that verified. SipHash with a secret key
//!   is a pseudorandom function: without the key nobody can compute a
//!   token's hash, nor learn anything about one from other tokens' (which
//!   never leave the process anyway), so every guess is a request, and each
//!   hits one of `n` entries with chance `n / 2^128`: about `2^128 / n`
//!   requests for one forged hit (`2^115` for the default 10 000 entries).
//!   Two verified tokens of different principals meeting in one entry (a
//!   request answered as someone else) is as unlikely.
//! - **Why a secret key, and 128 bits**: SHA-256 needed no key, as it
//!   resists second preimages; SipHash claims nothing without a secret key
//!   (its designers: always use it with one), nor does any fast
//!   non-cryptographic hash. With a public function an attacker computes any
//!   token's hash offline: he can aim guesses at chosen buckets and read from
//!   a lookup's timing which table hashes (the first half of an entry's
//!   hash) are present, leaving far fewer than 128 bits to guess, and the
//!   bound above would rest on how well a token's secret part (a JWT's
//!   signature) is mixed in, which nobody claims. Under a secret key every
//!   guess's hash is a fresh random value whatever the guess, so timing tells
//!   him nothing he can use. A 64-bit hash, keyed or not, leaves `2^64 / n`
//!   requests for a forged hit (about `2^51` for a full default cache): a
//!   margin of request rates and years, not a cryptographic one; and a
//!   request answered as another user by an accidental collision becomes a
//!   matter of odds over a busy server's life (about `2^-11` after `2^40`
//!   lookups in a full default cache) rather than never.
//! - **The table's hash and the shard**: under the secret key the hash is
//!   uniformly distributed, so its first eight bytes serve as the table's
//!   hash and its ninth picks the shard, as the bytes of a digest did. The
//!   comparisons of a probe are not constant-time, and need not be (see
//!   above): what they could reveal is how much of an unrelated random value
//!   a guess shares, and the next guess's hash is another random value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use mcp_guard_core::Principal;
use siphasher::sip128::{Hasher128 as _, SipHasher24};

/// A token's keyed SipHash-2-4-128: the cache never holds a token.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TokenHash([u8; 16]);

impl TokenHash {
    fn of(key: &SipHasher24, token: &str) -> TokenHash {
        // The keyed state, copied: one pass over the token from there.
        let mut hasher = *key;
        hasher.write(token.as_bytes());
        TokenHash(hasher.finish128().as_bytes())
    }

    /// Which shard holds the token: bits the table's hash does not use.
    fn shard(&self, shards: usize) -> usize {
        usize::from(self.0[8]) % shards
    }
}

/// The hash is uniformly distributed under the secret key, so its first
/// eight bytes are its table hash: no second hash function per lookup. No
/// client can aim tokens at a bucket without the key, and only verified
/// tokens are inserted, so a lookup's probes end at the first empty slot of
/// a table filled with well-spread hashes.
impl Hash for TokenHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(prefix));
    }
}

/// Passes a [`TokenHash`]'s prefix through as the hash.
#[derive(Default)]
struct HashPrefix(u64);

impl Hasher for HashPrefix {
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

type Shard = HashMap<TokenHash, Verified, BuildHasherDefault<HashPrefix>>;

/// Shards of a cache large enough to have them: requests with different
/// tokens take different locks.
const SHARDS: usize = 16;

/// A bounded cache of verified principals, each kept no longer than its
/// token's `exp` (nor than `max_ttl`, nor than its verifier allows).
pub(crate) struct VerifiedTokens {
    /// The secret key of [`TokenHash`], this cache's own.
    key: SipHasher24,
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
        let mut max_entries = usize::try_from(max_entries).unwrap_or(usize::MAX);
        let mut key = [0u8; 16];
        if aws_lc_rs::rand::fill(&mut key).is_err() {
            // Not seen in practice. A key that is not secret would break
            // what a hit promises, so nothing is cached: every token is
            // verified, as with `max_entries` 0.
            tracing::warn!("no random key for the verified-token cache: tokens are not cached");
            max_entries = 0;
        }
        // A small cache is one shard, so that it holds all it may.
        let shards = if max_entries >= SHARDS * 64 {
            SHARDS
        } else {
            1
        };
        VerifiedTokens {
            key: SipHasher24::new_with_key(&key),
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
        let key = TokenHash::of(&self.key, token);
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
        let key = TokenHash::of(&self.key, token);
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
    fn each_cache_hashes_tokens_under_its_own_secret_key() {
        let one = VerifiedTokens::new(100, Duration::from_secs(60));
        let other = VerifiedTokens::new(100, Duration::from_secs(60));
        assert_ne!(one.key.keys(), other.key.keys(), "a key drawn per cache");
        assert_ne!(one.key.keys(), (0, 0));
        let token = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl";
        let hash = TokenHash::of(&one.key, token);
        assert!(
            hash == TokenHash::of(&one.key, token),
            "the same token, the same entry"
        );
        assert!(
            hash != TokenHash::of(&other.key, token),
            "another key, another hash"
        );
        // The hash is SipHash-2-4-128 of the token's bytes, nothing else.
        assert!(hash.0 == one.key.hash(token.as_bytes()).as_bytes());
        // What the cache shows of itself has no key in it.
        let shown = format!("{one:?}");
        assert!(!shown.contains(&one.key.keys().0.to_string()), "{shown}");
        assert!(!shown.contains("key"), "{shown}");
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
