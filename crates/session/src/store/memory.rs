use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::notification::RemovalCause;
use moka::sync::Cache;

use super::{Created, SessionStore, SessionStoreLimits, StoreError};
use crate::record::now_millis;
use mcp_guard_core::Owner;

use crate::{SessionId, SessionRecord, StateChanges};

/// The embedded session store: a [moka](https://docs.rs/moka) cache whose
/// entries expire by their own idle timeout and lifetime, with live-session
/// counts kept for the [`SessionStoreLimits`]. An expired session is never loaded again,
/// and stops counting against the limits when moka sweeps it (its timer wheel
/// runs about once a second).
///
/// Every operation is answered in memory without waiting (moka's
/// synchronous cache, short critical sections), so a lookup is answered by
/// [`SessionStore::load_now`] and hands out the stored record itself, shared
/// behind an `Arc`: the session layer's hot path neither awaits nor copies.
///
/// Cloning shares the store.
#[derive(Clone)]
pub struct MemorySessionStore {
    cache: Cache<SessionId, Arc<Entry>>,
    counts: Arc<Mutex<Counts>>,
}

impl std::fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Entry {
    // Shared with the requests that loaded it; a touch or a state change
    // replaces it (copy on write: at most once per touch interval, and when
    // a handler changed the state).
    record: Mutex<Arc<SessionRecord>>,
}

impl Entry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<SessionRecord>> {
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_owner: HashMap<Owner, usize>,
}

impl Counts {
    fn add(&mut self, owner: &Owner) {
        self.total += 1;
        *self.per_owner.entry(owner.clone()).or_default() += 1;
    }

    fn subtract(&mut self, owner: &Owner) {
        self.total = self.total.saturating_sub(1);
        if let Some(count) = self.per_owner.get_mut(owner) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_owner.remove(owner);
            }
        }
    }

    fn refuses(&self, owner: &Owner, limits: SessionStoreLimits) -> Option<Created> {
        if self.total >= limits.max_sessions {
            return Some(Created::TooManySessions);
        }
        let of_owner = self.per_owner.get(owner).copied().unwrap_or(0);
        (of_owner >= limits.for_owner(owner)).then_some(Created::TooManyForOwner)
    }
}

/// Each entry expires when its record says: idle timeout after the last
/// touch, capped by the lifetime since creation. A touch changes the record
/// in place and then reads the entry, so moka learns the new expiry from
/// `expire_after_read` without the entry ever being written again.
struct RecordExpiry;

impl Expiry<SessionId, Arc<Entry>> for RecordExpiry {
    fn expire_after_create(
        &self,
        _: &SessionId,
        entry: &Arc<Entry>,
        _: Instant,
    ) -> Option<Duration> {
        Some(remaining(&entry.lock()))
    }

    fn expire_after_update(
        &self,
        _: &SessionId,
        entry: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(remaining(&entry.lock()))
    }

    fn expire_after_read(
        &self,
        _: &SessionId,
        entry: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        Some(remaining(&entry.lock()))
    }
}

fn remaining(record: &SessionRecord) -> Duration {
    Duration::from_millis(record.expires_at().saturating_sub(now_millis()))
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        MemorySessionStore::new()
    }
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        let counts = Arc::new(Mutex::new(Counts::default()));
        let on_removal = counts.clone();
        let cache = Cache::builder()
            .expire_after(RecordExpiry)
            .eviction_listener(move |_id, entry: Arc<Entry>, cause| {
                // Only `create` writes an entry (touches and state changes
                // mutate the record in place), so every removal but a
                // replacement, which never happens, is a session ending.
                if cause != RemovalCause::Replaced {
                    let owner = entry.lock().owner().clone();
                    lock(&on_removal).subtract(&owner);
                }
            })
            .build();
        MemorySessionStore { cache, counts }
    }

    /// Live sessions, after expired ones are swept.
    pub async fn live_sessions(&self) -> usize {
        self.cache.run_pending_tasks();
        lock(&self.counts).total
    }

    /// The second half of a touch, on the entry its first half loaded: a
    /// `DELETE` may have removed it in between.
    ///
    /// Nothing is written to the cache. Writing the entry back (as an insert,
    /// or a compute's `Put`, which moka does not order against `remove`)
    /// would bring a removed session back, uncounted by the caps. Changing
    /// the record in place and reading the entry instead moves moka's expiry
    /// only if the entry is still there (`RecordExpiry::expire_after_read`).
    fn record_touch(&self, id: &str, entry: Arc<Entry>, at: u64) {
        Arc::make_mut(&mut entry.lock()).touch(at);
        let _still_live = self.cache.get(id);
    }

    fn live_entry(&self, id: &str) -> Option<Arc<Entry>> {
        let entry = self.cache.get(id)?;
        if entry.lock().is_expired_at(now_millis()) {
            self.cache.invalidate(id);
            return None;
        }
        Some(entry)
    }

    /// The live record, shared (a reference count, not a copy).
    fn live_record(&self, id: &str) -> Option<Arc<SessionRecord>> {
        self.live_entry(id).map(|entry| entry.lock().clone())
    }
}

fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SessionStore for MemorySessionStore {
    async fn create(
        &self,
        record: SessionRecord,
        limits: SessionStoreLimits,
    ) -> Result<Created, StoreError> {
        let owner = record.owner().clone();
        if lock(&self.counts).refuses(&owner, limits).is_some() {
            // Expired sessions may not be swept yet: sweep, then decide.
            self.cache.run_pending_tasks();
        }
        {
            let mut counts = lock(&self.counts);
            if let Some(refusal) = counts.refuses(&owner, limits) {
                return Ok(refusal);
            }
            // Reserve the slot before inserting, so concurrent creates cannot
            // both take the last one.
            counts.add(&owner);
        }
        let id = record.id().clone();
        let entry = self.cache.entry(id).or_insert_with(move || {
            Arc::new(Entry {
                record: Mutex::new(Arc::new(record)),
            })
        });
        if entry.is_fresh() {
            Ok(Created::Created)
        } else {
            lock(&self.counts).subtract(&owner);
            Ok(Created::IdTaken)
        }
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.live_record(id.as_str()))
    }

    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionRecord>>, StoreError>> {
        Some(Ok(self.live_record(id)))
    }

    async fn touch(&self, id: &SessionId, at: u64) -> Result<(), StoreError> {
        if let Some(entry) = self.live_entry(id.as_str()) {
            self.record_touch(id.as_str(), entry, at);
        }
        Ok(())
    }

    async fn update_state(&self, id: &SessionId, changes: StateChanges) -> Result<(), StoreError> {
        if let Some(entry) = self.live_entry(id.as_str()) {
            Arc::make_mut(&mut entry.lock()).apply(&changes);
        }
        Ok(())
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.cache.remove(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

    use std::time::Duration;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const ONE: SessionStoreLimits = SessionStoreLimits {
        max_sessions: 1,
        max_sessions_per_owner: 1,
    };

    fn anonymous_record() -> SessionRecord {
        let id = SessionId::generate().unwrap();
        SessionRecord::new(id, Owner::anonymous(), None, HOUR, HOUR)
    }

    /// Sessions the counts hold against the caps, and sessions the cache holds.
    async fn counted_and_held(store: &MemorySessionStore) -> (usize, u64) {
        store.cache.run_pending_tasks();
        (lock(&store.counts).total, store.cache.entry_count())
    }

    /// A touch racing a `DELETE`, in the order that loses: the touch loads the
    /// live entry, the `DELETE` removes it, then the touch records the request.
    /// The touch must not bring the ended session back, and the caps must
    /// count exactly what the store holds.
    #[tokio::test]
    async fn a_touch_that_loses_the_race_with_a_delete_revives_nothing() {
        let store = MemorySessionStore::new();
        let ended = anonymous_record();
        assert_eq!(
            store.create(ended.clone(), ONE).await.unwrap(),
            Created::Created
        );

        let loaded = store.live_entry(ended.id().as_str()).expect("live");
        assert!(store.remove(ended.id()).await.unwrap(), "the DELETE");
        store.record_touch(ended.id().as_str(), loaded, now_millis());

        assert!(
            store.load(ended.id()).await.unwrap().is_none(),
            "a touch revived a session its client ended"
        );
        assert_eq!(
            counted_and_held(&store).await,
            (0, 0),
            "(sessions counted against the caps, sessions held)"
        );
        assert_eq!(
            store.create(anonymous_record(), ONE).await.unwrap(),
            Created::Created,
            "the ended session's slot is free"
        );
        assert_eq!(
            store.create(anonymous_record(), ONE).await.unwrap(),
            Created::TooManySessions,
            "and the cap counts the new one"
        );
        assert_eq!(counted_and_held(&store).await, (1, 1));
    }
}
