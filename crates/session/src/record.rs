use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_guard_core::{Owner, ProtocolVersion, SessionContext};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SessionId;

/// At most this many keys in a session's state.
pub const MAX_STATE_KEYS: usize = 64;
/// At most this many bytes of serialized state per session.
pub const MAX_STATE_BYTES: usize = 64 * 1024;

/// Milliseconds since the Unix epoch: how records keep time, so a network
/// store can keep them too.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What a store keeps for one session.
///
/// Stored as JSON by network stores; the owner's field keeps its earlier name
/// (`binding`) and the version is stored as its text, so records written by
/// earlier releases stay readable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    id: SessionId,
    #[serde(rename = "binding")]
    owner: Owner,
    #[serde(with = "version_text")]
    protocol_version: Option<ProtocolVersion>,
    created_at: u64,
    last_seen_at: u64,
    idle_timeout_ms: u64,
    max_lifetime_ms: u64,
    state: Map<String, Value>,
}

impl SessionRecord {
    /// A record created now, expiring after `idle_timeout` without requests or
    /// `max_lifetime` after creation, whichever comes first.
    pub fn new(
        id: SessionId,
        owner: Owner,
        protocol_version: Option<ProtocolVersion>,
        idle_timeout: Duration,
        max_lifetime: Duration,
    ) -> SessionRecord {
        let now = now_millis();
        SessionRecord {
            id,
            owner,
            protocol_version,
            created_at: now,
            last_seen_at: now,
            idle_timeout_ms: millis(idle_timeout),
            max_lifetime_ms: millis(max_lifetime),
            state: Map::new(),
        }
    }

    /// The session id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// Who the session belongs to.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The protocol version the initialize response negotiated (`None` when
    /// it named none this build knows).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.protocol_version
    }

    /// Creation time, ms since the epoch.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// Last request time, ms since the epoch (updated at most every touch interval).
    pub fn last_seen_at(&self) -> u64 {
        self.last_seen_at
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// The absolute lifetime.
    pub fn max_lifetime(&self) -> Duration {
        Duration::from_millis(self.max_lifetime_ms)
    }

    /// The handler's key-value state.
    pub fn state(&self) -> &Map<String, Value> {
        &self.state
    }

    /// When the record expires, ms since the epoch, as things stand.
    pub fn expires_at(&self) -> u64 {
        let idle_end = self.last_seen_at.saturating_add(self.idle_timeout_ms);
        let life_end = self.created_at.saturating_add(self.max_lifetime_ms);
        idle_end.min(life_end)
    }

    /// Whether the record has expired at `now` (ms since the epoch).
    pub fn is_expired_at(&self, now: u64) -> bool {
        now >= self.expires_at()
    }

    /// Records a request seen at `at`.
    pub fn touch(&mut self, at: u64) {
        self.last_seen_at = self.last_seen_at.max(at);
    }

    /// Applies the handler's state changes.
    pub fn apply(&mut self, changes: &StateChanges) {
        for (key, value) in &changes.0 {
            match value {
                Some(value) => {
                    self.state.insert(key.clone(), value.clone());
                }
                None => {
                    self.state.remove(key);
                }
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The negotiated version as a record stores it: its text. This is where a
/// stored version is parsed, once, when a store reads the record back; a
/// text this build does not know reads as `None` (no version to hold the
/// session's requests to), not as an unreadable record.
mod version_text {
    use mcp_guard_core::ProtocolVersion;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        version: &Option<ProtocolVersion>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match version {
            Some(version) => serializer.serialize_some(version.as_str()),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<ProtocolVersion>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        Ok(text.and_then(|text| text.parse().ok()))
    }
}

/// State writes a handler made during one request: key → new value, or `None`
/// for a removal. The layer hands them to the store when the response arrives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateChanges(pub(crate) Vec<(String, Option<Value>)>);

impl StateChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The changes, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&Value>)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_ref()))
    }
}

/// The session of the current request, in the request's extensions: its id,
/// owner and times, and a small typed key-value state the handler may use.
///
/// Read it with [`Session::from_extensions`]. Layers inside the session
/// layer need not depend on this crate: what they need is the request's
/// [`SessionContext`] (id, negotiated version, owner), which carries the
/// session.
///
/// State writes are saved to the store when the handler's response (its
/// headers) arrives; writes made later, while a stream is running, are not.
#[derive(Debug, Clone)]
pub struct Session {
    // One allocation per request: the stored record is shared, not copied,
    // and the state is copied only when the handler first writes it.
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    record: Arc<SessionRecord>,
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    /// The state as the handler changed it; `None` until its first change
    /// (reads see the record's state until then).
    state: Option<Map<String, Value>>,
    changes: Vec<(String, Option<Value>)>,
}

impl Pending {
    /// The state as it stands, the record's until the first change.
    fn state<'a>(&'a self, record: &'a SessionRecord) -> &'a Map<String, Value> {
        self.state.as_ref().unwrap_or(&record.state)
    }

    /// The state to change: the record's, copied on the first change.
    fn state_mut(&mut self, record: &SessionRecord) -> &mut Map<String, Value> {
        self.state.get_or_insert_with(|| record.state.clone())
    }
}

