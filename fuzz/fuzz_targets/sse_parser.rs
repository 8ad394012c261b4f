//! The incremental SSE parser (sse-resume `parser.rs`).
//!
//! Input: two bytes choosing a cut point and the event size limit, then the
//! stream. The stream is parsed in one chunk, cut in two at the chosen point,
//! and fed one byte at a time. Checked:
//! - nothing panics, and memory stays bounded by the limit;
//! - where the finer-grained parse succeeds, the coarser one does too, with the
//!   same events (chunk boundaries never change what the handler said);
//! - no event's data or name carries a CR, no name carries an LF.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_sse_resume::{SseEvent, SseParser};

fuzz_target!(|data: &[u8]| {
    let [cut, limit, stream @ ..] = data else {
        return;
    };
    let limit = 16 + usize::from(*limit) * 8;
    let cut = if stream.is_empty() {
        0
    } else {
        usize::from(*cut) * stream.len() / 255
    };

    let whole = parse(limit, &[stream]);
    let halves = parse(limit, &[&stream[..cut], &stream[cut..]]);
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let bytewise = parse(limit, &bytes);

    if let Some(halves) = &halves {
        assert_eq!(
            whole.as_ref(),
            Some(halves),
            "cutting the stream at {cut} changed its events"
        );
    }
    if let Some(bytewise) = &bytewise {
        assert_eq!(
            halves.as_ref(),
            Some(bytewise),
            "feeding the stream byte by byte changed its events"
        );
    }
    for event in whole.iter().flatten() {
        assert!(!event.data.contains('\r'), "{event:?}");
        if let Some(name) = &event.event {
            assert!(!name.contains(['\r', '\n']), "{event:?}");
            assert!(!name.is_empty() && name != "message", "{event:?}");
        }
    }
});

/// The events of `chunks`, or `None` when the parser refused the stream.
fn parse(limit: usize, chunks: &[&[u8]]) -> Option<Vec<SseEvent>> {
    let mut parser = SseParser::new(limit);
    let mut events = Vec::new();
    for chunk in chunks {
        let more = parser.push(chunk).ok()?;
        for event in &more {
            assert!(
                event.data.len() <= limit,
                "an event larger than the limit was let through"
            );
        }
        events.extend(more);
    }
    parser.finish();
    Some(events)
}
