//! An incremental parser for the handler's `text/event-stream`: chunk
//! boundaries anywhere (inside a line, between CR and LF, inside a UTF-8
//! sequence), LF/CRLF/CR line ends, multi-line `data`, comments, and the
//! `event`/`id`/`retry` fields, as the HTML standard's event-stream
//! interpretation describes.

use bytes::{Buf, BytesMut};

/// One event the handler sent. Its `id`, if any, is read but not kept: the
/// layer assigns its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field (`None` means the default, `message`).
    pub event: Option<String>,
    /// The `data:` lines joined with LF.
    pub data: String,
    /// The `retry:` field, in milliseconds.
    pub retry: Option<u64>,
}

/// Why the handler's stream could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseParseError {
    /// One line or one event is longer than the configured limit.
    EventTooLarge,
}

impl std::fmt::Display for SseParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an SSE event from the handler is larger than the configured limit")
    }
}

impl std::error::Error for SseParseError {}

/// Turns chunks of a `text/event-stream` into events.
///
/// ```
/// use mcp_sse_resume::{SseEvent, SseParser};
///
/// let mut parser = SseParser::new(64 * 1024);
/// let mut events = parser.push(b"id: 7\r\ndata: {\"a\"").unwrap();
/// events.extend(parser.push(b":1}\r").unwrap());
/// events.extend(parser.push(b"\n\r\n: keep-alive\n\n").unwrap());
/// assert_eq!(events, [SseEvent { event: None, data: "{\"a\":1}".into(), retry: None }]);
/// ```
#[derive(Debug)]
pub struct SseParser {
    max_event_bytes: usize,
    buffer: BytesMut,
    /// The previous chunk ended in CR: an LF starting this one belongs to it.
    after_cr: bool,
    started: bool,
    pending: Pending,
}

#[derive(Debug, Default)]
struct Pending {
    event: Option<String>,
    data: String,
    has_data: bool,
    retry: Option<u64>,
}

