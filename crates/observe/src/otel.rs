//! OpenTelemetry parent from the W3C trace context (feature `opentelemetry`).

pub(crate) fn continue_trace(_span: &tracing::Span, _traceparent: &str, _tracestate: Option<&str>) {
}
