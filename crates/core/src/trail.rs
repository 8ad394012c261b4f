//! A slot the layers inside a stack fill for an observer outside it.

use std::sync::{Arc, OnceLock};

use http::Extensions;

use crate::{Principal, RpcEnvelope};

/// What the guards learned about a request, for a layer wrapped around them.
///
/// Data in request extensions only flows inward: a layer outside the stack
/// (the audit, metrics and trace layer of `mcp-observe`) never sees what the
/// layers inside it inserted. So that layer puts a `Trail` into the request's
/// extensions before calling the stack, and keeps a clone: the envelope peek
/// records the parsed [`RpcEnvelope`] (and the body's size) into it, bearer
/// auth the verified [`Principal`], and the observer reads both once the
/// response comes back.
///
/// Each slot is written once (the first write wins: the envelope is read once
/// per request, the principal verified once). Without a `Trail` in the
/// extensions, recording costs one extensions lookup.
///
/// The trail keeps a copy of the envelope (the peek's stays in the request's
/// extensions for the layers inside), made once, by the first record, with
/// its strings copied out of the body
/// ([`RpcEnvelope::detached`](crate::RpcEnvelope::detached)).
///
/// ```
/// use mcp_guard_core::{Principal, RpcEnvelope, Trail};
///
/// let trail = Trail::new();
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(trail.clone());
///
/// // What a layer inside the stack does:
/// let envelope = RpcEnvelope::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
/// Trail::record_envelope_in(request.extensions(), &envelope, 46);
/// Trail::record_principal_in(request.extensions(), &Principal::new().with_subject("alice"));
///
/// // What the observer outside reads afterwards:
/// assert_eq!(trail.envelope().unwrap().single().unwrap().method(), Some("tools/list"));
/// assert_eq!(trail.body_bytes(), Some(46));
/// assert_eq!(trail.principal().unwrap().subject(), Some("alice"));
/// ```
///
/// # The request's span
///
/// An observer may also hand the trail the request's `tracing` span and a
/// function to call when the envelope is recorded ([`Trail::with_span`]): the
/// function names the span after the envelope (and may set its
/// OpenTelemetry parent from the client's trace context, which is possible
/// only before the span is first entered), and the [`EnvelopePeekLayer`](crate::EnvelopePeekLayer)
/// then runs the layers behind it inside that span.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    recorded: Arc<Recorded>,
}

/// What [`Trail::with_span`] calls with the request's span when the envelope
/// is recorded.
pub type OnEnvelope = fn(&tracing::Span, &RpcEnvelope);

#[derive(Debug, Default)]
struct Recorded {
    envelope: OnceLock<(RpcEnvelope, u64)>,
    principal: OnceLock<Principal>,
    span: Option<(tracing::Span, OnEnvelope)>,
}

impl Trail {
    /// An empty trail.
    pub fn new() -> Self {
        Trail::default()
    }

    /// Records the request's envelope and its body's size in bytes into the
    /// `Trail` of `extensions`, if there is one: a copy of it, made only when
    /// this is the first record (a later one changes nothing).
    pub fn record_envelope_in(extensions: &Extensions, envelope: &RpcEnvelope, body_bytes: u64) {
        let Some(trail) = extensions.get::<Trail>() else {
            return;
        };
        // A second peek finds the cached envelope and never gets here; were
        // it to, the first record stands, and nothing is copied.
        let mut first = false;
        let (recorded, _) = trail.recorded.envelope.get_or_init(|| {
            first = true;
            // Its own strings: the trail lives until the response body
            // ends (a long SSE stream), and slices would keep the whole
            // request body alive that long.
            (envelope.detached(), body_bytes)
        });
        if let (true, Some((span, on_envelope))) = (first, &trail.recorded.span) {
            on_envelope(span, recorded);
        }
    }

    /// An empty trail carrying the request's span: `on_envelope` runs with
    /// it when the envelope is recorded, and the envelope peek runs the
    /// layers behind it inside it.
    pub fn with_span(span: tracing::Span, on_envelope: OnEnvelope) -> Self {
        Trail {
            recorded: Arc::new(Recorded {
                span: Some((span, on_envelope)),
                ..Recorded::default()
            }),
        }
    }

    /// The request's span, when the observer handed one ([`Trail::with_span`]).
    pub fn span(&self) -> Option<&tracing::Span> {
        self.recorded.span.as_ref().map(|(span, _)| span)
    }

    /// Records the verified principal into the `Trail` of `extensions`, if
    /// there is one.
    pub fn record_principal_in(extensions: &Extensions, principal: &Principal) {
        if let Some(trail) = extensions.get::<Trail>() {
            // A clone is a reference count.
            let _ = trail.recorded.principal.set(principal.clone());
        }
    }

    /// The request's envelope, once the envelope peek has read it.
    pub fn envelope(&self) -> Option<&RpcEnvelope> {
        self.recorded.envelope.get().map(|(envelope, _)| envelope)
    }

    /// The size in bytes of the request body the envelope peek read.
    pub fn body_bytes(&self) -> Option<u64> {
        self.recorded.envelope.get().map(|(_, bytes)| *bytes)
    }

    /// The caller bearer auth verified.
    pub fn principal(&self) -> Option<&Principal> {
        self.recorded.principal.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RpcMessage;

    #[test]
    fn the_first_record_stands_with_its_arguments() {
        let trail = Trail::new();
        let mut extensions = Extensions::new();
        extensions.insert(trail.clone());
        let arguments = format!(r#"{{"text":"{}"}}"#, "x".repeat(100_000));
        let call = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{arguments}}}}}"#
        );
        let envelope = RpcEnvelope::parse(call.as_bytes());
        Trail::record_envelope_in(&extensions, &envelope, call.len() as u64);
        // A later record replaces nothing.
        let other = RpcEnvelope::parse(br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
        Trail::record_envelope_in(&extensions, &other, 40);
        assert_eq!(trail.envelope(), Some(&envelope));
        assert_eq!(trail.body_bytes(), Some(call.len() as u64));
        assert_eq!(
            trail
                .envelope()
                .and_then(RpcEnvelope::single)
                .and_then(RpcMessage::arguments)
                .map(|arguments| arguments.get().len()),
            Some(arguments.len())
        );
    }
}
