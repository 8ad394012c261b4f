use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A generator seeded from the OS CSPRNG.
fn seeded() -> Result<StdRng, getrandom::Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    Ok(StdRng::from_seed(seed))
}

/// One stream of a session (a POST's response stream, or the GET stream):
/// 72 random bits, base64url.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Arc<str>);

thread_local! {
    /// Each thread's id generator: ChaCha12 (`StdRng`), seeded from the OS
    /// the first time the thread makes an id and again every
    /// [`IDS_PER_SEED`] ids. One system call per 4 096 streams instead of one
    /// per stream (every POST answered with SSE opens one).
    static IDS: RefCell<Option<(StdRng, u32)>> = const { RefCell::new(None) };
}

/// Ids drawn from one seed before the generator is seeded afresh from the
/// OS: as rand's `ThreadRng` reseeds, so that a generator state that ever
/// leaked tells little of later ids.
const IDS_PER_SEED: u32 = 4096;

impl StreamId {
    /// A fresh stream id from a CSPRNG (ChaCha12, seeded from the OS once
    /// per thread and every 4 096 ids). Fails only when the OS cannot seed
    /// it. (A process that forks must not make ids in the child from a
    /// generator the parent used; this crate never forks.)
    pub fn generate() -> Result<StreamId, getrandom::Error> {
        let mut bytes = [0u8; 9];
        IDS.with_borrow_mut(|ids| {
            let (ids, drawn) = match ids {
                Some((_, drawn)) if *drawn >= IDS_PER_SEED => ids.insert((seeded()?, 0)),
                Some(ids) => ids,
                None => ids.insert((seeded()?, 0)),
            };
            *drawn += 1;
            ids.fill_bytes(&mut bytes);
            Ok::<_, getrandom::Error>(())
        })?;
        // Encoded on the stack, then one shared allocation: every clone of
        // the id (the store's keys, the reader's, the drain's) is a count.
        let mut text = [0u8; 12];
        let id: Arc<str> = match URL_SAFE_NO_PAD.encode_slice(bytes, &mut text) {
            Ok(written) => String::from_utf8_lossy(&text[..written]).into(),
            // Nine bytes always take twelve characters; an id is never
            // empty all the same.
            Err(_) => URL_SAFE_NO_PAD.encode(bytes).into(),
        };
        Ok(StreamId(id))
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
        valid.then(|| StreamId(text.into()))
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_ids_are_distinct_and_read_back_on_every_thread() {
        let per_thread = |_| {
            // Past a reseed (every 4 096 ids) on each thread.
            (0..5_000)
                .map(|_| StreamId::generate().unwrap())
                .collect::<Vec<_>>()
        };
        let ids: Vec<StreamId> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..3).map(|n| scope.spawn(move || per_thread(n))).collect();
            threads
                .into_iter()
                .flat_map(|thread| thread.join().unwrap())
                .collect()
        });
        let distinct: HashSet<&StreamId> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            ids.len(),
            "no id repeats, within or across threads"
        );
        for id in &ids {
            // 72 random bits: 12 base64url characters, an event id's stream part.
            assert_eq!(id.as_str().len(), 12);
            let event: EventId = format!("{id}-3").parse().unwrap();
            assert_eq!(event.stream(), id);
        }
    }
}