impl SseParser {
    /// A parser refusing events (and lines) longer than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            max_event_bytes,
            buffer: BytesMut::new(),
            after_cr: false,
            started: false,
            pending: Pending::default(),
        }
    }

    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseParseError> {
        let mut events = Vec::new();
        self.push_into(chunk, &mut events)?;
        Ok(events)
    }

    /// [`push`](Self::push), appending the events it completed to `events`:
    /// a buffer the drain reuses, not a new `Vec` per chunk.
    pub(crate) fn push_into(
        &mut self,
        mut chunk: &[u8],
        events: &mut Vec<SseEvent>,
    ) -> Result<(), SseParseError> {
        if chunk.is_empty() {
            return Ok(());
        }
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        if self.buffer.is_empty() {
            // No unfinished line waits (the usual case: a handler writes
            // whole events): the chunk's lines are read where they are, and
            // only what follows its last line end is kept.
            let rest = self.lines(chunk, events)?;
            self.buffer.extend_from_slice(rest);
        } else {
            self.buffer.extend_from_slice(chunk);
            let mut buffer = std::mem::take(&mut self.buffer);
            let read = self
                .lines(&buffer, events)
                .map(|rest| buffer.len() - rest.len());
            buffer.advance(read.unwrap_or(buffer.len()));
            self.buffer = buffer;
            read?;
        }
        if self.buffer.len() > self.max_event_bytes {
            return Err(SseParseError::EventTooLarge);
        }
        Ok(())
    }

    /// Reads every line of `input` that has its end, and returns what
    /// follows the last line end (an unfinished line, possibly empty).
    fn lines<'a>(
        &mut self,
        mut input: &'a [u8],
        events: &mut Vec<SseEvent>,
    ) -> Result<&'a [u8], SseParseError> {
        while let Some(end) = memchr::memchr2(b'\n', b'\r', input) {
            let line = &input[..end];
            let terminator = input[end];
            input = &input[end + 1..];
            if terminator == b'\r' {
                match input.first() {
                    Some(b'\n') => input = &input[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if let Some(event) = self.line(line)? {
                events.push(event);
            }
        }
        Ok(input)
    }

    /// Ends the stream: an event not closed by a blank line is dropped, as the
    /// standard says.
    pub fn finish(&mut self) {
        self.buffer.clear();
        self.pending = Pending::default();
    }

    fn line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, SseParseError> {
        // Borrowed when the line is valid UTF-8, as it nearly always is: no
        // copy per line (and `from_utf8`'s ASCII fast path, where the lossy
        // decoder walks every character).
        let text = match std::str::from_utf8(line) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        let mut line: &str = &text;
        if !self.started {
            self.started = true;
            if let Some(rest) = line.strip_prefix('\u{feff}') {
                line = rest;
            }
        }
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.pending.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.pending.has_data = true;
                if self.pending.data.len() > self.max_event_bytes {
                    return Err(SseParseError::EventTooLarge);
                }
            }
            "event" => self.pending.event = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) => {
                self.pending.retry = value.parse().ok();
            }
            // `id` is the handler's; the layer assigns its own. Other fields
            // are ignored, as the standard says.
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let pending = std::mem::take(&mut self.pending);
        if !pending.has_data {
            return None;
        }
        Some(SseEvent {
            event: pending
                .event
                .filter(|name| !name.is_empty() && name != "message"),
            data: pending.data,
            retry: pending.retry,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse_in(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new(1024);
        chunks
            .iter()
            .flat_map(|chunk| parser.push(chunk).unwrap())
            .collect()
    }

    fn data(text: &str) -> SseEvent {
        SseEvent {
            data: text.into(),
            ..SseEvent::default()
        }
    }

    #[test]
    fn fields_comments_and_line_ends() {
        let events = parse_in(&[b"\xef\xbb\xbfdata: a\n\n: comment\r\nevent: progress\rid: 9\rretry: 1500\rdata:b\rdata:  c\r\r"]);
        assert_eq!(events[0], data("a"));
        assert_eq!(
            events[1],
            SseEvent {
                event: Some("progress".into()),
                data: "b\n c".into(),
                retry: Some(1500)
            }
        );
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn events_without_data_are_not_dispatched_and_empty_data_is() {
        assert!(parse_in(&[b"id: 1\nretry: 10\n\n", b"event: x\n\n"]).is_empty());
        assert_eq!(parse_in(&[b"id: 0\ndata:\n\n"]), [data("")]);
        assert_eq!(
            parse_in(&[b"data\n\n"]),
            [data("")],
            "a field name alone is an empty value"
        );
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        let mut parser = SseParser::new(1024);
        assert!(parser.push(b"data: half").unwrap().is_empty());
        parser.finish();
        assert!(parser.push(b"\n\n").unwrap().is_empty());
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut parser = SseParser::new(16);
        assert_eq!(parser.push(&[b'x'; 17]), Err(SseParseError::EventTooLarge));
        let mut parser = SseParser::new(16);
        assert_eq!(
            parser.push(b"data: 0123456789\ndata: 0123456789\n"),
            Err(SseParseError::EventTooLarge)
        );
    }

    proptest! {
        /// However a stream is cut into chunks, and whichever line ends it
        /// uses, the parser sees the same events.
        #[test]
        fn chunk_boundaries_do_not_matter(
            datas in proptest::collection::vec("[a-z{}\":,é ]{0,12}", 1..8),
            ends in proptest::collection::vec(0usize..3, 1..8),
            cuts in proptest::collection::vec(0usize..200, 0..12),
        ) {
            let mut text = String::new();
            for (index, data) in datas.iter().enumerate() {
                let end = ["\n", "\r\n", "\r"][ends[index % ends.len()]];
                text.push_str(&format!("id: {index}{end}data: {data}{end}: note{end}{end}"));
            }
            let bytes = text.as_bytes();
            let mut positions: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
            positions.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for position in positions {
                chunks.push(&bytes[start..position]);
                start = position;
            }
            chunks.push(&bytes[start..]);
            let expected: Vec<SseEvent> = datas.iter().map(|text| data(text)).collect();
            prop_assert_eq!(parse_in(&chunks), expected);
        }
    }
}
