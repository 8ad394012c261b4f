//! `RedisSessionStore` against a local `redis-server` the bench starts itself
//! (loopback, no persistence): what a request pays for its session lookup,
//! and for the touch the layer sends at most once per touch interval.
//!
//! ```text
//! cargo bench -p mcp-session --features redis --bench redis_session_lookup -- --warm-up-time 1 --measurement-time 5
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // A benchmark that fails loudly.

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_guard_test_support::RedisServer;
use mcp_session::store::{Created, SessionStore, SessionStoreLimits};
use mcp_session::{RedisSessionStore, SessionId, now_millis};
use std::hint::black_box;
use support::record;

/// Live sessions in Redis while the lookups run.
const SESSIONS: usize = 10_000;

fn benches(c: &mut Criterion) {
    let redis = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limits = SessionStoreLimits {
        max_sessions: SESSIONS * 2,
        max_sessions_per_owner: 4,
    };
    let (store, ids) = runtime.block_on(async {
        let store = RedisSessionStore::builder(redis.url())
            .build()
            .await
            .unwrap();
        let mut ids = Vec::with_capacity(SESSIONS);
        for index in 0..SESSIONS {
            let record = record(index);
            ids.push(record.id().clone());
            assert_eq!(
                store.create(record, limits).await.unwrap(),
                Created::Created
            );
        }
        (store, ids)
    });

    let mut next = 0usize;
    c.bench_function("redis: load a live session (of 10000)", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 1) % SESSIONS;
            let (store, id) = (&store, &ids[next]);
            async move { black_box(store.load(id).await.unwrap().unwrap()) }
        })
    });

    let unknown = SessionId::generate().unwrap();
    c.bench_function("redis: load an unknown id", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(store.load(&unknown).await.unwrap()) })
    });

    c.bench_function("redis: touch a live session", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 1) % SESSIONS;
            let (store, id) = (&store, &ids[next]);
            async move { store.touch(id, now_millis()).await.unwrap() }
        })
    });

    let mut created = SESSIONS;
    c.bench_function("redis: create and remove a session (capped)", |b| {
        b.to_async(&runtime).iter(|| {
            created += 1;
            let record = record(created);
            let store = &store;
            async move {
                let id = record.id().clone();
                assert_eq!(
                    store.create(record, limits).await.unwrap(),
                    Created::Created
                );
                assert!(store.remove(&id).await.unwrap());
            }
        })
    });

    // 16 lookups in flight at once on the one multiplexed connection.
    c.bench_function("redis: 16 concurrent loads", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 16) % (SESSIONS - 16);
            let (store, ids) = (&store, &ids[next..next + 16]);
            async move {
                let loads = ids.iter().map(|id| store.load(id));
                let loaded = futures_util::future::join_all(loads).await;
                assert!(loaded.iter().all(|record| matches!(record, Ok(Some(_)))));
            }
        })
    });
    drop(redis);
}

criterion_group!(lookup, benches);
criterion_main!(lookup);
