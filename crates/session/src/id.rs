use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Random bytes in a minted id: 192 bits from the OS CSPRNG.
const RANDOM_BYTES: usize = 24;

/// The default longest `Mcp-Session-Id` accepted; longer ones get `400`
/// without a store lookup.
pub const DEFAULT_MAX_SESSION_ID_LEN: usize = 128;

/// An `Mcp-Session-Id`: visible ASCII (0x21–0x7E) only, as the spec requires.
///
/// ```
/// use mcp_session::SessionId;
///
/// let minted = SessionId::generate().unwrap();
/// assert_eq!(minted.as_str().len(), 32); // 192 random bits, base64url
/// assert!(SessionId::parse(b"a b", 128).is_err()); // space is not visible ASCII
/// assert!(SessionId::parse(&[b'x'; 129], 128).is_err());
/// ```
///
/// Cloning is a reference count: the record, the [`Session`](crate::Session)
/// and the core's [`SessionContext`](mcp_guard_core::SessionContext) of a
/// request share one id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Arc<str>);

/// Why a value is not a session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidSessionId {
    /// Empty.
    Empty,
    /// Longer than the configured limit.
    TooLong,
    /// A byte outside visible ASCII (0x21–0x7E).
    InvalidCharacter,
}

impl fmt::Display for InvalidSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidSessionId::Empty => "it is empty",
            InvalidSessionId::TooLong => "it is longer than this server accepts",
            InvalidSessionId::InvalidCharacter => {
                "it holds a character outside visible ASCII (0x21-0x7E)"
            }
        })
    }
}

impl std::error::Error for InvalidSessionId {}

impl SessionId {
    /// Mints a new id from the operating system's CSPRNG.
    pub fn generate() -> Result<SessionId, getrandom::Error> {
        let mut bytes = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(SessionId(URL_SAFE_NO_PAD.encode(bytes).into()))
    }

    /// Validates an id a client or handler sent.
    pub fn parse(value: &[u8], max_len: usize) -> Result<SessionId, InvalidSessionId> {
        SessionId::validate(value, max_len).map(|id| SessionId(id.into()))
    }

    /// An id [`validate`](Self::validate) accepted, owned.
    pub(crate) fn from_valid(id: &str) -> SessionId {
        SessionId(id.into())
    }

    /// Validates an id without copying it: the session layer looks a
    /// request's id up borrowed from its header (see
    /// [`SessionStore::load_now`](crate::store::SessionStore::load_now)).
    pub(crate) fn validate(value: &[u8], max_len: usize) -> Result<&str, InvalidSessionId> {
        if value.is_empty() {
            return Err(InvalidSessionId::Empty);
        }
        if value.len() > max_len {
            return Err(InvalidSessionId::TooLong);
        }
        if !value.iter().all(|byte| (0x21..=0x7e).contains(byte)) {
            return Err(InvalidSessionId::InvalidCharacter);
        }
        // Visible ASCII is valid UTF-8, so this never fails.
        std::str::from_utf8(value).map_err(|_| InvalidSessionId::InvalidCharacter)
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a shared string (a reference count, no copy).
    pub(crate) fn shared(&self) -> Arc<str> {
        self.0.clone()
    }
}

/// A store keyed by [`SessionId`] can be asked with the id's text (hash,
/// equality and order are those of the text).
impl Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    // Ids are bearer-like secrets for their session: never print one whole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(6).collect();
        write!(f, "SessionId({shown}…)")
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SessionId::parse(text.as_bytes(), usize::MAX).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_visible_ascii_and_distinct() {
        let ids: std::collections::HashSet<_> =
            (0..1000).map(|_| SessionId::generate().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert!(SessionId::parse(id.as_str().as_bytes(), DEFAULT_MAX_SESSION_ID_LEN).is_ok());
        }
    }

    #[test]
    fn bad_ids_are_named() {
        assert_eq!(SessionId::parse(b"", 8), Err(InvalidSessionId::Empty));
        assert_eq!(
            SessionId::parse(b"123456789", 8),
            Err(InvalidSessionId::TooLong)
        );
        for bad in [&b"a\x7f"[..], b"a\x20b", b"\x00", b"caf\xc3\xa9", b"tab\t"] {
            assert_eq!(
                SessionId::parse(bad, 8),
                Err(InvalidSessionId::InvalidCharacter),
                "{bad:?}"
            );
        }
        assert!(SessionId::parse(b"!~", 8).is_ok());
    }

    #[test]
    fn debug_output_does_not_reveal_the_id() {
        let id = SessionId::parse(b"abcdefghijklmnop", 64).unwrap();
        assert_eq!(format!("{id:?}"), "SessionId(abcdef…)");
    }
}
