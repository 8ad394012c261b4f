//! Where sessions live: the [`SessionStore`] trait, the in-memory default
//! [`MemorySessionStore`], (feature `redis`) `RedisSessionStore` for sessions shared
//! by many server instances, and (feature `contract-tests`) the contract every
//! store must pass.

use std::future::Future;
use std::sync::Arc;

use mcp_guard_core::Owner;

use crate::{SessionId, SessionRecord, StateChanges};

mod memory;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use memory::MemorySessionStore;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_KEY_PREFIX, RedisSessionStore, RedisSessionStoreBuilder};

/// The caps a store enforces when it creates a session.
///
/// Anonymous sessions ([`Owner::is_anonymous`]) are bounded by
/// [`max_sessions`](Self::max_sessions) alone: callers without a principal
/// are not one caller, so they share no per-owner bucket (one would lock a
/// local server's only user out after that many reconnects without `DELETE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStoreLimits {
    /// Live sessions overall.
    pub max_sessions: usize,
    /// Live sessions of one principal's [`Owner`]; not applied to anonymous
    /// sessions.
    pub max_sessions_per_owner: usize,
}

impl SessionStoreLimits {
    /// How many live sessions `owner` may have: [`max_sessions_per_owner`](Self::max_sessions_per_owner)
    /// for a principal, [`max_sessions`](Self::max_sessions) for anonymous
    /// sessions. Stores check it after the overall cap, so an anonymous
    /// create is only ever refused as [`Created::TooManySessions`].
    pub fn for_owner(&self, owner: &Owner) -> usize {
        if owner.is_anonymous() {
            self.max_sessions
        } else {
            self.max_sessions_per_owner
        }
    }
}

/// What [`SessionStore::create`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The record is stored.
    Created,
    /// A live session already has this id; nothing was stored.
    IdTaken,
    /// [`SessionStoreLimits::max_sessions`] live sessions exist; nothing was stored.
    TooManySessions,
    /// The owner has [`SessionStoreLimits::for_owner`] live sessions (never for
    /// an anonymous owner); nothing was stored.
    TooManyForOwner,
}

pub use mcp_guard_core::StoreError;

/// Keeps session records. Async and fallible, so a network store (Redis)
/// implements it as well as the embedded [`MemorySessionStore`].
///
/// A store expires a record by its own times ([`SessionRecord::expires_at`]):
/// `load` never returns an expired record, and expired records stop counting
/// against the [`SessionStoreLimits`]. Removal is removal: after `remove`, `load` returns
/// `None` everywhere, and a later `touch` or `update_state` does not bring the
/// record back.
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new record atomically: unless its id is live, or a limit is
    /// reached (the overall cap first, then [`SessionStoreLimits::for_owner`]).
    fn create(
        &self,
        record: SessionRecord,
        limits: SessionStoreLimits,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send;

    /// The live record with this id, shared: a store that keeps records in
    /// memory hands out the one it holds rather than a copy.
    fn load(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Arc<SessionRecord>>, StoreError>> + Send;

    /// [`load`](Self::load) answered at once, when the store can answer
    /// without waiting (an in-process store); `None` when it must wait (a
    /// network store: the default), and the layer awaits `load` instead.
    ///
    /// The session layer asks this first on every request of a live
    /// session, with the id borrowed from the request's `Mcp-Session-Id`
    /// (already validated as a [`SessionId`]), so a store that answers it
    /// costs the request neither a boxed future nor a copy of the id. An
    /// answer must be the one `load` would give; the contract checks that.
    fn load_now(&self, _id: &str) -> Option<Result<Option<Arc<SessionRecord>>, StoreError>> {
        None
    }

    /// Records a request seen at `at` (ms since the epoch), extending the idle
    /// expiry of a live record; an unknown, expired or removed one stays gone.
    /// The layer calls it at most once per touch interval per session.
    fn touch(&self, id: &SessionId, at: u64)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Applies a handler's state changes to a live record (no-op if gone).
    fn update_state(
        &self,
        id: &SessionId,
        changes: StateChanges,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the record; `true` if it was live.
    fn remove(&self, id: &SessionId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
