//! The Redis plumbing the session and event stores share (feature `redis`):
//! one configuration ([`RedisConfig`]: where, key prefix, command timeout,
//! retry hint), one way to connect ([`RedisConfig::connect`]: a
//! [`ConnectionManager`] that reconnects fast and quietly, connected within
//! the command timeout), and one way to run a call ([`RedisConnection::bounded`]:
//! within the timeout, every failure a [`StoreError`] carrying the retry hint,
//! which the layers answer as `503` with `Retry-After`).
//!
//! Each store keeps its own keys and scripts; this module holds what they
//! would otherwise both write out.
//!
//! # Example
//!
//! A store's builder wraps a [`RedisConfig`] and delegates its connection
//! setters; its `build` connects, and the store keeps the [`RedisConnection`]:
//!
//! ```no_run
//! use std::time::Duration;
//! use mcp_guard_core::StoreError;
//! use mcp_guard_core::redis::{RedisConfig, RedisConnection};
//!
//! #[derive(Debug, Clone)]
//! struct CounterStore {
//!     redis: RedisConnection,
//! }
//!
//! impl CounterStore {
//!     async fn increment(&self) -> Result<u64, StoreError> {
//!         let key = self.redis.key("counter");
//!         let mut connection = self.redis.manager();
//!         self.redis
//!             .bounded(async move { redis::cmd("INCR").arg(key).query_async(&mut connection).await })
//!             .await
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), StoreError> {
//! let redis = RedisConfig::new("redis://127.0.0.1:6379/")
//!     .key_prefix("my-app:")
//!     .command_timeout(Duration::from_millis(500))
//!     .connect()
//!     .await?;
//! let store = CounterStore { redis };
//! assert_eq!(store.increment().await?, 1);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, FromRedisValue, IntoConnectionInfo, RedisError, ScriptInvocation};

use crate::StoreError;

/// The key prefix unless [`RedisConfig::key_prefix`] says otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "mcp-guard:";

/// The longest a store call may take unless [`RedisConfig::command_timeout`]
/// says otherwise: 2 seconds.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// The `Retry-After` a failed call suggests unless [`RedisConfig::retry_after`]
/// says otherwise: 2 seconds.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The longest key TTL to set, in milliseconds (about 2 200 years): longer
/// ones are clamped ([`ttl_ms`]) so Redis never refuses an expiry as out of
/// range.
pub const MAX_TTL_MS: u64 = 1 << 46;

/// `ttl` as a key TTL in milliseconds for `PEXPIRE`: at least 1 (a zero TTL
/// would delete the key), at most [`MAX_TTL_MS`].
///
/// ```
/// use std::time::Duration;
/// use mcp_guard_core::redis::{MAX_TTL_MS, ttl_ms};
///
/// assert_eq!(ttl_ms(Duration::from_secs(3)), 3000);
/// assert_eq!(ttl_ms(Duration::ZERO), 1);
/// assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
/// ```
pub fn ttl_ms(ttl: Duration) -> u64 {
    clamp_ttl_ms(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

/// A TTL in milliseconds clamped to `1..=`[`MAX_TTL_MS`] (see [`ttl_ms`]).
pub fn clamp_ttl_ms(ms: u64) -> u64 {
    ms.clamp(1, MAX_TTL_MS)
}

/// Where a store's Redis is and how the store talks to it: the settings the
/// session and event stores share. Their builders wrap one and delegate
/// their setters to it.
#[must_use]
pub struct RedisConfig {
    client: Result<Client, RedisError>,
    key_prefix: String,
    command_timeout: Duration,
    retry_after: Duration,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection info may hold a password: never printed.
        f.debug_struct("RedisConfig")
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl RedisConfig {
    /// The Redis at `connection`: a URL such as `redis://127.0.0.1:6379/`, or
    /// anything else the `redis` crate's [`IntoConnectionInfo`] accepts. An
    /// invalid one is reported by [`connect`](RedisConfig::connect).
    pub fn new(connection: impl IntoConnectionInfo) -> Self {
        RedisConfig {
            client: Client::open(connection),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }

    /// Namespaces every key (default [`DEFAULT_KEY_PREFIX`], `mcp-guard:`),
    /// so several applications can share one Redis.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The longest a store call may take, connecting included (default
    /// [`DEFAULT_COMMAND_TIMEOUT`]). A call that takes longer fails with a
    /// [`StoreError`].
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The `Retry-After` a failed call suggests to clients (default
    /// [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The key prefix set.
    pub fn prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The command timeout set.
    pub fn timeout(&self) -> Duration {
        self.command_timeout
    }

    /// The retry hint set.
    pub fn retry_hint(&self) -> Duration {
        self.retry_after
    }

    /// A [`StoreError`] with this configuration's retry hint, for a store
    /// whose own settings fail validation before connecting.
    pub fn failure(&self, message: impl Into<String>) -> StoreError {
        StoreError::new(message, self.retry_after)
    }

    /// Connects within the command timeout. Fails with a [`StoreError`] if the
    /// connection info is invalid or Redis does not answer.
    pub async fn connect(self) -> Result<RedisConnection, StoreError> {
        let retry_after = self.retry_after;
        let client = self.client.map_err(|error| {
            StoreError::new(
                format!("invalid Redis connection info: {error}"),
                retry_after,
            )
        })?;
        let config = manager_config(self.command_timeout);
        let manager = bounded(
            self.command_timeout,
            retry_after,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await?;
        Ok(RedisConnection {
            manager,
            client,
            key_prefix: Arc::from(self.key_prefix),
            command_timeout: self.command_timeout,
            retry_after,
        })
    }
}

/// Reconnects fast and quietly: a store call never waits on a long backoff,
/// it fails within its timeout and the next call tries again.
fn manager_config(command_timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect_timeout(command_timeout)))
        .set_response_timeout(Some(command_timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// How long one connection attempt may take: the command timeout, at most a
/// second (so a reconnect leaves time for the command within the timeout).
fn connect_timeout(command_timeout: Duration) -> Duration {
    command_timeout.min(Duration::from_secs(1))
}

/// A connected store's Redis: one multiplexed, self-reconnecting
/// [`ConnectionManager`] every call shares, the key prefix, and the bounds
/// of every call. Cloning is cheap (the manager is a handle).
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    client: Client,
    key_prefix: Arc<str>,
    command_timeout: Duration,
    retry_after: Duration,
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// A handle on the shared connection, for one call (`query_async` and
    /// `invoke_async` take it by `&mut`).
    pub fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// The client, for connections of a store's own (blocking reads, which
    /// must not hold up the shared connection).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How long one connection attempt may take: the command timeout, at most
    /// a second (for a store's own connections, as the manager's).
    pub fn connect_timeout(&self) -> Duration {
        connect_timeout(self.command_timeout)
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The same connection under another key prefix.
    pub fn with_key_prefix(&self, prefix: impl Into<String>) -> RedisConnection {
        RedisConnection {
            key_prefix: Arc::from(prefix.into()),
            ..self.clone()
        }
    }

    /// `name` under the key prefix.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), mcp_guard_core::StoreError> {
    /// use mcp_guard_core::redis::RedisConfig;
    /// let redis = RedisConfig::new("redis://127.0.0.1/").key_prefix("app:").connect().await?;
    /// assert_eq!(redis.key("sessions"), "app:sessions");
    /// # Ok(()) }
    /// ```
    pub fn key(&self, name: &str) -> String {
        let mut key = String::with_capacity(self.key_prefix.len() + name.len());
        key.push_str(&self.key_prefix);
        key.push_str(name);
        key
    }

    /// The longest a call may take.
    pub fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// The `Retry-After` a failed call suggests.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// A [`StoreError`] with this store's retry hint (a record that does not
    /// parse, say).
    pub fn failure(&self, message: impl Into<String>) -> StoreError {
        StoreError::new(message, self.retry_after)
    }

    /// Runs a Redis call within the command timeout; see [`bounded`].
    pub async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        bounded(self.command_timeout, self.retry_after, call).await
    }

    /// Runs a Lua script call on a clone of the shared connection, within the
    /// command timeout; see [`bounded`]. Both stores keep their multi-key
    /// updates atomic in scripts, so this is their one way to run one.
    pub async fn run_script<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.manager();
        self.bounded(invocation.invoke_async(&mut connection)).await
    }

    /// Runs a Redis call within `timeout` (a blocking read's own bound); see
    /// [`bounded`].
    pub async fn bounded_for<T>(
        &self,
        timeout: Duration,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        bounded(timeout, self.retry_after, call).await
    }
}

/// Runs a Redis call within `timeout`, mapping every failure to a
/// [`StoreError`] with `retry_after`: `redis: <error>` for an error Redis or
/// the connection reported, `redis did not answer within <timeout>` for a
/// call cut off.
pub async fn bounded<T>(
    timeout: Duration,
    retry_after: Duration,
    call: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(StoreError::new(format!("redis: {error}"), retry_after)),
        Err(_elapsed) => Err(StoreError::new(
            format!("redis did not answer within {timeout:?}"),
            retry_after,
        )),
    }
}
