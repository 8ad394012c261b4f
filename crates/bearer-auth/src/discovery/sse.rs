//! Server-sent events, one event at a time: where an event ends (its blank
//! line, whichever line endings the server uses), and the event carrying a
//! list answer rewritten with only its `data` changed.

use bytes::{Bytes, BytesMut};

use super::filter::Target;

/// The bytes of a stream not yet handed on, cut into whole events.
#[derive(Debug, Default)]
pub(crate) struct Events {
    buffer: BytesMut,
    /// Where the first line of `buffer` not known to be complete starts:
    /// lines before it are scanned once, not again for every chunk.
    line: usize,
}

impl Events {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// Bytes held that belong to no complete event yet.
    pub(crate) fn held(&self) -> usize {
        self.buffer.len()
    }

    /// Everything held, as it came.
    pub(crate) fn take_rest(&mut self) -> Bytes {
        self.line = 0;
        self.buffer.split().freeze()
    }

    /// The next complete event, with its blank line, exactly as it came. At
    /// the end of the stream (`eof`) what is left is an event too, so that
    /// an answer without its final blank line is filtered like any other.
    pub(crate) fn next_event(&mut self, eof: bool) -> Option<Bytes> {
        loop {
            let rest = &self.buffer[self.line..];
            let Some(at) = rest.iter().position(|byte| matches!(byte, b'\r' | b'\n')) else {
                return (eof && !self.buffer.is_empty()).then(|| self.take_rest());
            };
            let end = match (rest[at], rest.get(at + 1)) {
                (b'\r', Some(b'\n')) => at + 2,
                // A CR last in the buffer may be the first half of a CRLF.
                (b'\r', None) if !eof => return None,
                _ => at + 1,
            };
            let blank = at == 0;
            self.line += end;
            if blank {
                let event = self.buffer.split_to(self.line).freeze();
                self.line = 0;
                return Some(event);
            }
        }
    }
}

/// Event data that is not JSON: what it says cannot be filtered, and a
/// lenient client might still read a list in it.
#[derive(Debug)]
pub(crate) struct NotJson;

/// `event` with its `data` filtered for `target`, when it holds a list
/// (whatever the id of the response carrying it); `Ok(None)` when it holds
/// none (a notification, a priming event with empty data, a comment, an
/// answer without a list): pass it on as it came; `Err` when its data is not
/// JSON. Every line but `data` keeps its place and bytes (the `id` the
/// resume layer replays by, `event`, `retry`, comments).
pub(crate) fn filter_event(event: &[u8], target: &mut Target) -> Result<Option<Bytes>, NotJson> {
    // A client drops one byte order mark before the stream's first field
    // (the SSE spec), then reads `data:`; read past it here too, or a list
    // behind it would pass as an event without data. Stripped from any
    // event, not only the first: that can only filter more, never less.
    let event = event.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(event);
    let mut data: Option<Vec<u8>> = None;
    for (line, _) in lines(event) {
        if let Some(value) = data_value(line) {
            match &mut data {
                Some(data) => {
                    data.push(b'\n');
                    data.extend_from_slice(value);
                }
                None => data = Some(value.to_vec()),
            }
        }
    }
    let Some(data) = data else {
        return Ok(None);
    };
    if data.trim_ascii().is_empty() {
        return Ok(None);
    }
    let Some(filtered) = target.filter_json(&data).map_err(|_| NotJson)? else {
        return Ok(None);
    };
    let mut rewritten = Vec::with_capacity(event.len());
    let mut wrote_data = false;
    let mut ended = false;
    for (line, ending) in lines(event) {
        ended = line.is_empty() && !ending.is_empty();
        if data_value(line).is_some() {
            if !wrote_data {
                // serde_json escapes line breaks: one `data` line holds it all.
                rewritten.extend_from_slice(b"data: ");
                rewritten.extend_from_slice(&filtered);
                rewritten.extend_from_slice(if ending.is_empty() { b"\n" } else { ending });
                wrote_data = true;
            }
            continue;
        }
        rewritten.extend_from_slice(line);
        rewritten.extend_from_slice(ending);
    }
    if !ended {
        // The stream ended without the event's blank line.
        if !rewritten.ends_with(b"\n") && !rewritten.ends_with(b"\r") {
            rewritten.push(b'\n');
        }
        rewritten.push(b'\n');
    }
    Ok(Some(Bytes::from(rewritten)))
}

/// An event of its own carrying `json` as its data.
pub(crate) fn data_event(json: &[u8]) -> Bytes {
    let mut event = Vec::with_capacity(json.len() + 8);
    event.extend_from_slice(b"data: ");
    event.extend_from_slice(json);
    event.extend_from_slice(b"\n\n");
    Bytes::from(event)
}

