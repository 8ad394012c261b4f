//! Finding the handler's answer to a request in the response body, bounded,
//! without holding the bytes back.

use mcp_guard_core::RpcId;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::Outcome;

/// How the response body is framed, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `application/json`: one message or an array of them.
    Json,
    /// `text/event-stream`: messages in the `data` of SSE events.
    EventStream,
}

/// The JSON-RPC ids whose answers the scanner looks for.
#[derive(Debug)]
pub(crate) enum Wanted {
    /// These ids (the requests of the body), with the answer once found.
    /// An answer's id matches the way the handler read the request's
    /// ([`RpcId::matches`]: `1` answers `1.0`).
    Ids(Vec<(RpcId, Option<Outcome>)>),
    /// The first answer in the body, whatever its id: no envelope peek ran,
    /// so the request's id is not known.
    First(Option<Outcome>),
}

impl Wanted {
    fn unresolved(&self) -> bool {
        match self {
            Wanted::Ids(ids) => ids.iter().any(|(_, found)| found.is_none()),
            Wanted::First(found) => found.is_none(),
        }
    }

    fn resolve(&mut self, reply: Reply) {
        let outcome = match reply.error {
            Some(error) => Outcome::RpcError { code: error.code },
            None => Outcome::Ok,
        };
        match self {
            Wanted::Ids(ids) => {
                let Some(id) = reply.id else { return };
                if let Some((_, found)) = ids
                    .iter_mut()
                    .find(|(wanted, found)| found.is_none() && wanted.matches(&id))
                {
                    *found = Some(outcome);
                }
            }
            Wanted::First(found) => {
                if reply.id.is_some() && found.is_none() {
                    *found = Some(outcome);
                }
            }
        }
    }

    /// The answer found for the `index`th wanted id.
    pub(crate) fn found(&self, index: usize) -> Option<Outcome> {
        match self {
            Wanted::Ids(ids) => ids.get(index).and_then(|(_, found)| *found),
            Wanted::First(found) => *found,
        }
    }
}

/// What of a JSON-RPC message the scanner reads: a response's id and error code.
#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    error: Option<ReplyError>,
    /// A request or notification from the server (a progress notification
    /// on the stream), not an answer.
    #[serde(default)]
    method: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ReplyError {
    code: i64,
}

/// Looks for the answers to a request's ids in the response body's frames as
/// they pass, keeping at most `limit` bytes: the JSON body, or one SSE line
/// and one event's `data`. What does not fit is not parsed (the outcome then
/// follows the status) and memory stays bounded whatever the body's size.
#[derive(Debug)]
pub(crate) struct Scanner {
    framing: Framing,
    limit: usize,
    wanted: Wanted,
    /// The JSON body so far, or the SSE event's `data` so far.
    buffer: Vec<u8>,
    /// The SSE line being read.
    line: Vec<u8>,
    /// The body (or this SSE event) outgrew `limit`.
    overflow: bool,
    /// The SSE line being read outgrew `limit`.
    line_overflow: bool,
    /// The last byte was a `\r`: a `\n` right after it ends no new line.
    after_cr: bool,
    /// The body's event has a `data` field (`data:` alone is empty data).
    has_data: bool,
}

impl Scanner {
    pub(crate) fn new(framing: Framing, limit: usize, wanted: Wanted) -> Self {
        Scanner {
            framing,
            limit,
            wanted,
            buffer: Vec::new(),
            line: Vec::new(),
            overflow: false,
            line_overflow: false,
            after_cr: false,
            has_data: false,
        }
    }

