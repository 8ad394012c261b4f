//! [`RedisSessionStore`]: session records in Redis, shared by every server
//! instance that points at the same Redis.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mcp_guard_core::Owner;
use mcp_guard_core::redis::{MAX_TTL_MS, RedisConfig, RedisConnection, clamp_ttl_ms};
use redis::{IntoConnectionInfo, Script};

use super::{Created, SessionStore, SessionStoreLimits, StoreError};
use crate::record::now_millis;
use crate::{SessionId, SessionRecord, StateChanges};

/// The key prefix unless [`RedisSessionStoreBuilder::key_prefix`] says otherwise.
pub use mcp_guard_core::redis::DEFAULT_KEY_PREFIX;

/// Session records in Redis: many server instances share the sessions, and
/// Redis expires them by their own idle timeout and lifetime.
///
/// # Why Redis, and this client
///
/// Use it when more than one server instance answers the same MCP endpoint
/// (a load balancer without sticky sessions, rolling restarts): a session
/// created on one instance is found, touched, and ended on any other, and
/// survives the restart of the instance that created it. One instance alone
/// is served as well, with less, by the embedded [`MemorySessionStore`](super::MemorySessionStore).
///
/// It talks to Redis through the `redis` crate's
/// [`ConnectionManager`](redis::aio::ConnectionManager), set up by the
/// plumbing the event store uses too ([`mcp_guard_core::redis`]): the
/// official, well-kept Rust client; one
/// multiplexed connection that every request shares (no pool to size, commands
/// pipelined on one socket), and it reconnects by itself after a Redis
/// restart or a network cut, so the store never has to be rebuilt.
///
/// # What is stored
///
/// Under the [key prefix](RedisSessionStoreBuilder::key_prefix) `P`
/// (default `mcp-guard:`):
///
/// - `P session:<id>`: a hash with the record (its owner, version and
///   times), its last-seen time, and one field per handler state key. Its TTL
///   is the session's expiry, `min(last seen + idle timeout, created +
///   lifetime)`: Redis drops an expired session by itself, and a touch
///   extends the TTL, never past the lifetime.
/// - `P sessions` and `P binding:<owner as JSON>`: sorted sets of live
///   session ids scored by expiry, overall and per owner, for the
///   [`SessionStoreLimits`] (the anonymous owner's set is capped only by the
///   overall cap, like
///   [`SessionStoreLimits::for_owner`] says).
///
/// Every operation is one round trip: `create`, `touch`, `update_state` and
/// `remove` are Lua scripts (atomic: a create checks the id, drops expired
/// ids from the sorted sets, checks both caps and stores the record in one
/// step, so concurrent creates on many instances never exceed a cap; a touch
/// or state change of a removed or expired session finds no hash and writes
/// nothing, so it never brings the session back), `load` is one `HGETALL`.
///
/// # When Redis is down
///
/// Every call is bounded by the [command timeout](RedisSessionStoreBuilder::command_timeout)
/// and fails with a [`StoreError`] carrying the
/// [retry hint](RedisSessionStoreBuilder::retry_after): the session layer
/// answers `503` with `Retry-After`. Nothing falls back to memory, nothing
/// panics; when Redis answers again, so does the store.
///
/// Keys of one session live on one Redis, and the scripts touch keys they
/// compute: use a standalone Redis (with replicas if you like), not Redis
/// Cluster.
///
/// # Example
///
/// ```no_run
/// use mcp_session::{Mode, RedisSessionStore, SessionGuardLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisSessionStore::builder("redis://127.0.0.1:6379/")
///     .key_prefix("my-app:")
///     .build()
///     .await?;
/// let layer = SessionGuardLayer::builder(Mode::Issue, store).build()?;
/// # drop(layer);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisSessionStore {
    redis: RedisConnection,
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("redis", &self.redis)
            .finish()
    }
}

/// Configures a [`RedisSessionStore`]; from [`RedisSessionStore::builder`].
#[must_use]
#[derive(Debug)]
pub struct RedisSessionStoreBuilder {
    redis: RedisConfig,
}

impl RedisSessionStoreBuilder {
    /// Namespaces every key (default [`DEFAULT_KEY_PREFIX`], `mcp-guard:`),
    /// so several applications can share one Redis.
    pub fn key_prefix(self, prefix: impl Into<String>) -> Self {
        RedisSessionStoreBuilder {
            redis: self.redis.key_prefix(prefix),
        }
    }

    /// The longest a store call may take, connecting included (default 2 s).
    /// A call that takes longer fails with a [`StoreError`].
    pub fn command_timeout(self, timeout: Duration) -> Self {
        RedisSessionStoreBuilder {
            redis: self.redis.command_timeout(timeout),
        }
    }

    /// The `Retry-After` a failed call suggests to clients (default 2 s).
    pub fn retry_after(self, retry_after: Duration) -> Self {
        RedisSessionStoreBuilder {
            redis: self.redis.retry_after(retry_after),
        }
    }