/// The value of a `data` field line (one leading space dropped).
fn data_value(line: &[u8]) -> Option<&[u8]> {
    let value = line.strip_prefix(b"data")?;
    match value.first() {
        None => Some(value),
        Some(b':') => Some(value[1..].strip_prefix(b" ").unwrap_or(&value[1..])),
        Some(_) => None,
    }
}

/// Each line of `text` with its ending (LF, CRLF, CR, or none for the last).
fn lines(text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(at) = rest.iter().position(|byte| matches!(byte, b'\r' | b'\n')) else {
            let line = rest;
            rest = &[];
            return Some((line, &[][..]));
        };
        let end = if rest[at..].starts_with(b"\r\n") {
            at + 2
        } else {
            at + 1
        };
        let (line, ending) = (&rest[..at], &rest[at..end]);
        rest = &rest[end..];
        Some((line, ending))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use mcp_guard_core::{Era, RpcEnvelope};

    use super::*;
    use crate::ScopePolicy;
    use crate::discovery::layer::Settings;

    fn events(chunks: &[&str]) -> Vec<Bytes> {
        let mut events = Events::default();
        let mut out = Vec::new();
        for chunk in chunks {
            events.push(chunk.as_bytes());
            while let Some(event) = events.next_event(false) {
                out.push(event);
            }
        }
        while let Some(event) = events.next_event(true) {
            out.push(event);
        }
        out
    }

    #[test]
    fn events_end_at_blank_lines_of_every_ending_across_chunks() {
        let out = events(&[
            "id: 1\r",
            "\n",
            "data: a\r\n\r",
            "\n: ping\n\ndata: b\r\rdata: c",
        ]);
        assert_eq!(
            out,
            [
                "id: 1\r\ndata: a\r\n\r\n",
                ": ping\n\n",
                "data: b\r\r",
                "data: c"
            ]
        );
        assert_eq!(
            out.concat(),
            b"id: 1\r\ndata: a\r\n\r\n: ping\n\ndata: b\r\rdata: c".as_slice(),
            "bytes kept"
        );
    }

    fn target() -> Target {
        let policy = ScopePolicy::new().require_for_tool("admin_echo", ["mcp:admin"]);
        let settings = Arc::new(Settings::new(policy));
        let scopes = ["mcp".to_owned()].into();
        let request = RpcEnvelope::parse(br#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#);
        Target::of(&request, Some(&scopes), Era::Legacy, &settings).unwrap()
    }

    #[test]
    fn only_the_answer_is_rewritten_and_its_other_lines_kept() {
        let mut target = target();
        assert!(
            filter_event(b"id: 0\ndata:\n\n", &mut target)
                .unwrap()
                .is_none(),
            "priming event"
        );
        let progress =
            b"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n";
        assert!(filter_event(progress, &mut target).unwrap().is_none());
        assert!(
            filter_event(b": keep-alive\n\n", &mut target)
                .unwrap()
                .is_none()
        );
        assert!(
            filter_event(b"data: tools admin_echo\n\n", &mut target).is_err(),
            "data that is not JSON"
        );
        let answer = b"event: message\r\nid: 0/7\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\r\ndata: \"result\":{\"tools\":[{\"name\":\"admin_echo\"},{\"name\":\"echo\"}]}}\r\nretry: 10\r\n\r\n";
        let rewritten = filter_event(answer, &mut target).unwrap().unwrap();
        let text = std::str::from_utf8(&rewritten).unwrap();
        assert!(
            text.starts_with("event: message\r\nid: 0/7\r\ndata: {"),
            "{text}"
        );
        assert!(text.ends_with("}\r\nretry: 10\r\n\r\n"), "{text}");
        assert!(
            text.contains("\"echo\"") && !text.contains("admin_echo"),
            "{text}"
        );
    }

    #[test]
    fn an_answer_cut_off_by_the_end_of_the_stream_is_still_an_event() {
        let mut target = target();
        let rewritten = filter_event(
            b"data: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[]}}",
            &mut target,
        )
        .unwrap()
        .unwrap();
        assert!(rewritten.ends_with(b"}\n\n"));
    }

    #[test]
    fn data_fields_are_recognised_exactly() {
        assert_eq!(data_value(b"data: x"), Some(&b"x"[..]));
        assert_eq!(data_value(b"data:x"), Some(&b"x"[..]));
        assert_eq!(data_value(b"data"), Some(&b""[..]));
        assert_eq!(data_value(b"datum: x"), None);
        assert_eq!(data_value(b": data"), None);
    }
}
