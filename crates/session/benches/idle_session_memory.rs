//! Bytes per idle session in the in-memory store, at 100 000 sessions.
//!
//! ```text
//! cargo bench -p mcp-session --bench idle_session_memory
//! ```
//!
//! Measures the growth of the process's resident set (VmRSS, Linux) while
//! 100 000 sessions are created, each bound to its own user (issuer, subject,
//! client id) with a negotiated version and no handler state, then divides.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A measurement that fails loudly.

mod support;

use mcp_guard_test_support::memory::resident_bytes;
use mcp_session::store::{Created, MemorySessionStore, SessionStore, SessionStoreLimits};
use support::record;

const SESSIONS: usize = 100_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = MemorySessionStore::new();
        let limits = SessionStoreLimits {
            max_sessions: SESSIONS * 2,
            max_sessions_per_owner: 4,
        };
        // Warm up the allocator and moka's internals before the baseline.
        for index in 0..1_000 {
            let warm = record(SESSIONS + index);
            let id = warm.id().clone();
            store.create(warm, limits).await.unwrap();
            store.remove(&id).await.unwrap();
        }
        store.live_sessions().await;
        let before = resident_bytes();
        for index in 0..SESSIONS {
            assert_eq!(store.create(record(index), limits).await.unwrap(), Created::Created);
        }
        assert_eq!(store.live_sessions().await, SESSIONS);
        let after = resident_bytes();
        let per_session = (after - before) as f64 / SESSIONS as f64;
        println!(
            "idle sessions: {SESSIONS}; resident set grew {:.1} MiB; {per_session:.0} bytes per idle session",
            (after - before) as f64 / (1024.0 * 1024.0)
        );
    });
}
