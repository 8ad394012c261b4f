//! The contract every [`SessionStore`] must pass. A store's tests call
//! [`run`] with a factory of empty stores; each check panics with what broke.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // In a store crate's tests, with a factory of fresh, empty stores:
//! mcp_session::store::contract::run(mcp_session::store::MemorySessionStore::new).await;
//! # }
//! ```

// A contract check fails by panicking with what broke, like a test.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use mcp_guard_core::{Owner, Principal, ProtocolVersion};

use super::{Created, SessionStore, SessionStoreLimits};
use crate::record::now_millis;
use crate::{SessionId, SessionRecord, StateChanges};

const ROOMY: SessionStoreLimits = SessionStoreLimits {
    max_sessions: 1000,
    max_sessions_per_owner: 1000,
};

fn record(owner: &Owner, idle: Duration, lifetime: Duration) -> SessionRecord {
    let id = SessionId::generate().expect("the OS CSPRNG is available");
    SessionRecord::new(
        id,
        owner.clone(),
        Some(ProtocolVersion::V2025_11_25),
        idle,
        lifetime,
    )
}

fn user(name: &str) -> Owner {
    Owner::of(
        &Principal::new()
            .with_issuer("https://issuer.example")
            .with_subject(name)
            .with_client_id("app"),
    )
}

const HOUR: Duration = Duration::from_secs(3600);

fn store_limits(max_sessions: usize, max_sessions_per_owner: usize) -> SessionStoreLimits {
    SessionStoreLimits {
        max_sessions,
        max_sessions_per_owner,
    }
}

/// Asks the store for a new hour-long session of `owner`: the store's verdict.
async fn create_for<S: SessionStore>(
    store: &S,
    owner: &Owner,
    limits: SessionStoreLimits,
) -> Created {
    store
        .create(record(owner, HOUR, HOUR), limits)
        .await
        .expect("create")
}

/// Touches `id` twice, 200 ms apart (after a first 200 ms wait).
async fn touch_twice<S: SessionStore>(store: &S, id: &SessionId) {
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        store.touch(id, now_millis()).await.expect("touch");
    }
}

/// What `load` answers for `id`; when the store also answers
/// [`load_now`](SessionStore::load_now), it must say the same.
async fn load<S: SessionStore>(store: &S, id: &SessionId) -> Option<Arc<SessionRecord>> {
    let loaded = store.load(id).await.expect("load");
    if let Some(answer) = store.load_now(id.as_str()) {
        assert_eq!(
            answer.expect("load_now"),
            loaded,
            "load_now answers as load does"
        );
    }
    loaded
}

/// How soon after expiry a session must stop counting against the limits.
pub const EXPIRED_STOPS_COUNTING_WITHIN: Duration = Duration::from_secs(3);

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run<S, F>(fresh: F)
where
    S: SessionStore,
    F: Fn() -> S,
{
    created_records_load_back_unchanged(fresh()).await;
    ids_are_unique_among_live_sessions(fresh()).await;
    removal_is_removal(fresh()).await;
    limits_are_enforced_and_freed(fresh()).await;
    anonymous_sessions_count_only_against_the_overall_cap(fresh()).await;
    concurrent_creates_never_exceed_the_cap(Arc::new(fresh())).await;
    idle_sessions_expire_and_stop_counting(fresh()).await;
    touches_extend_idle_expiry_within_the_lifetime(fresh()).await;
    state_changes_are_kept(fresh()).await;
}

async fn created_records_load_back_unchanged<S: SessionStore>(store: S) {
    let created = record(&user("alice"), HOUR, HOUR);
    assert_eq!(
        store.create(created.clone(), ROOMY).await.expect("create"),
        Created::Created
    );
    let loaded = load(&store, created.id())
        .await
        .expect("the record is live");
    assert_eq!(*loaded, created, "a loaded record equals the created one");
    let unknown = SessionId::generate().expect("csprng");
    assert!(
        load(&store, &unknown).await.is_none(),
        "an unknown id loads nothing"
    );
}

async fn ids_are_unique_among_live_sessions<S: SessionStore>(store: S) {
    let first = record(&user("alice"), HOUR, HOUR);
    let mut second = record(&user("mallory"), HOUR, HOUR);
    assert_eq!(
        store.create(first.clone(), ROOMY).await.expect("create"),
        Created::Created
    );
    second = SessionRecord::new(first.id().clone(), second.owner().clone(), None, HOUR, HOUR);
    assert_eq!(
        store.create(second, ROOMY).await.expect("create"),
        Created::IdTaken
    );
    let kept = load(&store, first.id()).await.expect("live");
    assert_eq!(
        kept.owner(),
        first.owner(),
        "a taken id keeps its first owner"
    );
}

async fn removal_is_removal<S: SessionStore>(store: S) {
    let created = record(&user("alice"), HOUR, HOUR);
    store.create(created.clone(), ROOMY).await.expect("create");
    assert!(
        store.remove(created.id()).await.expect("remove"),
        "remove reports a live session"
    );
    assert!(
        load(&store, created.id()).await.is_none(),
        "a removed session is gone"
    );
    assert!(
        !store.remove(created.id()).await.expect("remove"),
        "removing twice reports nothing"
    );
    store
        .touch(created.id(), now_millis())
        .await
        .expect("touch");
    assert!(
        load(&store, created.id()).await.is_none(),
        "a touch does not revive it"
    );
}

