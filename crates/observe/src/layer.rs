//! [`ObserveLayer`]: the builder.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::{EventSink, Observe, TracingSink};

/// Observes every request of the service it wraps: one [`RequestEvent`](crate::RequestEvent)
/// per JSON-RPC request to each [`EventSink`], and one `tracing` span per HTTP
/// request named after the OpenTelemetry semantic conventions for MCP.
///
/// Wrap the whole guard stack, so that every guard's refusal is seen with
/// its guard and reason: `.layer(ObserveLayer::new()).layer(McpGuard…build()?)`.
/// The layers inside record what they learned (the JSON-RPC envelope, the
/// verified caller) into the request's [`Trail`](mcp_guard_core::Trail), which this
/// layer puts there; without an envelope peek in the stack the events still
/// carry the status, refusal, duration and bytes.
///
/// By default events go to [`TracingSink`] (one `info` event, target
/// `mcp_observe::audit`); add your own with [`sink`](Self::sink). Tool
/// arguments are never recorded unless the operator names the tool with
/// [`log_arguments_of`](Self::log_arguments_of).
///
/// ```
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use http_body_util::{BodyExt, Full};
/// use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer};
/// use mcp_observe::{EventSink, ObserveLayer, RequestEvent};
/// use std::sync::{Arc, Mutex};
/// use tower::{ServiceBuilder, ServiceExt};
///
/// #[derive(Clone, Default)]
/// struct Collect(Arc<Mutex<Vec<RequestEvent>>>);
/// impl EventSink for Collect {
///     fn record(&self, event: &RequestEvent) {
///         self.0.lock().unwrap().push(event.clone());
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let events = Collect::default();
/// let service = ServiceBuilder::new()
///     .layer(ObserveLayer::new().sink(events.clone()))
///     .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
///     .service_fn(|_request: Request<_>| async {
///         let answer = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no such tool"}}"#;
///         Ok::<_, std::convert::Infallible>(
///             Response::builder()
///                 .header("content-type", "application/json")
///                 .body(Full::new(Bytes::from(answer)))
///                 .unwrap(),
///         )
///     });
///
/// let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather"}}"#;
/// let request = Request::post("/mcp").body(Full::new(Bytes::from(call))).unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// response.into_body().collect().await.unwrap();
///
/// let events = events.0.lock().unwrap();
/// assert_eq!(events[0].method.as_deref(), Some("tools/call"));
/// assert_eq!(events[0].target.as_deref(), Some("weather"));
/// assert_eq!(events[0].outcome, mcp_observe::Outcome::RpcError { code: -32602 });
/// # }
/// ```
#[derive(Clone)]
pub struct ObserveLayer {
    pub(crate) config: Arc<Config>,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) sinks: Vec<Arc<dyn EventSink>>,
    pub(crate) tracing_events: bool,
    pub(crate) arguments_of: HashSet<Box<str>>,
    pub(crate) max_scan_bytes: usize,
}

impl Default for ObserveLayer {
    fn default() -> Self {
        ObserveLayer::new()
    }
}

impl fmt::Debug for ObserveLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObserveLayer")
            .field("sinks", &self.config.sinks.len())
            .field("tracing_events", &self.config.tracing_events)
            .field("arguments_of", &self.config.arguments_of)
            .field("max_scan_bytes", &self.config.max_scan_bytes)
            .finish()
    }
}

impl ObserveLayer {
    /// The default bound on what is scanned to find the handler's answer: 64 KiB
    /// of a JSON body, or of one SSE line and one SSE event's `data`.
    pub const DEFAULT_MAX_SCAN_BYTES: usize = 64 * 1024;

    /// Events to the [`TracingSink`], spans on, no arguments recorded.
    pub fn new() -> Self {
        ObserveLayer {
            config: Arc::new(Config {
                sinks: Vec::new(),
                tracing_events: true,
                arguments_of: HashSet::new(),
                max_scan_bytes: Self::DEFAULT_MAX_SCAN_BYTES,
            }),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Also hands every event to `sink` (a [`MetricsSink`](crate::metrics::MetricsSink),
    /// your own); call again for more.
    pub fn sink(mut self, sink: impl EventSink) -> Self {
        self.config_mut().sinks.push(Arc::new(sink));
        self
    }

    /// Stops the `tracing` audit events of [`TracingSink`] (spans stay).
    pub fn without_tracing_events(mut self) -> Self {
        self.config_mut().tracing_events = false;
        self
    }

    /// Records the `arguments` of `tools/call` for these tools (and no
    /// others) in [`RequestEvent::arguments`](crate::RequestEvent::arguments).
    /// Arguments may hold personal data or secrets: name only the tools
    /// whose arguments an operator may read.
    pub fn log_arguments_of<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config_mut()
            .arguments_of
            .extend(tools.into_iter().map(|tool| tool.into().into_boxed_str()));
        self
    }

    /// How many bytes are kept, at most, to find the handler's JSON-RPC
    /// answer: of a JSON body, or of one SSE line and one event's `data`
    /// (default [`DEFAULT_MAX_SCAN_BYTES`](Self::DEFAULT_MAX_SCAN_BYTES)). An
    /// answer larger than that is not parsed: its outcome follows the status
    /// (`unconfirmed` for a 2xx, else `http_error`). `0` turns the scan off.
    pub fn max_scan_bytes(mut self, max: usize) -> Self {
        self.config_mut().max_scan_bytes = max;
        self
    }
}

impl Config {
    pub(crate) fn emit(&self, event: &crate::RequestEvent) {
        if self.tracing_events {
            TracingSink.record(event);
        }
        for sink in &self.sinks {
            sink.record(event);
        }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            config: self.config.clone(),
        }
    }
}
