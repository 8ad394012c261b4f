//! `RedisEventStore` passes the contract every event store must pass, against
//! a real `redis-server`: each check gets a fresh, empty store (its own key
//! prefix on the same connections) with the limits the check asks for.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_guard_test_support::RedisServer;
use mcp_sse_resume::store::contract;
use mcp_sse_resume::{EventStore, EventStoreLimits, RedisEventStore, SseEvent, StreamKey};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_event_store_passes_the_store_contract() {
    let redis = RedisServer::start();
    let base = RedisEventStore::builder(redis.url()).build().await.unwrap();
    let fresh = AtomicUsize::new(0);
    contract::run(|limits| {
        base.with_key_prefix(format!(
            "contract-{}:",
            fresh.fetch_add(1, Ordering::SeqCst)
        ))
        .with_limits(limits)
        .expect("the contract's limits are valid")
    })
    .await;
    assert!(
        fresh.load(Ordering::SeqCst) >= 9,
        "every check ran on its own store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_above_the_overall_cap_is_refused_at_build() {
    let redis = RedisServer::start();
    let over = EventStoreLimits {
        max_bytes_per_principal: 2048,
        max_total_bytes: 1024,
        ..EventStoreLimits::default()
    };
    let error = RedisEventStore::builder(redis.url())
        .limits(over)
        .build()
        .await
        .expect_err("a per-principal budget above the overall cap");
    assert!(
        error.message().contains("max_bytes_per_principal"),
        "the error names the setting: {}",
        error.message()
    );
    let store = RedisEventStore::builder(redis.url()).build().await.unwrap();
    let error = store
        .with_limits(over)
        .expect_err("the same, on a built store");
    assert_eq!(error.setting(), "max_bytes_per_principal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_leaves_no_principal_or_stream_keys_behind() {
    let redis = RedisServer::start();
    let store = RedisEventStore::builder(redis.url())
        .key_prefix("leak:")
        .build()
        .await
        .unwrap();
    for session in ["s1", "s2"] {
        let key = StreamKey {
            session: session.into(),
            stream: store.open_stream(session, "alice").await.unwrap(),
        };
        let event = SseEvent {
            data: "0123456789".to_owned(),
            ..SseEvent::default()
        };
        store.append(&key, event).await.unwrap();
        store.attach(&key, Duration::from_secs(60)).await.unwrap();
        store.close_stream(&key).await.unwrap();
        store.purge_session(session).await.unwrap();
    }
    assert_eq!(store.stored_bytes().await.unwrap(), 0);
    assert_eq!(
        redis.command("KEYS leak:*"),
        "*1\r\n$13\r\nleak:es-bytes\r\n",
        "only the overall byte count (0) is left"
    );
}
