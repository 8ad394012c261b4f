//! Reading the `data` of a complete `text/event-stream` body.
//!
//! For layers that look at a short, finished SSE response (an `initialize`
//! answer, a `tools/list` result). Streams that go on are a different job.

/// The `data` of each event of a complete SSE text: lines end in LF, CRLF or
/// CR; multi-line `data` is joined with LF; comments and other fields are
/// skipped; an event without `data` yields nothing.
///
/// ```
/// use mcp_guard_core::sse::event_data;
///
/// let text = ": keep-alive\r\nid: 1\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: message\rdata:{\"b\":2}\r\r";
/// assert_eq!(event_data(text), ["{\"a\":\n1}", "{\"b\":2}"]);
/// ```
pub fn event_data(text: &str) -> Vec<String> {
    let mut events = Vec::new();
    let mut data: Option<String> = None;
    for line in lines(text) {
        if line.is_empty() {
            events.extend(data.take());
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut data {
                Some(buffer) => {
                    buffer.push('\n');
                    buffer.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
    }
    events.extend(data);
    events
}

/// Splits on LF, CRLF and CR alike.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(end) = rest.find(['\r', '\n']) else {
            let line = rest;
            rest = "";
            return Some(line);
        };
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::event_data;

    #[test]
    fn every_line_ending_and_a_final_event_without_blank_line() {
        let text = ": comment\nid: 1\ndata: a\n\nevent: x\r\ndata: b\r\ndata:c\r\n\r\ndata: last";
        assert_eq!(event_data(text), ["a", "b\nc", "last"]);
    }

    #[test]
    fn events_without_data_yield_nothing() {
        assert!(event_data("id: 1\nretry: 3000\n\n: ping\n\n").is_empty());
        assert_eq!(event_data("data:\n\n"), [""]);
    }
}