    /// Connects (within the command timeout) and returns the store. Fails if
    /// the URL is invalid or Redis does not answer.
    pub async fn build(self) -> Result<RedisSessionStore, StoreError> {
        Ok(RedisSessionStore {
            redis: self.redis.connect().await?,
        })
    }
}

/// KEYS: session hash, sessions zset, binding zset.
/// ARGV: id, now, expires_at, ttl, max_sessions, max_per_binding, record,
/// seen, created, idle, life, then state field/value pairs.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local now = ARGV[2]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then return 3 end
redis.call('HSET', KEYS[1], 'record', ARGV[7], 'seen', ARGV[8], 'created', ARGV[9],
  'idle', ARGV[10], 'life', ARGV[11], 'bkey', KEYS[3])
for i = 12, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return 0
";

/// KEYS: session hash, sessions zset. ARGV: id, at, now, max ttl.
const TOUCH: &str = r"
local f = redis.call('HMGET', KEYS[1], 'seen', 'created', 'idle', 'life', 'bkey')
if not f[1] then return 0 end
local seen = math.max(tonumber(f[1]), tonumber(ARGV[2]))
local expires = math.min(seen + tonumber(f[3]), tonumber(f[2]) + tonumber(f[4]))
local now = tonumber(ARGV[3])
if expires <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', f[5], ARGV[1])
  return 0
end
local ttl = math.min(expires - now, tonumber(ARGV[4]))
ttl = string.format('%d', ttl)
local score = string.format('%.0f', expires)
redis.call('HSET', KEYS[1], 'seen', string.format('%.0f', seen))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], 'XX', score, ARGV[1])
redis.call('ZADD', f[5], 'XX', score, ARGV[1])
if redis.call('PTTL', f[5]) < tonumber(ttl) then
  redis.call('PEXPIRE', f[5], ttl)
end
return 1
";

/// KEYS: session hash. ARGV: `+field`/value or `-field`/'' pairs.
const UPDATE_STATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do
  local field = string.sub(ARGV[i], 2)
  if string.sub(ARGV[i], 1, 1) == '+' then
    redis.call('HSET', KEYS[1], field, ARGV[i + 1])
  else
    redis.call('HDEL', KEYS[1], field)
  end
end
return 1
";

/// KEYS: session hash, sessions zset. ARGV: id.
const REMOVE: &str = r"
local binding = redis.call('HGET', KEYS[1], 'bkey')
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if binding then redis.call('ZREM', binding, ARGV[1]) end
return existed
";

/// The hash field of a handler state key.
const STATE_FIELD: &str = "s:";

fn scripts() -> &'static Scripts {
    static SCRIPTS: std::sync::OnceLock<Scripts> = std::sync::OnceLock::new();
    SCRIPTS.get_or_init(|| Scripts {
        create: Script::new(CREATE),
        touch: Script::new(TOUCH),
        update_state: Script::new(UPDATE_STATE),
        remove: Script::new(REMOVE),
    })
}

struct Scripts {
    create: Script,
    touch: Script,
    update_state: Script,
    remove: Script,
}

impl RedisSessionStore {
    /// A builder for a store on the Redis at `connection`: a URL such as
    /// `redis://127.0.0.1:6379/` or `rediss://user:pass@host/0`, or anything
    /// else the `redis` crate's [`IntoConnectionInfo`] accepts.
    pub fn builder(connection: impl IntoConnectionInfo) -> RedisSessionStoreBuilder {
        RedisSessionStoreBuilder {
            redis: RedisConfig::new(connection),
        }
    }

    /// Connects to `url` with the defaults: shorthand for
    /// `RedisSessionStore::builder(url).build().await`.
    pub async fn connect(url: &str) -> Result<RedisSessionStore, StoreError> {
        RedisSessionStore::builder(url).build().await
    }

    /// Another store on the same connection under another key prefix: its
    /// sessions are apart from this one's.
    pub fn with_key_prefix(&self, prefix: impl Into<String>) -> RedisSessionStore {
        RedisSessionStore {
            redis: self.redis.with_key_prefix(prefix),
        }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.redis.key_prefix()
    }

    /// Live sessions, as the overall cap counts them (expired ones are
    /// dropped first).
    pub async fn live_sessions(&self) -> Result<usize, StoreError> {
        let mut connection = self.redis.manager();
        let key = self.sessions_key();
        let now = now_millis();
        let call = async move {
            let (_, count): (usize, usize) = redis::pipe()
                .atomic()
                .cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(now)
                .cmd("ZCARD")
                .arg(&key)
                .query_async(&mut connection)
                .await?;
            Ok(count)
        };
        self.redis.bounded(call).await
    }

    fn session_key(&self, id: &SessionId) -> String {
        self.redis.key(&format!("session:{}", id.as_str()))
    }

    fn sessions_key(&self) -> String {
        self.redis.key("sessions")
    }

