use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use moka::notification::RemovalCause;

use super::{Created, Limits, SessionStore, StoreError};
use crate::record::now_millis;
use crate::{Binding, SessionId, SessionRecord, StateChanges};

/// The embedded session store: a [moka](https://docs.rs/moka) cache whose
/// entries expire by their own idle timeout and lifetime, with live-session
/// counts kept for the [`Limits`]. An expired session is never loaded again,
/// and stops counting against the limits when moka sweeps it (its timer wheel
/// runs about once a second).
///
/// Cloning shares the store.
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<SessionId, Arc<Entry>>,
    counts: Arc<Mutex<Counts>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Entry {
    record: Mutex<SessionRecord>,
}

impl Entry {
    fn lock(&self) -> std::sync::MutexGuard<'_, SessionRecord> {
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_binding: HashMap<Binding, usize>,
}

impl Counts {
    fn add(&mut self, binding: &Binding) {
        self.total += 1;
        *self.per_binding.entry(binding.clone()).or_default() += 1;
    }

    fn subtract(&mut self, binding: &Binding) {
        self.total = self.total.saturating_sub(1);
        if let Some(count) = self.per_binding.get_mut(binding) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_binding.remove(binding);
            }
        }
    }

    fn refuses(&self, binding: &Binding, limits: Limits) -> Option<Created> {
        if self.total >= limits.max_sessions {
            return Some(Created::TooManySessions);
        }
        let of_binding = self.per_binding.get(binding).copied().unwrap_or(0);
        (of_binding >= limits.max_sessions_per_binding).then_some(Created::TooManyForBinding)
    }
}

/// Each entry expires when its record says: idle timeout after the last
/// touch, capped by the lifetime since creation.
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
}

fn remaining(record: &SessionRecord) -> Duration {
    Duration::from_millis(record.expires_at().saturating_sub(now_millis()))
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        let counts = Arc::new(Mutex::new(Counts::default()));
        let on_removal = counts.clone();
        let cache = Cache::builder()
            .expire_after(RecordExpiry)
            .eviction_listener(move |_id, entry: Arc<Entry>, cause| {
                // Entries are never replaced (state changes mutate in place),
                // so every other cause is a session ending.
                if cause != RemovalCause::Replaced {
                    let binding = entry.lock().binding().clone();
                    lock(&on_removal).subtract(&binding);
                }
            })
            .build();
        MemoryStore { cache, counts }
    }

    /// Live sessions, after expired ones are swept.
    pub async fn live_sessions(&self) -> usize {
        self.cache.run_pending_tasks().await;
        lock(&self.counts).total
    }

    async fn live_entry(&self, id: &SessionId) -> Option<Arc<Entry>> {
        let entry = self.cache.get(id).await?;
        if entry.lock().is_expired_at(now_millis()) {
            self.cache.invalidate(id).await;
            return None;
        }
        Some(entry)
    }
}

fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SessionStore for MemoryStore {
    async fn create(&self, record: SessionRecord, limits: Limits) -> Result<Created, StoreError> {
        let binding = record.binding().clone();
        if lock(&self.counts).refuses(&binding, limits).is_some() {
            // Expired sessions may not be swept yet: sweep, then decide.
            self.cache.run_pending_tasks().await;
        }
        {
            let mut counts = lock(&self.counts);
            if let Some(refusal) = counts.refuses(&binding, limits) {
                return Ok(refusal);
            }
            // Reserve the slot before inserting, so concurrent creates cannot
            // both take the last one.
            counts.add(&binding);
        }
        let id = record.id().clone();
        let entry = self
            .cache
            .entry(id)
            .or_insert_with(async move {
                Arc::new(Entry {
                    record: Mutex::new(record),
                })
            })
            .await;
        if entry.is_fresh() {
            Ok(Created::Created)
        } else {
            lock(&self.counts).subtract(&binding);
            Ok(Created::IdTaken)
        }
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.live_entry(id).await.map(|entry| entry.lock().clone()))
    }

    async fn touch(&self, id: &SessionId, at: u64) -> Result<(), StoreError> {
        if let Some(entry) = self.live_entry(id).await {
            entry.lock().touch(at);
            // Re-derive the entry's expiry from its new last-seen time.
            self.cache.insert(id.clone(), entry).await;
        }
        Ok(())
    }

    async fn update_state(&self, id: &SessionId, changes: StateChanges) -> Result<(), StoreError> {
        if let Some(entry) = self.live_entry(id).await {
            entry.lock().apply(&changes);
        }
        Ok(())
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.cache.remove(id).await.is_some())
    }
}