    /// Feeds the next data frame of the body.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if !self.wanted.unresolved() {
            return;
        }
        match self.framing {
            Framing::Json => {
                if self.overflow || self.buffer.len() + chunk.len() > self.limit {
                    self.overflow = true;
                    self.buffer = Vec::new();
                } else {
                    self.buffer.extend_from_slice(chunk);
                }
            }
            Framing::EventStream => self.feed_event_stream(chunk),
        }
    }

    /// The body ended: parses what a JSON body held; returns the answers.
    pub(crate) fn finish(mut self) -> Wanted {
        if self.framing == Framing::Json && !self.overflow && self.wanted.unresolved() {
            let buffer = std::mem::take(&mut self.buffer);
            self.consider(&buffer);
        }
        self.wanted
    }

    fn feed_event_stream(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() && self.wanted.unresolved() {
            if std::mem::take(&mut self.after_cr) && chunk[0] == b'\n' {
                chunk = &chunk[1..];
                continue;
            }
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.push_line(&chunk[..end]);
                    self.after_cr = chunk[end] == b'\r';
                    self.end_line();
                    chunk = &chunk[end + 1..];
                }
                None => {
                    self.push_line(chunk);
                    return;
                }
            }
        }
    }

    fn push_line(&mut self, bytes: &[u8]) {
        if self.line_overflow || self.line.len() + bytes.len() > self.limit {
            self.line_overflow = true;
            self.line = Vec::new();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    /// One SSE line is complete (the WHATWG event-stream rules: a blank line
    /// dispatches the event, `data` lines accumulate, other fields and
    /// comments are skipped).
    fn end_line(&mut self) {
        if std::mem::take(&mut self.line_overflow) {
            self.overflow = true;
            return;
        }
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            let data = std::mem::take(&mut self.buffer);
            if !std::mem::take(&mut self.overflow) && std::mem::take(&mut self.has_data) {
                self.consider(&data);
            }
            self.has_data = false;
            // Keep the allocation for the next event.
            self.buffer = data;
            self.buffer.clear();
            self.line = line;
            return;
        }
        let value = match line.strip_prefix(b"data") {
            Some([]) => &[][..],
            Some([b':', b' ', value @ ..]) | Some([b':', value @ ..]) => value,
            _ => {
                self.line = line;
                self.line.clear();
                return;
            }
        };
        if self.has_data {
            self.buffer.push(b'\n');
        }
        self.has_data = true;
        if self.overflow || self.buffer.len() + value.len() > self.limit {
            self.overflow = true;
            self.buffer.clear();
        } else {
            self.buffer.extend_from_slice(value);
        }
        self.line = line;
        self.line.clear();
    }

    /// Reads the answers a JSON text holds (one message or a batch of them).
    fn consider(&mut self, json: &[u8]) {
        let first = json.iter().find(|b| !b.is_ascii_whitespace());
        let replies = if first == Some(&b'[') {
            serde_json::from_slice::<Vec<Reply>>(json).unwrap_or_default()
        } else {
            serde_json::from_slice::<Reply>(json)
                .map(|reply| vec![reply])
                .unwrap_or_default()
        };
        for reply in replies {
            if reply.method.is_none() {
                self.wanted.resolve(reply);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[Value]) -> Wanted {
        Wanted::Ids(
            ids.iter()
                .map(|id| match id {
                    Value::Number(number) => (RpcId::Number(number.clone()), None),
                    Value::String(text) => (RpcId::String(text.clone()), None),
                    other => panic!("not an id: {other}"),
                })
                .collect(),
        )
    }

    fn scan(framing: Framing, limit: usize, wanted: Wanted, chunks: &[&[u8]]) -> Wanted {
        let mut scanner = Scanner::new(framing, limit, wanted);
        for chunk in chunks {
            scanner.feed(chunk);
        }
        scanner.finish()
    }

    #[test]
    fn finds_a_json_result_and_error() {
        let found = scan(
            Framing::Json,
            1024,
            ids(&[1.into()]),
            &[br#"{"jsonrpc":"2.0","id":1,"#, br#""result":{"x":[1]}}"#],
        );
        assert_eq!(found.found(0), Some(Outcome::Ok));
        let found = scan(
            Framing::Json,
            1024,
            ids(&["a".into()]),
            &[br#"{"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"no"}}"#],
        );
        assert_eq!(found.found(0), Some(Outcome::RpcError { code: -32601 }));
    }

    #[test]
    fn a_float_id_is_answered_by_its_integer() {
        let found = scan(
            Framing::Json,
            1024,
            ids(&[serde_json::json!(1.0)]),
            &[br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}"#],
        );
        assert_eq!(found.found(0), Some(Outcome::RpcError { code: -32602 }));
        let found = scan(
            Framing::Json,
            1024,
            ids(&["1".into()]),
            &[br#"{"jsonrpc":"2.0","id":1,"result":{}}"#],
        );
        assert_eq!(found.found(0), None, "a string id is not a number");
    }

    #[test]
    fn matches_batch_answers_by_id() {
        let found = scan(
            Framing::Json,
            1024,
            ids(&[1.into(), 2.into()]),
            &[br#"[{"id":2,"error":{"code":-32602,"message":"x"}},{"id":1,"result":{}}]"#],
        );
        assert_eq!(found.found(0), Some(Outcome::Ok));
        assert_eq!(found.found(1), Some(Outcome::RpcError { code: -32602 }));
    }

    #[test]
    fn finds_the_answer_in_an_event_stream_split_anywhere() {
        let stream = b"id: 0\r\ndata:\r\n\r\n: keep-alive\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\ndata: \"error\":{\"code\":-32000,\"message\":\"boom\"}}\n\n";
        for split in 0..stream.len() {
            let (a, b) = stream.split_at(split);
            let found = scan(Framing::EventStream, 1024, ids(&[3.into()]), &[a, b]);
            assert_eq!(
                found.found(0),
                Some(Outcome::RpcError { code: -32000 }),
                "split at {split}"
            );
        }
    }

    #[test]
    fn over_the_limit_nothing_is_found_and_nothing_is_kept() {
        let body = format!(r#"{{"id":1,"result":{{"text":"{}"}}}}"#, "x".repeat(2000));
        let mut scanner = Scanner::new(Framing::Json, 1024, ids(&[1.into()]));
        scanner.feed(body.as_bytes());
        assert!(scanner.buffer.capacity() <= 1024);
        assert_eq!(scanner.finish().found(0), None);
        let event = format!("data: {body}\n\n");
        let mut scanner = Scanner::new(Framing::EventStream, 1024, ids(&[1.into()]));
        scanner.feed(event.as_bytes());
        assert!(scanner.line.capacity() <= 1024 && scanner.buffer.capacity() <= 1024);
        assert_eq!(scanner.finish().found(0), None);
        // A later event that fits is still read.
        let found = scan(
            Framing::EventStream,
            1024,
            ids(&[1.into()]),
            &[event.as_bytes(), b"data: {\"id\":1,\"result\":{}}\n\n"],
        );
        assert_eq!(found.found(0), Some(Outcome::Ok));
    }

    #[test]
    fn without_known_ids_the_first_answer_counts() {
        let found = scan(
            Framing::EventStream,
            1024,
            Wanted::First(None),
            &[b"data: {\"method\":\"notifications/message\"}\n\ndata: {\"id\":9,\"error\":{\"code\":-1,\"message\":\"m\"}}\n\n"],
        );
        assert_eq!(found.found(0), Some(Outcome::RpcError { code: -1 }));
        let other = scan(
            Framing::Json,
            1024,
            ids(&[1.into()]),
            &[br#"{"id":2,"result":{}}"#],
        );
        assert_eq!(
            other.found(0),
            None,
            "another id's answer is not this one's"
        );
    }
}
