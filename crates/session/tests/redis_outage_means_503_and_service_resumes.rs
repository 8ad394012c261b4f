//! When Redis goes away, the Redis session store fails fast with a
//! `StoreError` (no hang, no panic, no fallback to memory), the session layer
//! answers `503` with `Retry-After` and a JSON-RPC error, and when Redis is
//! back the same store serves again: nothing is rebuilt.
//!
//! Two kinds of outage: a server that is gone (killed: connections refused)
//! and a server that hangs (`SIGSTOP`: connections open, nothing answered),
//! the case a store without timeouts would wait on forever.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_guard_core::Owner;
use mcp_guard_test_support::RedisServer;
use mcp_guard_test_support::outage::{self, COMMAND_TIMEOUT, FAILS_WITHIN};
use mcp_session::store::{SessionStore, SessionStoreLimits};
use mcp_session::{Mode, RedisSessionStore, SessionGuardLayer, SessionId, SessionRecord};
use support::{INITIALIZE, PING, collect, initialize_handler, request};
use tower::{Layer, ServiceExt};

async fn store(redis: &RedisServer) -> RedisSessionStore {
    RedisSessionStore::builder(redis.url())
        .command_timeout(COMMAND_TIMEOUT)
        .retry_after(Duration::from_secs(3))
        .build()
        .await
        .unwrap()
}

type Svc = tower::util::BoxCloneService<Request<Full<Bytes>>, Response<Bytes>, Infallible>;

fn service(store: RedisSessionStore) -> Svc {
    let layered = SessionGuardLayer::builder(Mode::Issue, store)
        .build()
        .unwrap()
        .layer(initialize_handler());
    tower::util::BoxCloneService::new(layered.and_then(collect))
}

async fn send(service: &Svc, id: Option<&str>, body: &'static str) -> (Response<Bytes>, Duration) {
    outage::timed(service, request(Method::POST, id, body)).await
}

fn assert_unavailable(case: &str, response: &Response<Bytes>, took: Duration) {
    outage::assert_unavailable(case, response, "session", "3");
    assert!(
        response.headers().get("mcp-session-id").is_none(),
        "{case}: no session handed out"
    );
    outage::assert_fails_fast(case, took);
}

/// The answer to `body` (in session `id`) once the store is back.
async fn once_available(service: &Svc, id: Option<&str>, body: &'static str) -> Response<Bytes> {
    outage::once_available(service, || request(Method::POST, id, body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_means_503_then_service_resumes_on_restart() {
    let mut redis = RedisServer::start();
    let store = store(&redis).await;
    let service = service(store.clone());
    let (initialized, _) = send(&service, None, INITIALIZE).await;
    assert_eq!(initialized.status(), StatusCode::OK);
    let id = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();

    redis.stop();
    let (ping, took) = send(&service, Some(&id), PING).await;
    assert_unavailable("a request in a live session", &ping, took);
    let (initialize, took) = send(&service, None, INITIALIZE).await;
    assert_unavailable("an initialize", &initialize, took);

    // Every store call fails with a StoreError, within the bound.
    let some_id = SessionId::generate().unwrap();
    let started = Instant::now();
    let error = store.load(&some_id).await.unwrap_err();
    assert!(
        started.elapsed() < FAILS_WITHIN,
        "load took {:?}",
        started.elapsed()
    );
    assert_eq!(error.retry_after(), Duration::from_secs(3));
    let record = SessionRecord::new(
        some_id.clone(),
        Owner::anonymous(),
        None,
        Duration::from_secs(60),
        Duration::from_secs(60),
    );
    let limits = SessionStoreLimits {
        max_sessions: 10,
        max_sessions_per_owner: 10,
    };
    assert!(store.create(record, limits).await.is_err());
    assert!(store.touch(&some_id, 0).await.is_err());
    assert!(store.remove(&some_id).await.is_err());

    // Back on the same port. Without persistence the old session is gone
    // (the client re-initializes after its 404), and the same store serves.
    redis.restart();
    let ping = once_available(&service, Some(&id), PING).await;
    assert_eq!(
        ping.status(),
        StatusCode::NOT_FOUND,
        "the restarted Redis lost the session"
    );
    let initialized = once_available(&service, None, INITIALIZE).await;
    assert_eq!(
        initialized.status(),
        StatusCode::OK,
        "new sessions after the restart"
    );
    let id = initialized.headers()["mcp-session-id"].to_str().unwrap();
    let (ping, _) = send(&service, Some(id), PING).await;
    assert_eq!(ping.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_means_503_within_the_timeout_and_sessions_survive_it() {
    let redis = RedisServer::start();
    let store = store(&redis).await;
    let service = service(store.clone());
    let (initialized, _) = send(&service, None, INITIALIZE).await;
    let id = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();

    redis.pause();
    let (ping, took) = send(&service, Some(&id), PING).await;
    assert_unavailable("a request while Redis hangs", &ping, took);
    let started = Instant::now();
    assert!(store.load(&SessionId::generate().unwrap()).await.is_err());
    assert!(
        started.elapsed() < FAILS_WITHIN,
        "a hung Redis costs one command timeout, not forever: {:?}",
        started.elapsed()
    );

    redis.resume();
    // SIGSTOP kept the data: the same session is served again.
    let ping = once_available(&service, Some(&id), PING).await;
    assert_eq!(
        ping.status(),
        StatusCode::OK,
        "the session survived the hang"
    );
}