    /// The sorted set of `owner`'s sessions: the owner's JSON (the shape
    /// records store it in) under `binding:`, the name earlier releases
    /// used, so the counts of live sessions stay where they were.
    fn owner_key(&self, owner: &Owner) -> Result<String, StoreError> {
        let owner = serde_json::to_string(owner).map_err(|error| {
            self.redis
                .failure(format!("a session owner does not serialize: {error}"))
        })?;
        Ok(self.redis.key(&format!("binding:{owner}")))
    }

    /// A record Redis holds but this build cannot read (the id stays out of
    /// the message: ids are credentials of a sort).
    fn corrupt(&self, _id: &SessionId, what: impl fmt::Display) -> StoreError {
        self.redis
            .failure(format!("a session record in Redis is unreadable: {what}"))
    }
}

impl SessionStore for RedisSessionStore {
    async fn create(
        &self,
        record: SessionRecord,
        limits: SessionStoreLimits,
    ) -> Result<Created, StoreError> {
        let now = now_millis();
        let expires_at = record.expires_at();
        let ttl = clamp_ttl_ms(expires_at.saturating_sub(now));
        // The state travels as hash fields, so a state change is a field
        // write, not a read-modify-write of the whole record.
        let mut base = record.clone();
        base.apply(&StateChanges(
            record
                .state()
                .keys()
                .map(|key| (key.clone(), None))
                .collect(),
        ));
        let json = serde_json::to_string(&base)
            .map_err(|error| self.corrupt(record.id(), format!("does not serialize: {error}")))?;
        let keys = [
            self.session_key(record.id()),
            self.sessions_key(),
            self.owner_key(record.owner())?,
        ];
        let mut invocation = scripts().create.prepare_invoke();
        invocation.key(&keys[..]);
        invocation
            .arg(record.id().as_str())
            .arg(now)
            .arg(expires_at)
            .arg(ttl)
            .arg(limits.max_sessions)
            .arg(limits.for_owner(record.owner()))
            .arg(json)
            .arg(record.last_seen_at())
            .arg(record.created_at())
            .arg(u64::try_from(record.idle_timeout().as_millis()).unwrap_or(u64::MAX))
            .arg(u64::try_from(record.max_lifetime().as_millis()).unwrap_or(u64::MAX));
        for (key, value) in record.state() {
            invocation
                .arg(format!("{STATE_FIELD}{key}"))
                .arg(value.to_string());
        }
        let outcome: i64 = self.redis.run_script(&invocation).await?;
        Ok(match outcome {
            0 => Created::Created,
            1 => Created::IdTaken,
            2 => Created::TooManySessions,
            _ => Created::TooManyForOwner,
        })
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let mut connection = self.redis.manager();
        let key = self.session_key(id);
        let fields: HashMap<String, String> = self
            .redis
            .bounded(async move {
                redis::cmd("HGETALL")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        let Some(json) = fields.get("record") else {
            return Ok(None);
        };
        let mut record: SessionRecord =
            serde_json::from_str(json).map_err(|error| self.corrupt(id, error))?;
        if let Some(seen) = fields.get("seen").and_then(|seen| seen.parse().ok()) {
            record.touch(seen);
        }
        let mut state = Vec::new();
        for (field, value) in &fields {
            if let Some(key) = field.strip_prefix(STATE_FIELD) {
                let value = serde_json::from_str(value).map_err(|error| self.corrupt(id, error))?;
                state.push((key.to_owned(), Some(value)));
            }
        }
        record.apply(&StateChanges(state));
        // Redis's expiry and ours agree to the millisecond; check anyway.
        if record.is_expired_at(now_millis()) {
            return Ok(None);
        }
        Ok(Some(Arc::new(record)))
    }

    async fn touch(&self, id: &SessionId, at: u64) -> Result<(), StoreError> {
        let mut invocation = scripts().touch.prepare_invoke();
        invocation
            .key(self.session_key(id))
            .key(self.sessions_key())
            .arg(id.as_str())
            .arg(at)
            .arg(now_millis())
            .arg(MAX_TTL_MS);
        let _: i64 = self.redis.run_script(&invocation).await?;
        Ok(())
    }

    async fn update_state(&self, id: &SessionId, changes: StateChanges) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut invocation = scripts().update_state.prepare_invoke();
        invocation.key(self.session_key(id));
        for (key, value) in changes.iter() {
            match value {
                Some(value) => invocation
                    .arg(format!("+{STATE_FIELD}{key}"))
                    .arg(value.to_string()),
                None => invocation.arg(format!("-{STATE_FIELD}{key}")).arg(""),
            };
        }
        let _: i64 = self.redis.run_script(&invocation).await?;
        Ok(())
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        let mut invocation = scripts().remove.prepare_invoke();
        invocation
            .key(self.session_key(id))
            .key(self.sessions_key())
            .arg(id.as_str());
        let removed: i64 = self.redis.run_script(&invocation).await?;
        Ok(removed == 1)
    }
}
