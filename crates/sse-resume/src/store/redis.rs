//! [`RedisEventStore`]: resumable streams in Redis Streams, shared by every
//! server instance that points at the same Redis.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_guard_core::redis::{RedisConfig, RedisConnection, ttl_ms};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, IntoConnectionInfo, Script, Value};
use tokio::sync::Semaphore;

use super::{
    EventStore, EventStoreLimits, EventStoreLimitsConfigError, Replay, StoreError, StreamKey,
    StreamTail, event_bytes, gone_message,
};
use crate::{SseEvent, StreamId};

/// The key prefix unless [`RedisEventStoreBuilder::key_prefix`] says otherwise
/// (`mcp-guard:`, the session store's too).
pub use mcp_guard_core::redis::DEFAULT_KEY_PREFIX;

/// The longest one blocking read waits before the waiter checks again whether
/// its stream still exists (a purge on another instance wakes no one).
const BLOCK_SLICE: Duration = Duration::from_secs(1);

/// Idle blocking-read connections kept for the next waiter.
const IDLE_BLOCKING_CONNECTIONS: usize = 8;

/// Resumable SSE streams in Redis Streams: many server instances share the
/// events, so a client that reconnects through another instance resumes
/// where it left off, and a reader on one instance follows a stream another
/// instance is writing.
///
/// # Why Redis
///
/// Use it when more than one server instance answers the same MCP endpoint:
/// the `GET` with `Last-Event-ID` may land on any of them. With one instance,
/// the embedded [`MemoryEventStore`](super::MemoryEventStore) does the same
/// with less. Pair it with `mcp_session::RedisSessionStore`, so the session
/// the events are scoped to is shared too.
///
/// # How
///
/// Under the [key prefix](RedisEventStoreBuilder::key_prefix) `P` (default
/// `mcp-guard:`), with `S` the session id in base64url:
///
/// - `P es:S:<stream>`: a Redis Stream per (session, stream). Event `n` is
///   the entry with id `n-0`, so a resume after `n` is one exclusive range read
///   (`XRANGE key (n-0 + COUNT max`): no scan, no sort. Sequences are assigned
///   atomically in Redis, so they are unique however many instances append.
/// - `P es:S`: the session's hash (per stream: last sequence, last activity,
///   closed) and `P es:S:order`, its streams oldest first (for the
///   per-session stream cap and for purging).
/// - `P es-bytes`, `P es-sizes`, `P es-active`: bytes overall and per stream,
///   and streams by last activity, for the overall byte cap and the TTL.
/// - `P es-owners`, `P es-owner-bytes`, `P es-owner:W` (with `W` the owner
///   in base64url): each stream's principal, each principal's bytes and its
///   streams oldest first, for the per-principal budget.
///
/// Appends, opens, closes and purges are Lua scripts (atomic, one round
/// trip) that enforce the same [`EventStoreLimits`] as the memory store:
/// events per stream (the oldest go, and a resume from there is
/// [`Replay::Evicted`], so the layer answers `410`), streams per session,
/// bytes per session, per principal and overall, and the TTL (every key
/// expires with it). Over the overall cap another principal's stream goes
/// only if it is closed and no reader's lease ([`EventStore::attach`], a
/// timestamp in the session's hash, so it holds across instances) is
/// current; the append looks at the 1 024 streams idle longest for one. A
/// stream whose instance died before closing it stays protected until the
/// TTL, within its principal's budget. Reads are one `MULTI` round trip.
///
/// **The live tail.** [`wait_after`](EventStore::wait_after) blocks in
/// `XREAD BLOCK` on a connection of its own (a blocking command would stall
/// every other call on the shared multiplexed connection), taken from a small
/// pool and bounded by
/// [`max_blocking_connections`](RedisEventStoreBuilder::max_blocking_connections).
/// Closing a stream appends a marker entry (`n-1`, after event `n`), so
/// waiters on every instance wake.
///
/// # When Redis is down
///
/// Every call is bounded by the [command timeout](RedisEventStoreBuilder::command_timeout)
/// and fails with a [`StoreError`] carrying the
/// [retry hint](RedisEventStoreBuilder::retry_after): the layer answers
/// `503` with `Retry-After`. Nothing falls back to memory; when Redis answers
/// again, so does the store (the `redis` crate's `ConnectionManager`
/// reconnects by itself).
///
/// The scripts touch keys they compute: use a standalone Redis (with replicas
/// if you like), not Redis Cluster.
///
/// # Example
///
/// ```no_run
/// use mcp_sse_resume::{EventStoreLimits, RedisEventStore, SseResumeLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisEventStore::builder("redis://127.0.0.1:6379/")
///     .key_prefix("my-app:")
///     .limits(EventStoreLimits::default())
///     .build()
///     .await?;
/// let layer = SseResumeLayer::builder(store).build();
/// # drop(layer);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisEventStore {
    /// The shared connection, key prefix, command timeout and retry hint.
    redis: RedisConnection,
    blocking: Arc<Blocking>,
    limits: EventStoreLimits,
}

