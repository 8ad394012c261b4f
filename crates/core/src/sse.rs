//! Server-sent events: which responses are event streams, and the `data` of
//! a complete `text/event-stream` body.
//!
//! [`event_data`] is for layers that look at a short, finished SSE response
//! (an `initialize` answer, a `tools/list` result). Streams that go on are a
//! different job.

use http::Response;
use http::header::CONTENT_TYPE;

/// Whether `response` is a successful event stream: a `2xx` whose
/// `Content-Type` is `text/event-stream` (any case, parameters allowed).
///
/// ```
/// use http::Response;
/// use mcp_guard_core::sse::is_event_stream;
///
/// let stream = Response::builder().header("content-type", "Text/Event-Stream; charset=utf-8").body(()).unwrap();
/// assert!(is_event_stream(&stream));
/// let json = Response::builder().header("content-type", "application/json").body(()).unwrap();
/// assert!(!is_event_stream(&json));
/// ```
pub fn is_event_stream<B>(response: &Response<B>) -> bool {
    response.status().is_success()
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(is_event_stream_type)
}

/// Whether a `Content-Type` value names `text/event-stream` (leading
/// whitespace skipped, any case, parameters allowed): the test of
/// [`is_event_stream`], for a layer that holds only the header's text.
///
/// ```
/// use mcp_guard_core::sse::is_event_stream_type;
///
/// assert!(is_event_stream_type(" text/EVENT-stream;charset=utf-8"));
/// assert!(!is_event_stream_type("application/json"));
/// ```
pub fn is_event_stream_type(content_type: &str) -> bool {
    content_type
        .trim_start()
        .get(..EVENT_STREAM.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(EVENT_STREAM))
}

const EVENT_STREAM: &str = "text/event-stream";

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
    use super::{event_data, is_event_stream};
    use http::{Response, StatusCode};

    fn response(status: u16, content_type: Option<&str>) -> Response<()> {
        let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
        if let Some(content_type) = content_type {
            response = response.header("content-type", content_type);
        }
        response.body(()).unwrap()
    }

    #[test]
    fn only_successful_event_streams_are_event_streams() {
        assert!(is_event_stream(&response(200, Some("text/event-stream"))));
        assert!(is_event_stream(&response(
            202,
            Some("  TEXT/EVENT-STREAM;charset=utf-8")
        )));
        assert!(!is_event_stream(&response(500, Some("text/event-stream"))));
        assert!(!is_event_stream(&response(200, Some("application/json"))));
        assert!(!is_event_stream(&response(200, None)));
        assert!(!is_event_stream(&response(200, Some("text/event"))));
        assert!(!is_event_stream(&response(200, Some("text/plain"))));
    }

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