async fn limits_are_enforced_and_freed<S: SessionStore>(store: S) {
    let limits = store_limits(3, 2);
    let alice = user("alice");
    let a1 = record(&alice, HOUR, HOUR);
    assert_eq!(
        store.create(a1.clone(), limits).await.expect("create"),
        Created::Created
    );
    assert_eq!(create_for(&store, &alice, limits).await, Created::Created);
    assert_eq!(
        create_for(&store, &alice, limits).await,
        Created::TooManyForOwner
    );
    assert_eq!(
        create_for(&store, &user("bob"), limits).await,
        Created::Created
    );
    assert_eq!(
        create_for(&store, &user("carol"), limits).await,
        Created::TooManySessions
    );
    store.remove(a1.id()).await.expect("remove");
    assert_eq!(
        create_for(&store, &user("carol"), limits).await,
        Created::Created,
        "a removed session frees its slot"
    );
}

/// Anonymous callers are not one principal: their sessions are bounded by the
/// overall cap alone, never by one shared per-owner bucket (a local server's
/// single user reconnecting without `DELETE` must not lock itself out).
async fn anonymous_sessions_count_only_against_the_overall_cap<S: SessionStore>(store: S) {
    let limits = store_limits(6, 2);
    let alice = user("alice");
    for _ in 0..2 {
        assert_eq!(create_for(&store, &alice, limits).await, Created::Created);
    }
    assert_eq!(
        create_for(&store, &alice, limits).await,
        Created::TooManyForOwner,
        "a principal still meets its own cap"
    );
    for nth in 1..=4 {
        assert_eq!(
            create_for(&store, &Owner::anonymous(), limits).await,
            Created::Created,
            "anonymous session {nth} of 4 (the per-owner cap is 2) fits under the overall cap"
        );
    }
    assert_eq!(
        create_for(&store, &Owner::anonymous(), limits).await,
        Created::TooManySessions,
        "the overall cap bounds anonymous sessions"
    );
}

async fn concurrent_creates_never_exceed_the_cap<S: SessionStore>(store: Arc<S>) {
    let limits = store_limits(10, 1000);
    let mut results = Vec::new();
    for index in 0..50 {
        let store = store.clone();
        let owner = user(&format!("user{index}"));
        results.push(async move { create_for(&*store, &owner, limits).await });
    }
    let outcomes = futures_util::future::join_all(results).await;
    let created = outcomes
        .iter()
        .filter(|outcome| **outcome == Created::Created)
        .count();
    assert_eq!(
        created, 10,
        "exactly the cap is created under concurrency: {outcomes:?}"
    );
}

async fn idle_sessions_expire_and_stop_counting<S: SessionStore>(store: S) {
    let limits = store_limits(1, 1);
    let short = record(&user("alice"), Duration::from_millis(150), HOUR);
    assert_eq!(
        store.create(short.clone(), limits).await.expect("create"),
        Created::Created
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        load(&store, short.id()).await.is_none(),
        "an idle session expires"
    );
    // Stores sweep expired records on their own clock (moka's timer wheel,
    // Redis's expiry cycle): within a few seconds an expired session must stop
    // counting against the limits.
    let deadline = tokio::time::Instant::now() + EXPIRED_STOPS_COUNTING_WITHIN;
    loop {
        let outcome = create_for(&store, &user("alice"), limits).await;
        if outcome == Created::Created {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "an expired session still counts against the limits after {EXPIRED_STOPS_COUNTING_WITHIN:?}: {outcome:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn touches_extend_idle_expiry_within_the_lifetime<S: SessionStore>(store: S) {
    let touched = record(
        &user("alice"),
        Duration::from_millis(300),
        Duration::from_millis(700),
    );
    store.create(touched.clone(), ROOMY).await.expect("create");
    touch_twice(&store, touched.id()).await;
    // 400 ms in: past the first idle deadline, alive thanks to the touches.
    let alive = load(&store, touched.id())
        .await
        .expect("touched sessions stay");
    assert!(
        alive.last_seen_at() > touched.last_seen_at(),
        "the touch is recorded"
    );
    touch_twice(&store, touched.id()).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        load(&store, touched.id()).await.is_none(),
        "the lifetime ends a session however busy"
    );
}

async fn state_changes_are_kept<S: SessionStore>(store: S) {
    let created = record(&user("alice"), HOUR, HOUR);
    store.create(created.clone(), ROOMY).await.expect("create");
    let changes = StateChanges(vec![
        ("cursor".into(), Some(serde_json::json!(42))),
        ("draft".into(), Some(serde_json::json!({"title": "x"}))),
        ("cursor".into(), Some(serde_json::json!(43))),
    ]);
    store
        .update_state(created.id(), changes)
        .await
        .expect("update");
    store
        .update_state(created.id(), StateChanges(vec![("draft".into(), None)]))
        .await
        .expect("update");
    let loaded = load(&store, created.id()).await.expect("live");
    assert_eq!(loaded.state().get("cursor"), Some(&serde_json::json!(43)));
    assert!(
        loaded.state().get("draft").is_none(),
        "a removal is applied"
    );
}
