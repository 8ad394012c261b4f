use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One stream of a session (a POST's response stream, or the GET stream):
/// 72 random bits, base64url.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(String);

impl StreamId {
    /// A fresh stream id from the OS CSPRNG.
    pub fn generate() -> Result<StreamId, getrandom::Error> {
        let mut bytes = [0u8; 9];
        getrandom::fill(&mut bytes)?;
        Ok(StreamId(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parse(text: &str) -> Option<StreamId> {
        let valid = (1..=32).contains(&text.len())
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        valid.then(|| StreamId(text.to_owned()))
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An event id the layer assigns: `<stream>-<seq>`, unique across all streams
/// of a session (stream ids are random) and naming its stream. Sequence `0` is
/// the stream's priming event; stored events count from `1`.
///
/// ```
/// use mcp_sse_resume::EventId;
///
/// let id: EventId = "q3Zk1aZ0Pw8f-42".parse().unwrap();
/// assert_eq!(id.seq(), 42);
/// assert_eq!(id.stream().as_str(), "q3Zk1aZ0Pw8f");
/// assert_eq!(id.to_string(), "q3Zk1aZ0Pw8f-42");
/// assert!("no-sequence-".parse::<EventId>().is_err());
/// assert!("x-+1".parse::<EventId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId {
    stream: StreamId,
    seq: u64,
}

/// A `Last-Event-ID` that is not one of this layer's event ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidEventId;

impl fmt::Display for InvalidEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an event id of this server (<stream>-<sequence>)")
    }
}

impl std::error::Error for InvalidEventId {}

impl EventId {
    /// The id of event `seq` of `stream`.
    pub fn new(stream: StreamId, seq: u64) -> Self {
        EventId { stream, seq }
    }

    /// The stream.
    pub fn stream(&self) -> &StreamId {
        &self.stream
    }

    /// The position in the stream.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.stream, self.seq)
    }
}

impl FromStr for EventId {
    type Err = InvalidEventId;

    fn from_str(text: &str) -> Result<Self, InvalidEventId> {
        let (stream, seq) = text.rsplit_once('-').ok_or(InvalidEventId)?;
        let digits =
            !seq.is_empty() && seq.len() <= 20 && seq.bytes().all(|byte| byte.is_ascii_digit());
        if !digits {
            return Err(InvalidEventId);
        }
        let seq = seq.parse().map_err(|_| InvalidEventId)?;
        let stream = StreamId::parse(stream).ok_or(InvalidEventId)?;
        Ok(EventId { stream, seq })
    }
}
