//! `mcp_guard_core::redis` against a real `redis-server`: connecting, the key
//! prefix, and every failure a bounded `StoreError` carrying the retry hint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use mcp_guard_core::redis::RedisConfig;
use mcp_guard_test_support::RedisServer;

#[tokio::test(flavor = "current_thread")]
async fn connects_and_keys_live_under_the_prefix() {
    let server = RedisServer::start();
    let redis = RedisConfig::new(server.url())
        .key_prefix("test-app:")
        .connect()
        .await
        .unwrap();
    assert_eq!(redis.key("counter"), "test-app:counter");
    let key = redis.key("counter");
    let mut connection = redis.manager();
    let value: u64 = redis
        .bounded(async move {
            redis::cmd("INCR")
                .arg(key)
                .query_async(&mut connection)
                .await
        })
        .await
        .unwrap();
    assert_eq!(value, 1);
    assert_eq!(server.command("GET test-app:counter"), "$1\r\n1\r\n");

    let other = redis.with_key_prefix("other:");
    assert_eq!(other.key("counter"), "other:counter");
    assert_eq!(redis.key_prefix(), "test-app:");
}

#[tokio::test(flavor = "current_thread")]
async fn an_invalid_url_is_a_store_error_naming_the_connection_info() {
    let error = RedisConfig::new("not a url")
        .retry_after(Duration::from_secs(9))
        .connect()
        .await
        .unwrap_err();
    assert!(
        error.message().contains("invalid Redis connection info"),
        "{}",
        error.message()
    );
    assert_eq!(error.retry_after(), Duration::from_secs(9));
}

#[tokio::test(flavor = "current_thread")]
async fn a_redis_that_is_down_fails_within_the_command_timeout() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let started = Instant::now();
    let error = RedisConfig::new(url)
        .command_timeout(Duration::from_millis(300))
        .retry_after(Duration::from_secs(4))
        .connect()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(error.message().starts_with("redis"), "{}", error.message());
    assert_eq!(error.retry_after(), Duration::from_secs(4));
}

#[tokio::test(flavor = "current_thread")]
async fn a_hung_redis_is_cut_off_by_the_command_timeout() {
    let server = RedisServer::start();
    let redis = RedisConfig::new(server.url())
        .command_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    server.pause();
    let mut connection = redis.manager();
    let started = Instant::now();
    let result: Result<String, _> = redis
        .bounded(async move { redis::cmd("PING").query_async(&mut connection).await })
        .await;
    server.resume();
    let error = result.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.retry_after(), redis.retry_after());
    assert!(error.message().starts_with("redis"), "{}", error.message());

    // Its own bound for a call that may block longer (a blocking read).
    let mut connection = redis.manager();
    let pong: String = redis
        .bounded_for(Duration::from_secs(5), async move {
            redis::cmd("PING").query_async(&mut connection).await
        })
        .await
        .unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test(flavor = "current_thread")]
async fn a_redis_error_reply_is_a_store_error() {
    let server = RedisServer::start();
    let redis = RedisConfig::new(server.url()).connect().await.unwrap();
    let mut connection = redis.manager();
    let error = redis
        .bounded(async move {
            redis::cmd("NO-SUCH-COMMAND")
                .query_async::<String>(&mut connection)
                .await
        })
        .await
        .unwrap_err();
    assert!(
        error.message().starts_with("redis: "),
        "{}",
        error.message()
    );
    assert_eq!(error.retry_after(), Duration::from_secs(2));
}
