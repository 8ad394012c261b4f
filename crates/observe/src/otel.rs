//! Continuing the client's trace (feature `opentelemetry`): the W3C trace
//! context a 2026-07-28 client put in `params._meta` (SEP-414) becomes the
//! OpenTelemetry parent of the request's span.

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The two `_meta` members, as the propagator reads a carrier.
struct MetaCarrier<'a> {
    traceparent: &'a str,
    tracestate: Option<&'a str>,
}

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(self.traceparent),
            "tracestate" => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        let mut keys = vec!["traceparent"];
        if self.tracestate.is_some() {
            keys.push("tracestate");
        }
        keys
    }
}

/// Sets the span's parent to the client's trace context. An invalid
/// `traceparent` is ignored (the propagator yields no remote span); so is a
/// span no OpenTelemetry layer exports, or one already started.
pub(crate) fn continue_trace(span: &tracing::Span, traceparent: &str, tracestate: Option<&str>) {
    let carrier = MetaCarrier {
        traceparent,
        tracestate,
    };
    let parent = TraceContextPropagator::new().extract(&carrier);
    if let Err(error) = span.set_parent(parent) {
        tracing::debug!(%error, "the client's trace context could not parent the request's span");
    }
}