/// Connections for blocking reads: a few idle ones kept, at most `permits`
/// in use at once.
struct Blocking {
    config: AsyncConnectionConfig,
    idle: Mutex<Vec<MultiplexedConnection>>,
    permits: Semaphore,
}

impl fmt::Debug for RedisEventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisEventStore")
            .field("redis", &self.redis)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisEventStore`]; from [`RedisEventStore::builder`].
#[must_use]
pub struct RedisEventStoreBuilder {
    redis: RedisConfig,
    limits: EventStoreLimits,
    max_blocking_connections: usize,
}

impl fmt::Debug for RedisEventStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisEventStoreBuilder")
            .field("redis", &self.redis)
            .field("limits", &self.limits)
            .field("max_blocking_connections", &self.max_blocking_connections)
            .finish_non_exhaustive()
    }
}

impl RedisEventStoreBuilder {
    /// Namespaces every key (default [`DEFAULT_KEY_PREFIX`], `mcp-guard:`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.redis = self.redis.key_prefix(prefix);
        self
    }

    /// The caps (default [`EventStoreLimits::default`]).
    pub fn limits(mut self, limits: EventStoreLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The longest a store call may take, connecting included (default 2 s;
    /// a live-tail wait may take its own timeout on top).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.redis = self.redis.command_timeout(timeout);
        self
    }

    /// The `Retry-After` a failed call suggests to clients (default 2 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.redis = self.redis.retry_after(retry_after);
        self
    }

    /// Live-tail waits blocking in Redis at once, each on its own connection
    /// (default 256). A waiter beyond them waits for a free one, within its
    /// timeout.
    pub fn max_blocking_connections(mut self, max: usize) -> Self {
        self.max_blocking_connections = max.max(1);
        self
    }

    /// Connects (within the command timeout) and returns the store. Fails if
    /// the URL is invalid, the [limits](Self::limits) cannot be kept
    /// ([`EventStoreLimits::validate`], the error names the setting), or
    /// Redis does not answer.
    pub async fn build(self) -> Result<RedisEventStore, StoreError> {
        self.limits
            .validate()
            .map_err(|error| self.redis.failure(error.to_string()))?;
        let redis = self.redis.connect().await?;
        // Blocking reads are bounded by our own timeout (block + command
        // timeout), not the client's default response timeout.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(redis.connect_timeout()))
            .set_response_timeout(None);
        Ok(RedisEventStore {
            redis,
            blocking: Arc::new(Blocking {
                config,
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(self.max_blocking_connections),
            }),
            limits: self.limits,
        })
    }
}

/// Helpers every script starts with. ARGV[1] is the key prefix, ARGV[2] the
/// session (base64url), ARGV[3] the stream id, ARGV[4] the TTL in ms.
const PRELUDE: &str = r"
local P, S, T, TTL = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local BYTES, SIZES, ACTIVE = P .. 'es-bytes', P .. 'es-sizes', P .. 'es-active'
local OWNERS, OWNER_BYTES = P .. 'es-owners', P .. 'es-owner-bytes'
local function skey(s) return P .. 'es:' .. s end
local function okey(s) return P .. 'es:' .. s .. ':order' end
local function tkey(s, t) return P .. 'es:' .. s .. ':' .. t end
local function wkey(w) return P .. 'es-owner:' .. w end
local function split(m)
  local i = string.find(m, ':', 1, true)
  return string.sub(m, 1, i - 1), string.sub(m, i + 1)
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function entry_bytes(entry)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'n' then return tonumber(fields[i + 1]) end
  end
  return 0
end
local function owner_add(w, n)
  if redis.call('HINCRBY', OWNER_BYTES, w, n) <= 0 then redis.call('HDEL', OWNER_BYTES, w) end
end
-- Byte counts go down by `0 - n`, never `-n`: for n = 0 that is -0, which
-- reaches Redis as the argument '-0', not an integer to HINCRBY.
-- Forgets one stream entirely: its events, its fields, its bytes.
local function drop_stream(s, t)
  local m = s .. ':' .. t
  local b = tonumber(redis.call('HGET', SIZES, m) or '0')
  local w = redis.call('HGET', OWNERS, m)
  redis.call('HDEL', SIZES, m)
  redis.call('ZREM', ACTIVE, m)
  redis.call('DECRBY', BYTES, b)
  if w then
    redis.call('HDEL', OWNERS, m)
    redis.call('ZREM', wkey(w), m)
    owner_add(w, 0 - b)
  end
  local h = skey(s)
  if redis.call('HEXISTS', h, 'q:' .. t) == 1 then
    redis.call('HINCRBY', h, 'bytes', 0 - b)
    redis.call('HDEL', h, 'q:' .. t, 'a:' .. t, 'c:' .. t, 'l:' .. t)
  end
  redis.call('ZREM', okey(s), t)
  redis.call('DEL', tkey(s, t))
end
-- Drops a few streams idle past the TTL (their keys may be gone already).
local function sweep(now)
  local old = redis.call('ZRANGEBYSCORE', ACTIVE, '-inf', now - TTL, 'LIMIT', 0, 64)
  for _, m in ipairs(old) do drop_stream(split(m)) end
end
-- The stream's {last seq, last activity, closed-at} if it is live.
local function live(now)
  local f = redis.call('HMGET', skey(S), 'q:' .. T, 'a:' .. T, 'c:' .. T)
  if not f[1] then return nil end
  if tonumber(f[2]) + TTL <= now then
    drop_stream(S, T)
    return nil
  end
  return f
end
-- Removes the oldest entry of a stream, and its bytes from every count.
local function pop_oldest(s, t)
  local k, m = tkey(s, t), s .. ':' .. t
  local e = redis.call('XRANGE', k, '-', '+', 'COUNT', 1)
  if #e == 0 then return end
  redis.call('XDEL', k, e[1][1])
  local n = entry_bytes(e[1])
  redis.call('HINCRBY', SIZES, m, 0 - n)
  redis.call('DECRBY', BYTES, n)
  redis.call('HINCRBY', skey(s), 'bytes', 0 - n)
  local w = redis.call('HGET', OWNERS, m)
  if w then owner_add(w, 0 - n) end
end
-- Evicts the oldest events of `streams` ('s:t', oldest first) while
-- used() > limit; never the event just appended (the last of S:T).
local function trim(streams, used, limit)
  for _, m in ipairs(streams) do
    if used() <= limit then return end
    local s, t = split(m)
    local floor = 0
    if s == S and t == T then floor = 1 end
    while used() > limit and redis.call('XLEN', tkey(s, t)) > floor do
      pop_oldest(s, t)
    end
  end
end
local function refresh(now)
  redis.call('PEXPIRE', skey(S), TTL)
  redis.call('PEXPIRE', okey(S), TTL)
  redis.call('ZADD', ACTIVE, now, S .. ':' .. T)
end
";

/// ARGV[5]: max streams per session, ARGV[6]: the owner (base64url).
/// Returns 1, or 0 if the id is taken.
const OPEN: &str = r"
local now = now_ms()
sweep(now)
local h, o, m = skey(S), okey(S), S .. ':' .. T
if redis.call('HEXISTS', h, 'q:' .. T) == 1 then return 0 end
-- The stream a full session gives up: the oldest closed one nobody reads
-- (or one already gone or expired), else the oldest closed one, else (all
-- still running) the oldest. A running stream's drain would fail to store
-- its next event, and its client would miss the result.
local function give_up()
  local ids = redis.call('ZRANGE', o, 0, -1)
  local victim, best = ids[1], 3
  for _, t in ipairs(ids) do
    local g = redis.call('HMGET', h, 'q:' .. t, 'a:' .. t, 'c:' .. t, 'l:' .. t)
    local rank = 2
    if not (g[1] and g[2]) or tonumber(g[2]) + TTL <= now then
      rank = 0
    elseif g[3] then
      rank = 0
      if g[4] and tonumber(g[4]) > now then rank = 1 end
    end
    if rank < best then victim, best = t, rank end
    if rank == 0 then break end
  end
  return victim
end
local max = tonumber(ARGV[5])
while redis.call('ZCARD', o) >= max do
  drop_stream(S, give_up())
end
local n = redis.call('HINCRBY', h, 'n', 1)
redis.call('ZADD', o, n, T)
redis.call('HSET', h, 'q:' .. T, 0, 'a:' .. T, now)
redis.call('HSETNX', h, 'bytes', 0)
redis.call('HSET', SIZES, m, 0)
redis.call('HSET', OWNERS, m, ARGV[6])
redis.call('ZADD', wkey(ARGV[6]), now, m)
refresh(now)
return 1
";

/// ARGV[5]: the lease in ms. Returns 1, or 0 if the stream is gone.
const ATTACH: &str = r"
local now = now_ms()
if not live(now) then return 0 end
local h, till = skey(S), now + tonumber(ARGV[5])
if till > tonumber(redis.call('HGET', h, 'l:' .. T) or '0') then
  redis.call('HSET', h, 'l:' .. T, till)
end
return 1
";

/// Ends the stream's reader lease. Returns 1, or 0 if the stream is gone.
const DETACH: &str = r"
local now = now_ms()
if not live(now) then return 0 end
redis.call('HDEL', skey(S), 'l:' .. T)
return 1
";

/// ARGV[5..9]: max events per stream, max bytes per session, per principal
/// and overall, the event's bytes; ARGV[10..]: the entry's field/value pairs.
/// Returns the sequence, or -1 if the stream is gone.
const APPEND: &str = r"
local now = now_ms()
sweep(now)
local f = live(now)
if not f then return -1 end
local h, k, m = skey(S), tkey(S, T), S .. ':' .. T
local W = redis.call('HGET', OWNERS, m) or ''
local max_events, max_session, max_principal, max_total, size =
  tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
-- Appending to a closed stream: its close marker no longer marks the end.
if f[3] then redis.call('XDEL', k, f[3] .. '-1') end
local seq = tonumber(f[1]) + 1
local fields = {'n', size}
for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', k, seq .. '-0', unpack(fields))
redis.call('HSET', h, 'q:' .. T, seq, 'a:' .. T, now)
redis.call('HINCRBY', h, 'bytes', size)
redis.call('HINCRBY', SIZES, m, size)
redis.call('INCRBY', BYTES, size)
owner_add(W, size)
redis.call('PEXPIRE', k, TTL)
refresh(now)
-- Events per stream, exactly.
while redis.call('XLEN', k) > max_events do pop_oldest(S, T) end
-- Room comes from the appender's own data first: its session's oldest
-- streams, then its oldest streams in any session (its budget). Each list
-- is fetched only when over its cap.
local function session_bytes() return tonumber(redis.call('HGET', h, 'bytes') or '0') end
if session_bytes() > max_session then
  local session = {}
  for i, t in ipairs(redis.call('ZRANGE', okey(S), 0, -1)) do session[i] = S .. ':' .. t end
  trim(session, session_bytes, max_session)
end
local function owner_bytes() return tonumber(redis.call('HGET', OWNER_BYTES, W) or '0') end
if owner_bytes() > max_principal then
  trim(redis.call('ZRANGE', wkey(W), 0, -1), owner_bytes, max_principal)
end
-- Bytes overall: unprotected streams only (closed, no reader attached),
-- the appender's own first, then the ones idle longest (among the first
-- 1024); failing those, the appender's own oldest events.
local function total() return tonumber(redis.call('GET', BYTES) or '0') end
if total() <= max_total then return seq end
local function unprotected(member)
  if member == m then return false end
  local s, t = split(member)
  local g = redis.call('HMGET', skey(s), 'c:' .. t, 'l:' .. t)
  return g[1] and not (g[2] and tonumber(g[2]) > now)
end
for _, member in ipairs(redis.call('ZRANGE', wkey(W), 0, -1)) do
  if total() <= max_total then break end
  if unprotected(member) then drop_stream(split(member)) end
end
local kept = 0
while total() > max_total and kept < 1024 do
  local batch = redis.call('ZRANGE', ACTIVE, kept, kept + 63)
  if #batch == 0 then break end
  for _, member in ipairs(batch) do
    if total() <= max_total then break end
    if unprotected(member) then drop_stream(split(member)) else kept = kept + 1 end
  end
end
if total() > max_total then trim(redis.call('ZRANGE', wkey(W), 0, -1), total, max_total) end
return seq
";

/// Marks the stream closed and appends the close marker that wakes waiters.
const CLOSE: &str = r"
local now = now_ms()
local f = live(now)
if not f then return 0 end
if f[3] == f[1] then return 1 end
local k = tkey(S, T)
redis.call('HSET', skey(S), 'c:' .. T, f[1], 'a:' .. T, now)
redis.call('XADD', k, f[1] .. '-1', 'x', '1')
redis.call('PEXPIRE', k, TTL)
refresh(now)
return 1
";

/// Drops every stream of the session.
const PURGE: &str = r"
for _, t in ipairs(redis.call('ZRANGE', okey(S), 0, -1)) do
  drop_stream(S, t)
end
redis.call('DEL', skey(S), okey(S))
return 1
";

struct Scripts {
    open: Script,
    attach: Script,
    detach: Script,
    append: Script,
    close: Script,
    purge: Script,
}

fn scripts() -> &'static Scripts {
    static SCRIPTS: std::sync::OnceLock<Scripts> = std::sync::OnceLock::new();
    SCRIPTS.get_or_init(|| Scripts {
        open: Script::new(&format!("{PRELUDE}{OPEN}")),
        attach: Script::new(&format!("{PRELUDE}{ATTACH}")),
        detach: Script::new(&format!("{PRELUDE}{DETACH}")),
        append: Script::new(&format!("{PRELUDE}{APPEND}")),
        close: Script::new(&format!("{PRELUDE}{CLOSE}")),
        purge: Script::new(&format!("{PRELUDE}{PURGE}")),
    })
}

/// What the read pipeline found about a stream.
struct Head {
    last: u64,
    closed: bool,
}

impl RedisEventStore {
    /// A builder for a store on the Redis at `connection`: a URL such as
    /// `redis://127.0.0.1:6379/`, or anything else the `redis` crate's
    /// [`IntoConnectionInfo`] accepts.
    pub fn builder(connection: impl IntoConnectionInfo) -> RedisEventStoreBuilder {
        RedisEventStoreBuilder {
            redis: RedisConfig::new(connection),
            limits: EventStoreLimits::default(),
            max_blocking_connections: 256,
        }
    }

    /// Connects to `url` with the defaults: shorthand for
    /// `RedisEventStore::builder(url).build().await`.
    pub async fn connect(url: &str) -> Result<RedisEventStore, StoreError> {
        RedisEventStore::builder(url).build().await
    }

    /// Another store on the same connections under another key prefix: its
    /// streams are apart from this one's.
    pub fn with_key_prefix(&self, prefix: impl Into<String>) -> RedisEventStore {
        RedisEventStore {
            redis: self.redis.with_key_prefix(prefix),
            ..self.clone()
        }
    }

    /// The same store (same keys, same connections) enforcing other caps;
    /// refuses caps it could not keep ([`EventStoreLimits::validate`]).
    pub fn with_limits(
        &self,
        limits: EventStoreLimits,
    ) -> Result<RedisEventStore, EventStoreLimitsConfigError> {
        limits.validate()?;
        Ok(RedisEventStore {
            limits,
            ..self.clone()
        })
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.redis.key_prefix()
    }

    /// The caps this store enforces.
    pub fn limits(&self) -> EventStoreLimits {
        self.limits
    }

    /// Bytes of event data kept overall (under this key prefix).
    pub async fn stored_bytes(&self) -> Result<u64, StoreError> {
        let mut connection = self.redis.manager();
        let key = self.redis.key("es-bytes");
        let bytes: Option<i64> = self
            .redis
            .bounded(async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Ok(bytes.map_or(0, |bytes| u64::try_from(bytes).unwrap_or(0)))
    }

    fn session_part(session: &str) -> String {
        URL_SAFE_NO_PAD.encode(session)
    }

    fn stream_key(&self, key: &StreamKey) -> String {
        self.redis.key(&format!(
            "es:{}:{}",
            Self::session_part(&key.session),
            key.stream
        ))
    }

    /// A script call with the common arguments (prefix, session, stream, TTL).
    fn invocation<'a>(
        &self,
        script: &'a Script,
        session: &str,
        stream: &str,
    ) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation
            .arg(self.redis.key_prefix())
            .arg(Self::session_part(session))
            .arg(stream)
            .arg(ttl_ms(self.limits.ttl));
        invocation
    }

    /// The stream's head (last sequence, closed), or `None` if it is gone.
    /// With `after`, also up to `count` entries after event `after`.
    async fn read(
        &self,
        key: &StreamKey,
        after: Option<(u64, usize)>,
    ) -> Result<(Option<Head>, Value), StoreError> {
        let session_key = self
            .redis
            .key(&format!("es:{}", Self::session_part(&key.session)));
        let stream = key.stream.as_str();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("TIME")
            .cmd("HMGET")
            .arg(&session_key)
            .arg(format!("q:{stream}"))
            .arg(format!("a:{stream}"))
            .arg(format!("c:{stream}"));
        if let Some((after, count)) = after {
            let count = i64::try_from(count.max(1)).unwrap_or(i64::MAX);
            pipe.cmd("XRANGE")
                .arg(self.stream_key(key))
                .arg(format!("({after}-0"))
                .arg("+")
                .arg("COUNT")
                .arg(count);
        }
        let mut connection = self.redis.manager();
        let mut replies: Vec<Value> = self
            .redis
            .bounded(async move { pipe.query_async(&mut connection).await })
            .await?;
        let entries = if after.is_some() {
            replies.pop().unwrap_or(Value::Nil)
        } else {
            Value::Nil
        };
        let (Some(fields), Some(time)) = (replies.pop(), replies.pop()) else {
            return Err(self
                .redis
                .failure("redis: a short reply to a read".to_owned()));
        };
        let (seconds, micros): (u64, u64) = redis::from_redis_value(time)
            .map_err(|error| self.redis.failure(format!("redis: TIME: {error}")))?;
        let now = seconds * 1000 + micros / 1000;
        let (last, activity, closed): (Option<u64>, Option<u64>, Option<u64>) =
            redis::from_redis_value(fields).map_err(|error| {
                self.redis
                    .failure(format!("redis: a stream's fields: {error}"))
            })?;
        let (Some(last), Some(activity)) = (last, activity) else {
            return Ok((None, entries));
        };
        if activity.saturating_add(ttl_ms(self.limits.ttl)) <= now {
            return Ok((None, entries));
        }
        Ok((
            Some(Head {
                last,
                closed: closed.is_some(),
            }),
            entries,
        ))
    }

    fn take_idle(&self) -> Option<MultiplexedConnection> {
        lock(&self.blocking.idle).pop()
    }

    fn give_back(&self, connection: MultiplexedConnection) {
        let mut idle = lock(&self.blocking.idle);
        if idle.len() < IDLE_BLOCKING_CONNECTIONS {
            idle.push(connection);
        }
    }

    /// One `XREAD BLOCK` of at most `block` on a connection of its own.
    /// Returns whether something arrived. A wait dropped mid-block drops its
    /// connection (Redis unblocks it when the socket closes).
    async fn block_once(
        &self,
        stream_key: &str,
        after: u64,
        block: Duration,
    ) -> Result<bool, StoreError> {
        let millis = u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("XREAD");
        command
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(millis)
            .arg("STREAMS")
            .arg(stream_key)
            .arg(format!("{after}-0"));
        let limit = block + self.redis.command_timeout();
        if let Some(mut pooled) = self.take_idle() {
            match tokio::time::timeout(limit, command.query_async::<Value>(&mut pooled)).await {
                Ok(Ok(reply)) => {
                    self.give_back(pooled);
                    return Ok(!matches!(reply, Value::Nil));
                }
                // An idle connection whose socket died (Redis restarted, the
                // network cut) is dropped, and the wait tried on a fresh one.
                Ok(Err(error)) if error.is_unrecoverable_error() || error.is_io_error() => {
                    tracing::debug!(%error, "a pooled blocking connection is dead; connecting a fresh one");
                }
                Ok(Err(error)) => {
                    return Err(self.redis.failure(format!("redis: {error}")));
                }
                Err(_) => {
                    return Err(self
                        .redis
                        .failure(format!("redis did not answer within {limit:?}")));
                }
            }
        }
        let (client, config) = (self.redis.client().clone(), &self.blocking.config);
        let mut fresh = self
            .redis
            .bounded(async move {
                client
                    .get_multiplexed_async_connection_with_config(config)
                    .await
            })
            .await?;
        let reply: Value = self
            .redis
            .bounded_for(limit, command.query_async(&mut fresh))
            .await?;
        self.give_back(fresh);
        Ok(!matches!(reply, Value::Nil))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `n-0` is event `n`; `n-1` is the close marker after event `n`.
fn parse_entry_id(id: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(id).ok()?;
    let (ms, seq) = text.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

/// The events of an `XRANGE` reply, close markers left out.
fn parse_entries(reply: Value) -> Option<Vec<(u64, SseEvent)>> {
    let Value::Array(entries) = reply else {
        return matches!(reply, Value::Nil).then(Vec::new);
    };
    let mut events = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Array(parts) = entry else {
            return None;
        };
        let [Value::BulkString(id), Value::Array(fields)] = parts.as_slice() else {
            return None;
        };
        let (seq, marker) = parse_entry_id(id)?;
        if marker != 0 {
            continue;
        }
        let mut event = SseEvent::default();
        for pair in fields.chunks(2) {
            let [name, value] = pair else {
                return None;
            };
            match name {
                Value::BulkString(name) if name == b"d" => event.data = text(value)?,
                Value::BulkString(name) if name == b"e" => event.event = Some(text(value)?),
                Value::BulkString(name) if name == b"r" => {
                    event.retry = Some(text(value)?.parse().ok()?);
                }
                _ => {}
            }
        }
        events.push((seq, event));
    }
    Some(events)
}

impl EventStore for RedisEventStore {
    async fn open_stream(&self, session: &str, owner: &str) -> Result<StreamId, StoreError> {
        let owner = URL_SAFE_NO_PAD.encode(owner);
        // 72 random bits: a collision is all but impossible, but retried.
        for _ in 0..4 {
            let stream = StreamId::generate().map_err(|error| {
                self.redis
                    .failure(format!("no randomness for a stream id: {error}"))
            })?;
            let mut invocation = self.invocation(&scripts().open, session, stream.as_str());
            invocation
                .arg(self.limits.max_streams_per_session.max(1))
                .arg(&owner);
            let opened: i64 = self.redis.run_script(&invocation).await?;
            if opened == 1 {
                return Ok(stream);
            }
        }
        Err(self
            .redis
            .failure("four random stream ids in a row were taken".to_owned()))
    }

    async fn attach(&self, key: &StreamKey, lease: Duration) -> Result<(), StoreError> {
        let mut invocation = self.invocation(&scripts().attach, &key.session, key.stream.as_str());
        invocation.arg(
            u64::try_from(lease.as_millis())
                .unwrap_or(u64::MAX)
                .min(1 << 46),
        );
        let _: i64 = self.redis.run_script(&invocation).await?;
        Ok(())
    }

    async fn detach(&self, key: &StreamKey) -> Result<(), StoreError> {
        let invocation = self.invocation(&scripts().detach, &key.session, key.stream.as_str());
        let _: i64 = self.redis.run_script(&invocation).await?;
        Ok(())
    }

    async fn append(&self, key: &StreamKey, event: SseEvent) -> Result<u64, StoreError> {
        let limits = self.limits;
        let mut invocation = self.invocation(&scripts().append, &key.session, key.stream.as_str());
        invocation
            .arg(limits.max_events_per_stream.max(1))
            .arg(limits.max_bytes_per_session)
            .arg(limits.max_bytes_per_principal)
            .arg(limits.max_total_bytes)
            .arg(event_bytes(&event))
            .arg("d")
            .arg(&event.data);
        if let Some(name) = &event.event {
            invocation.arg("e").arg(name);
        }
        if let Some(retry) = event.retry {
            invocation.arg("r").arg(retry);
        }
        let seq: i64 = self.redis.run_script(&invocation).await?;
        u64::try_from(seq).map_err(|_| self.redis.failure(gone_message(key)))
    }

    async fn close_stream(&self, key: &StreamKey) -> Result<(), StoreError> {
        let invocation = self.invocation(&scripts().close, &key.session, key.stream.as_str());
        let _: i64 = self.redis.run_script(&invocation).await?;
        Ok(())
    }

    async fn read_after(
        &self,
        key: &StreamKey,
        after: u64,
        max: usize,
    ) -> Result<Replay, StoreError> {
        let (head, entries) = self.read(key, Some((after, max))).await?;
        let Some(head) = head else {
            return Ok(Replay::Unknown);
        };
        if after > head.last {
            return Ok(Replay::Unknown);
        }
        let events = parse_entries(entries).ok_or_else(|| {
            self.redis
                .failure("redis: an unreadable stream entry".to_owned())
        })?;
        // The range read starts at the oldest kept event after the cursor.
        let first_kept = events.first().map_or(head.last + 1, |(seq, _)| *seq);
        let tail = StreamTail {
            last: head.last,
            first_kept,
            closed: head.closed,
        };
        Ok(tail.replay_after(after, events, max))
    }

    async fn wait_after(
        &self,
        key: &StreamKey,
        after: u64,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let deadline = Instant::now() + timeout;
        let stream_key = self.stream_key(key);
        loop {
            let (head, _) = self.read(key, None).await?;
            match head {
                Some(head) if head.last <= after && !head.closed => {}
                // Something new, closed, or gone: the caller reads again.
                _ => return Ok(()),
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(());
            }
            let Ok(permit) = tokio::time::timeout(remaining, self.blocking.permits.acquire()).await
            else {
                return Ok(());
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(());
            }
            let woke = self
                .block_once(&stream_key, after, remaining.min(BLOCK_SLICE))
                .await?;
            drop(permit);
            if woke {
                return Ok(());
            }
        }
    }

    async fn purge_session(&self, session: &str) -> Result<(), StoreError> {
        let invocation = self.invocation(&scripts().purge, session, "");
        let _: i64 = self.redis.run_script(&invocation).await?;
        Ok(())
    }
}
