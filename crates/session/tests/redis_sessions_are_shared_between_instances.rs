//! Two server instances, each with its own `RedisSessionStore` (its own
//! connection) on the same Redis: a session created through one is found,
//! touched, capped and ended through the other, directly and through the
//! session layer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::time::Duration;

use http::{Method, StatusCode};
use mcp_guard_core::ProtocolVersion;
use mcp_guard_test_support::RedisServer;
use mcp_session::store::{Created, SessionStore, SessionStoreLimits};
use mcp_session::{
    Mode, RedisSessionStore, SessionGuardLayer, SessionId, SessionRecord, now_millis,
};
use support::{INITIALIZE, PING, initialize_handler, owner, request};
use tower::{Layer, ServiceExt};

const HOUR: Duration = Duration::from_secs(3600);

async fn two_instances(redis: &RedisServer) -> (RedisSessionStore, RedisSessionStore) {
    let first = RedisSessionStore::builder(redis.url())
        .key_prefix("shared:")
        .build()
        .await
        .unwrap();
    let second = RedisSessionStore::builder(redis.url())
        .key_prefix("shared:")
        .build()
        .await
        .unwrap();
    (first, second)
}

#[tokio::test]
async fn records_written_by_one_instance_are_read_and_removed_by_another() {
    let redis = RedisServer::start();
    let (first, second) = two_instances(&redis).await;
    let roomy = SessionStoreLimits {
        max_sessions: 100,
        max_sessions_per_owner: 100,
    };

    let record = SessionRecord::new(
        SessionId::generate().unwrap(),
        owner("alice"),
        Some(ProtocolVersion::V2025_11_25),
        Duration::from_secs(60),
        HOUR,
    );
    assert_eq!(
        first.create(record.clone(), roomy).await.unwrap(),
        Created::Created
    );
    assert_eq!(
        second.load(record.id()).await.unwrap().as_deref(),
        Some(&record),
        "the other instance loads the same record, binding included"
    );
    assert_eq!(
        second.create(record.clone(), roomy).await.unwrap(),
        Created::IdTaken,
        "ids are unique across instances"
    );

    let later = now_millis() + 5;
    second.touch(record.id(), later).await.unwrap();
    let touched = first.load(record.id()).await.unwrap().unwrap();
    assert_eq!(
        touched.last_seen_at(),
        later,
        "a touch on one instance is seen on the other"
    );

    assert!(second.remove(record.id()).await.unwrap());
    assert!(
        first.load(record.id()).await.unwrap().is_none(),
        "removed everywhere"
    );
    assert!(
        !first.remove(record.id()).await.unwrap(),
        "already gone for the first instance too"
    );
}

#[tokio::test]
async fn the_per_principal_cap_counts_sessions_of_every_instance() {
    let redis = RedisServer::start();
    let (first, second) = two_instances(&redis).await;
    let one_each = SessionStoreLimits {
        max_sessions: 100,
        max_sessions_per_owner: 1,
    };
    let make = || {
        SessionRecord::new(
            SessionId::generate().unwrap(),
            owner("alice"),
            None,
            HOUR,
            HOUR,
        )
    };
    let kept = make();
    assert_eq!(
        first.create(kept.clone(), one_each).await.unwrap(),
        Created::Created
    );
    assert_eq!(
        second.create(make(), one_each).await.unwrap(),
        Created::TooManyForOwner,
        "alice's session on the first instance counts on the second"
    );
    assert_eq!(second.live_sessions().await.unwrap(), 1);
    first.remove(kept.id()).await.unwrap();
    assert_eq!(
        second.create(make(), one_each).await.unwrap(),
        Created::Created,
        "removal on one instance frees the slot on the other"
    );

    let elsewhere = first.with_key_prefix("other-app:");
    assert_eq!(
        elsewhere.create(make(), one_each).await.unwrap(),
        Created::Created,
        "another key prefix is another namespace"
    );
    assert_eq!(elsewhere.live_sessions().await.unwrap(), 1);
}

#[tokio::test]
async fn a_session_minted_by_one_layer_is_served_and_ended_by_another() {
    let redis = RedisServer::start();
    let (first, second) = two_instances(&redis).await;
    let first = SessionGuardLayer::builder(Mode::Issue, first)
        .build()
        .unwrap()
        .layer(initialize_handler());
    let second = SessionGuardLayer::builder(Mode::Issue, second)
        .build()
        .unwrap()
        .layer(initialize_handler());

    let initialized = first
        .clone()
        .oneshot(request(Method::POST, None, INITIALIZE))
        .await
        .unwrap();
    assert_eq!(initialized.status(), StatusCode::OK);
    let id = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let ping = second
        .clone()
        .oneshot(request(Method::POST, Some(&id), PING))
        .await
        .unwrap();
    assert_eq!(
        ping.status(),
        StatusCode::OK,
        "the second instance knows the session"
    );

    let ended = second
        .clone()
        .oneshot(request(Method::DELETE, Some(&id), ""))
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let after = first
        .clone()
        .oneshot(request(Method::POST, Some(&id), PING))
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::NOT_FOUND,
        "a session ended on one instance is gone on the other"
    );
}