/// A state write the session refused.
#[derive(Debug)]
pub enum StateError {
    /// The value could not be serialized.
    Serialize(serde_json::Error),
    /// More than [`MAX_STATE_KEYS`] keys or [`MAX_STATE_BYTES`] bytes.
    TooLarge,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Serialize(error) => {
                write!(f, "session state value does not serialize: {error}")
            }
            StateError::TooLarge => write!(
                f,
                "session state is limited to {MAX_STATE_KEYS} keys and {MAX_STATE_BYTES} bytes"
            ),
        }
    }
}

impl std::error::Error for StateError {}

impl Session {
    pub(crate) fn new(record: Arc<SessionRecord>) -> Session {
        Session {
            inner: Arc::new(Inner {
                record,
                pending: Mutex::new(Pending::default()),
            }),
        }
    }

    /// The session id.
    pub fn id(&self) -> &SessionId {
        self.inner.record.id()
    }

    /// Who the session belongs to.
    pub fn owner(&self) -> &Owner {
        self.inner.record.owner()
    }

    /// The protocol version negotiated at initialize (`None` when it named
    /// none this build knows).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.inner.record.protocol_version()
    }

    /// Creation time, ms since the epoch.
    pub fn created_at(&self) -> u64 {
        self.inner.record.created_at()
    }

    /// Last request time, ms since the epoch.
    pub fn last_seen_at(&self) -> u64 {
        self.inner.record.last_seen_at()
    }

    /// Reads a state value; `None` if absent or of another shape.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let pending = self.lock();
        pending
            .state(&self.inner.record)
            .get(key)
            .and_then(|value| T::deserialize(value).ok())
    }

    /// Writes a state value (saved when the response arrives).
    pub fn set<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StateError> {
        let value = serde_json::to_value(value).map_err(StateError::Serialize)?;
        let mut pending = self.lock();
        let mut next = pending.state(&self.inner.record).clone();
        next.insert(key.to_owned(), value.clone());
        let size = serde_json::to_vec(&next)
            .map(|bytes| bytes.len())
            .unwrap_or(usize::MAX);
        if next.len() > MAX_STATE_KEYS || size > MAX_STATE_BYTES {
            return Err(StateError::TooLarge);
        }
        pending.state = Some(next);
        pending.changes.push((key.to_owned(), Some(value)));
        Ok(())
    }

    /// Removes a state value (saved when the response arrives).
    pub fn remove(&self, key: &str) {
        let mut pending = self.lock();
        if pending.state_mut(&self.inner.record).remove(key).is_some() {
            pending.changes.push((key.to_owned(), None));
        }
    }

    /// What inner layers learn of this session: id, negotiated version (the
    /// one assumed when absent if the handler named none this build knows),
    /// owner. The session travels as the context's handle: one extension
    /// for both.
    pub(crate) fn context(&self) -> SessionContext {
        SessionContext::new(
            self.id().shared(),
            self.protocol_version()
                .unwrap_or(ProtocolVersion::ASSUMED_WHEN_ABSENT),
            self.owner().clone(),
        )
        .with_handle(self.inner.clone())
    }

    /// The session of the request these extensions belong to, if the session
    /// layer put one there (a live legacy-era session); a clone shares the
    /// session, and state written through it is saved when the response
    /// arrives.
    ///
    /// It travels inside the core's [`SessionContext`], not as an extension
    /// of its own: one box per request instead of two.
    ///
    /// ```
    /// use mcp_session::Session;
    ///
    /// // rmcp: `Extension(parts): Extension<http::request::Parts>` in a tool.
    /// let parts = http::Request::post("/mcp").body(()).unwrap().into_parts().0;
    /// // Outside a live session, there is none.
    /// assert!(Session::from_extensions(&parts.extensions).is_none());
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Option<Session> {
        let inner = extensions.get::<SessionContext>()?.handle::<Inner>()?;
        Some(Session { inner })
    }

    pub(crate) fn take_changes(&self) -> StateChanges {
        StateChanges(std::mem::take(&mut self.lock().changes))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as earlier releases stored it (the owner under `binding`, the
    /// version as text) reads back, and is written back the same way.
    #[test]
    fn stored_records_keep_their_shape() {
        let stored = r#"{"id":"abcdefghijklmnopqrstuvwxyz012345","binding":{"issuer":"https://issuer.test","subject":"alice","client_id":null},"protocol_version":"2025-11-25","created_at":1,"last_seen_at":2,"idle_timeout_ms":3,"max_lifetime_ms":4,"state":{"calls":3}}"#;
        let record: SessionRecord = serde_json::from_str(stored).unwrap();
        assert_eq!(record.owner().issuer(), Some("https://issuer.test"));
        assert_eq!(record.owner().subject(), Some("alice"));
        assert_eq!(record.owner().client_id(), None);
        assert_eq!(
            record.protocol_version(),
            Some(ProtocolVersion::V2025_11_25)
        );
        assert_eq!(serde_json::to_string(&record).unwrap(), stored);

        let unknown = stored.replace("2025-11-25", "2099-01-01");
        let record: SessionRecord = serde_json::from_str(&unknown).unwrap();
        assert_eq!(
            record.protocol_version(),
            None,
            "unknown text reads as None"
        );
    }
}
