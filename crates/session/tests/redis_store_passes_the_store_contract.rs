//! `RedisSessionStore` passes the contract every session store must pass,
//! against a real `redis-server`: each check gets a fresh, empty store (its
//! own key prefix on the same connection).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_guard_test_support::RedisServer;
use mcp_session::RedisSessionStore;
use mcp_session::store::contract;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_passes_the_store_contract() {
    let redis = RedisServer::start();
    let base = RedisSessionStore::builder(redis.url())
        .build()
        .await
        .unwrap();
    let fresh = AtomicUsize::new(0);
    contract::run(|| {
        base.with_key_prefix(format!(
            "contract-{}:",
            fresh.fetch_add(1, Ordering::SeqCst)
        ))
    })
    .await;
    assert!(
        fresh.load(Ordering::SeqCst) >= 9,
        "every check ran on its own store"
    );
}
