//! [`MetricsSink`]: request counts, latencies, refusals and bytes by MCP
//! method, tool and outcome, through the facade of the [`metrics` crate](::metrics).
//!
//! The sink turns each [`RequestEvent`] into a few `metrics` calls, so
//! whatever recorder the application installed (Prometheus, StatsD,
//! OpenTelemetry, …) receives them; without a recorder they cost next to
//! nothing.
//!
//! # Metrics
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `mcp_requests_total` | counter | `method`, `tool`, `outcome` (+ `error_code` when `outcome="rpc_error"`) | requests, one per JSON-RPC message of a POST and one per `GET`/`DELETE` |
//! | `mcp_request_duration_seconds` | histogram (seconds) | `method`, `tool`, `outcome` | from the request's arrival to the end of its response body (an SSE stream's whole life) |
//! | `mcp_refusals_total` | counter | `guard`, `reason` | requests a guard refused, by guard and reason (the response's [`Rejection`](mcp_guard_core::Rejection)) |
//! | `mcp_request_bytes_total` | counter (bytes) | `method`, `tool` | request body bytes |
//! | `mcp_response_bytes_total` | counter (bytes) | `method`, `tool` | response body bytes that went out |
//!
//! # Labels, and why each one is bounded
//!
//! Clients choose method and tool names, so a label taken verbatim from a
//! request would let any caller create series without end (memory in the
//! recorder, cost in the time-series database). Every label value here comes
//! from a fixed list or from a bounded set the server itself confirmed:
//!
//! | label | values |
//! |---|---|
//! | `method` | the JSON-RPC method when it is one MCP defines ([`MCP_METHODS`]), else `other`; for a request without one (a `GET` stream, a `DELETE`, a body that did not parse) the HTTP method: `GET`, `POST`, `DELETE`, `OPTIONS`, else `other` |
//! | `tool` | for `tools/call` and `prompts/get` only: the tool or prompt name once it is *known* (below), else `_other`; `""` for every other method (never a resource URI) |
//! | `outcome` | [`Outcome::label`]: `ok` (a result to the request's id was found, or a `GET`/`DELETE` ended with a 2xx), `unconfirmed` (a 2xx to a request whose answer was not found: not JSON-RPC, too large to scan, another id), `accepted` (a notification taken with a 2xx), `rpc_error`, `refused`, `http_error`, `aborted` |
//! | `error_code` | the JSON-RPC error code when it is a standard one (`-32700`, `-32600`…`-32603`, `-32000`, `-32001`, `-32002`, `-32020`, `-32022`, `-32042`), else `other` |
//! | `guard`, `reason` | `&'static str` names the guards define ([`mcp_guard_core::guard`]) |
//!
//! A tool (or prompt) name is known when the operator named it
//! ([`known_tools`](MetricsSink::known_tools),
//! [`known_prompts`](MetricsSink::known_prompts)), or once the handler
//! answered a call of it with a result ([`Outcome::Ok`]: the result to that
//! call's id was found in the response body): a real tool, not a name a
//! client made up. A notification naming a tool ([`Outcome::Accepted`]) and
//! a 2xx whose answer was not found ([`Outcome::Unconfirmed`]) teach nothing. At most [`max_learned_names`](MetricsSink::max_learned_names)
//! names ([`DEFAULT_MAX_LEARNED_NAMES`], 64) are learned that way; calls of any
//! other name are counted under `_other`. (A handler that answers calls of
//! unknown tools with a result rather than an error lets clients fill those
//! slots: name your tools with `known_tools` and set the bound to 0.)
//!
//! # Example
//!
//! Create the sink after installing the recorder (it describes the metrics to
//! it), and hand it to the [`ObserveLayer`](crate::ObserveLayer) wrapped around
//! the guards. A server installs `metrics-exporter-prometheus`'s recorder;
//! here `metrics-util`'s `DebuggingRecorder` shows what is recorded:
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer};
//! use mcp_observe::ObserveLayer;
//! use mcp_observe::metrics::{MetricsSink, REQUESTS_TOTAL};
//! use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! metrics::with_local_recorder(&recorder, || {
//!     runtime.block_on(async {
//!         let service = ServiceBuilder::new()
//!             .layer(ObserveLayer::new().sink(MetricsSink::new().max_learned_names(32)))
//!             .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
//!             .service_fn(|_request: Request<_>| async {
//!                 let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
//!                 Ok::<_, std::convert::Infallible>(
//!                     Response::builder()
//!                         .header("content-type", "application/json")
//!                         .body(Full::new(Bytes::from(answer)))
//!                         .unwrap(),
//!                 )
//!             });
//!         let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
//!         let request = Request::post("/mcp").body(Full::new(Bytes::from(call))).unwrap();
//!         let response = service.oneshot(request).await.unwrap();
//!         // The event is recorded when the response body ends.
//!         response.into_body().collect().await.unwrap();
//!     })
//! });
//!
//! // mcp_requests_total{method="tools/call",tool="echo",outcome="ok"} 1
//! let counted = snapshotter.snapshot().into_vec().into_iter().find(|(key, ..)| {
//!     let key = key.key();
//!     let label = |name: &str| key.labels().find(|label| label.key() == name).map(|label| label.value().to_owned());
//!     key.name() == REQUESTS_TOTAL
//!         && label("method").as_deref() == Some("tools/call")
//!         && label("tool").as_deref() == Some("echo")
//!         && label("outcome").as_deref() == Some("ok")
//! });
//! assert!(matches!(counted, Some((_, _, _, DebugValue::Counter(1)))));
//! ```

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use ::metrics::{SharedString, Unit, counter, describe_counter, describe_histogram, histogram};

use crate::{EventSink, Outcome, RequestEvent};

/// Requests, by `method`, `tool` and `outcome` (and `error_code` for
/// `rpc_error`).
pub const REQUESTS_TOTAL: &str = "mcp_requests_total";
/// Request durations in seconds, by `method`, `tool` and `outcome`.
pub const REQUEST_DURATION_SECONDS: &str = "mcp_request_duration_seconds";
/// Guard refusals, by `guard` and `reason`.
pub const REFUSALS_TOTAL: &str = "mcp_refusals_total";
/// Request body bytes, by `method` and `tool`.
pub const REQUEST_BYTES_TOTAL: &str = "mcp_request_bytes_total";
/// Response body bytes, by `method` and `tool`.
pub const RESPONSE_BYTES_TOTAL: &str = "mcp_response_bytes_total";

/// Histogram bucket bounds (seconds) that suit [`REQUEST_DURATION_SECONDS`]:
/// from a millisecond (a guard's refusal) to a minute (a long tool call or
/// SSE stream). Exporters that need bounds take these, e.g.
/// `PrometheusBuilder::set_buckets_for_metric(Matcher::Full(REQUEST_DURATION_SECONDS.into()), DURATION_BUCKETS)`.
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How many tool and prompt names a [`MetricsSink`] learns from answered
/// calls before it counts the rest under [`OTHER_NAME`].
pub const DEFAULT_MAX_LEARNED_NAMES: usize = 64;

/// The `tool` label of a call of a name that is not (yet) known.
pub const OTHER_NAME: &str = "_other";
/// The `method` label of a JSON-RPC method MCP does not define, and of an
/// unusual HTTP method.
pub const OTHER_METHOD: &str = "other";

/// The JSON-RPC methods a client sends a server, in every revision from
/// 2025-03-26 to 2026-07-28: the values the `method` label takes verbatim.
pub const MCP_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "subscriptions/listen",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/list",
    "tasks/result",
    "tasks/cancel",
    "tasks/update",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "notifications/elicitation/response",
    "notifications/tasks/status",
];

/// An [`EventSink`] that records every request in the metrics described in
/// the [module documentation](self), with bounded label values.
///
/// Create it after installing the recorder: [`new`](Self::new) describes the
/// metrics (help text, units) to the recorder installed at that moment.
#[derive(Debug)]
pub struct MetricsSink {
    max_learned: usize,
    names: RwLock<Names>,
}

/// The tool and prompt names that may be label values.
#[derive(Debug, Default)]
struct Names {
    tools: HashSet<Arc<str>>,
    prompts: HashSet<Arc<str>>,
    /// How many of them were learned from answered calls (the operator's
    /// `known_*` names do not count against the bound).
    learned: usize,
}

/// Which kind of name a call's target is.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Tool,
    Prompt,
}

impl Names {
    fn set(&self, kind: Kind) -> &HashSet<Arc<str>> {
        match kind {
            Kind::Tool => &self.tools,
            Kind::Prompt => &self.prompts,
        }
    }

    fn set_mut(&mut self, kind: Kind) -> &mut HashSet<Arc<str>> {
        match kind {
            Kind::Tool => &mut self.tools,
            Kind::Prompt => &mut self.prompts,
        }
    }
}

impl Default for MetricsSink {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsSink {
    /// A sink that learns up to [`DEFAULT_MAX_LEARNED_NAMES`] tool and prompt
    /// names, and describes its metrics to the installed recorder.
    pub fn new() -> Self {
        describe_metrics();
        MetricsSink {
            max_learned: DEFAULT_MAX_LEARNED_NAMES,
            names: RwLock::new(Names::default()),
        }
    }

    /// How many tool and prompt names (together) become `tool` label values
    /// from answered calls (default [`DEFAULT_MAX_LEARNED_NAMES`]); `0` keeps
    /// only the [`known_tools`](Self::known_tools) and
    /// [`known_prompts`](Self::known_prompts). The series of the metrics grow
    /// with it: each name adds a series per method and outcome it is seen with.
    #[must_use]
    pub fn max_learned_names(mut self, max: usize) -> Self {
        self.max_learned = max;
        self
    }

    /// Tool names that are label values from the first call, refused or not
    /// (your server's tools), beside those learned from answered calls. They
    /// do not count against [`max_learned_names`](Self::max_learned_names).
    #[must_use]
    pub fn known_tools<I>(self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.known(Kind::Tool, names)
    }

    /// Prompt names that are label values from the first `prompts/get`, like
    /// [`known_tools`](Self::known_tools).
    #[must_use]
    pub fn known_prompts<I>(self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.known(Kind::Prompt, names)
    }

    fn known<I>(mut self, kind: Kind, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let set = self
            .names
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .set_mut(kind);
        set.extend(names.into_iter().map(|name| Arc::from(name.into())));
        self
    }

    /// The `tool` label of a call of `name`: the name when it is known,
    /// learning it when `answered` and there is room, else [`OTHER_NAME`].
    fn name_label(&self, kind: Kind, name: &str, answered: bool) -> SharedString {
        {
            let names = self
                .names
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(known) = names.set(kind).get(name) {
                return SharedString::from(known.clone());
            }
            if !answered || names.learned >= self.max_learned {
                return SharedString::const_str(OTHER_NAME);
            }
        }
        let mut names = self
            .names
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another thread may have learned it, or filled the last slot, since
        // the read lock was let go.
        if let Some(known) = names.set(kind).get(name) {
            return SharedString::from(known.clone());
        }
        if names.learned >= self.max_learned {
            return SharedString::const_str(OTHER_NAME);
        }
        let learned: Arc<str> = Arc::from(name);
        names.set_mut(kind).insert(learned.clone());
        names.learned += 1;
        SharedString::from(learned)
    }
}

impl EventSink for MetricsSink {
    fn record(&self, event: &RequestEvent) {
        let method = method_label(event);
        let answered = event.outcome == Outcome::Ok;
        let tool = match (method, event.target.as_deref()) {
            ("tools/call", Some(name)) => self.name_label(Kind::Tool, name, answered),
            ("prompts/get", Some(name)) => self.name_label(Kind::Prompt, name, answered),
            ("tools/call" | "prompts/get", None) => SharedString::const_str(OTHER_NAME),
            _ => SharedString::const_str(""),
        };
        let outcome = event.outcome.label();

        match event.outcome {
            Outcome::RpcError { code } => counter!(
                REQUESTS_TOTAL,
                "method" => method,
                "tool" => tool.clone(),
                "outcome" => outcome,
                "error_code" => error_code_label(code),
            )
            .increment(1),
            _ => counter!(
                REQUESTS_TOTAL,
                "method" => method,
                "tool" => tool.clone(),
                "outcome" => outcome,
            )
            .increment(1),
        }
        histogram!(
            REQUEST_DURATION_SECONDS,
            "method" => method,
            "tool" => tool.clone(),
            "outcome" => outcome,
        )
        .record(event.duration.as_secs_f64());
        if let Outcome::Refused { guard, reason } = event.outcome {
            counter!(REFUSALS_TOTAL, "guard" => guard, "reason" => reason).increment(1);
        }
        if event.request_bytes > 0 {
            counter!(REQUEST_BYTES_TOTAL, "method" => method, "tool" => tool.clone())
                .increment(event.request_bytes);
        }
        if event.response_bytes > 0 {
            counter!(RESPONSE_BYTES_TOTAL, "method" => method, "tool" => tool)
                .increment(event.response_bytes);
        }
    }
}

/// Describes the metrics (help text and unit) to the recorder installed now.
/// [`MetricsSink::new`] calls it; call it yourself if you install the
/// recorder after creating the sink.
pub fn describe_metrics() {
    describe_counter!(
        REQUESTS_TOTAL,
        Unit::Count,
        "MCP requests by JSON-RPC method, tool or prompt, and outcome"
    );
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time from an MCP request's arrival to the end of its response body"
    );
    describe_counter!(
        REFUSALS_TOTAL,
        Unit::Count,
        "MCP requests a guard refused, by guard and reason"
    );
    describe_counter!(
        REQUEST_BYTES_TOTAL,
        Unit::Bytes,
        "Bytes of MCP request bodies"
    );
    describe_counter!(
        RESPONSE_BYTES_TOTAL,
        Unit::Bytes,
        "Bytes of MCP response bodies sent"
    );
}

/// A JSON-RPC method as a bounded value: the method when MCP defines it
/// ([`MCP_METHODS`]), else [`OTHER_METHOD`]. The `method` label, and the
/// request span's `otel.name`.
pub(crate) fn bounded_method(method: &str) -> &'static str {
    MCP_METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or(OTHER_METHOD)
}

/// The `method` label: an MCP method verbatim, else `other`; the HTTP method
/// for a request without a JSON-RPC method.
fn method_label(event: &RequestEvent) -> &'static str {
    match event.method.as_deref() {
        Some(method) => bounded_method(method),
        None => match event.http_method {
            http::Method::GET => "GET",
            http::Method::POST => "POST",
            http::Method::DELETE => "DELETE",
            http::Method::OPTIONS => "OPTIONS",
            _ => OTHER_METHOD,
        },
    }
}

/// The `error_code` label: a code JSON-RPC or MCP defines, else `other`.
fn error_code_label(code: i64) -> &'static str {
    match code {
        -32700 => "-32700",
        -32600 => "-32600",
        -32601 => "-32601",
        -32602 => "-32602",
        -32603 => "-32603",
        -32000 => "-32000",
        -32001 => "-32001",
        -32002 => "-32002",
        -32020 => "-32020",
        -32022 => "-32022",
        -32042 => "-32042",
        _ => OTHER_METHOD,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::{BTreeMap, BTreeSet};
    use std::time::{Duration, SystemTime};

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    fn event(method: Option<&str>, target: Option<&str>, outcome: Outcome) -> RequestEvent {
        RequestEvent {
            time: SystemTime::now(),
            caller: None,
            session_id: None,
            protocol_version: None,
            http_method: http::Method::POST,
            status: http::StatusCode::OK,
            method: method.map(str::to_owned),
            request_id: None,
            target: target.map(str::to_owned),
            outcome,
            duration: Duration::from_millis(5),
            request_bytes: 100,
            response_bytes: 250,
            arguments: None,
            traceparent: None,
        }
    }

    fn call(tool: &str, outcome: Outcome) -> RequestEvent {
        event(Some("tools/call"), Some(tool), outcome)
    }

    /// One series of a snapshot: name, labels (sorted), unit, whether it was
    /// described, value.
    type Series = (
        String,
        BTreeMap<String, String>,
        Option<Unit>,
        bool,
        DebugValue,
    );

    /// What a recorder received. (A `DebuggingRecorder` snapshot drains the
    /// counters, so it is taken once.)
    struct Recorded(Vec<Series>);

    impl Recorded {
        /// Every series of `name`: its labels and value.
        fn series(&self, name: &str) -> Vec<(&BTreeMap<String, String>, &DebugValue)> {
            self.0
                .iter()
                .filter(|series| series.0 == name)
                .map(|series| (&series.1, &series.4))
                .collect()
        }

        /// The `tool` label values of `name`'s series.
        fn tools(&self, name: &str) -> BTreeSet<String> {
            self.series(name)
                .into_iter()
                .map(|(labels, _)| labels["tool"].clone())
                .collect()
        }

        /// The counter `name` with exactly the labels `pairs`.
        fn counter(&self, name: &str, pairs: &[(&str, &str)]) -> Option<u64> {
            let wanted = labels(pairs);
            self.series(name)
                .into_iter()
                .find(|(labels, _)| **labels == wanted)
                .map(|(_, value)| match value {
                    DebugValue::Counter(count) => *count,
                    other => panic!("{name} is not a counter: {other:?}"),
                })
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    /// Records `events` through a fresh sink (built by `sink`) into a local
    /// recorder.
    fn record(sink: impl FnOnce() -> MetricsSink, events: &[RequestEvent]) -> Recorded {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        ::metrics::with_local_recorder(&recorder, || {
            let sink = sink();
            for event in events {
                sink.record(event);
            }
        });
        Recorded(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, unit, description, value)| {
                    let labels = key
                        .key()
                        .labels()
                        .map(|label| (label.key().to_owned(), label.value().to_owned()))
                        .collect();
                    (
                        key.key().name().to_owned(),
                        labels,
                        unit,
                        description.is_some(),
                        value,
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn an_answered_call_counts_by_method_tool_and_outcome() {
        let recorded = record(
            MetricsSink::new,
            &[call("echo", Outcome::Ok), call("echo", Outcome::Ok)],
        );
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "tools/call"),
                    ("tool", "echo"),
                    ("outcome", "ok")
                ]
            ),
            Some(2)
        );
        let durations = recorded.series(REQUEST_DURATION_SECONDS);
        assert_eq!(durations.len(), 1);
        assert_eq!(
            *durations[0].0,
            labels(&[
                ("method", "tools/call"),
                ("tool", "echo"),
                ("outcome", "ok")
            ])
        );
        match durations[0].1 {
            DebugValue::Histogram(values) => {
                assert_eq!(values.len(), 2);
                assert!(values.iter().all(|value| (value.0 - 0.005).abs() < 1e-9));
            }
            other => panic!("not a histogram: {other:?}"),
        }
        assert_eq!(
            recorded.counter(
                REQUEST_BYTES_TOTAL,
                &[("method", "tools/call"), ("tool", "echo")]
            ),
            Some(200)
        );
        assert_eq!(
            recorded.counter(
                RESPONSE_BYTES_TOTAL,
                &[("method", "tools/call"), ("tool", "echo")]
            ),
            Some(500)
        );
        assert!(recorded.series(REFUSALS_TOTAL).is_empty());
    }

    #[test]
    fn a_refusal_counts_by_guard_and_reason() {
        let refused = Outcome::Refused {
            guard: "bearer-auth",
            reason: "insufficient_scope",
        };
        let recorded = record(
            MetricsSink::new,
            &[call("admin_echo", Outcome::Ok), call("admin_echo", refused)],
        );
        assert_eq!(
            recorded.counter(
                REFUSALS_TOTAL,
                &[("guard", "bearer-auth"), ("reason", "insufficient_scope")]
            ),
            Some(1)
        );
        // The tool is known (it answered before), so its refusal names it.
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "tools/call"),
                    ("tool", "admin_echo"),
                    ("outcome", "refused")
                ]
            ),
            Some(1)
        );
    }

    #[test]
    fn a_name_no_call_answered_is_counted_as_other() {
        let refused = Outcome::Refused {
            guard: "bearer-auth",
            reason: "missing_token",
        };
        let recorded = record(
            MetricsSink::new,
            &[
                call("made_up", refused),
                call("made_up", Outcome::RpcError { code: -32602 }),
                call("made_up", Outcome::HttpError),
            ],
        );
        let tools: BTreeSet<_> = recorded.tools(REQUESTS_TOTAL);
        assert_eq!(tools, BTreeSet::from([OTHER_NAME.to_owned()]));
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "tools/call"),
                    ("tool", OTHER_NAME),
                    ("outcome", "rpc_error"),
                    ("error_code", "-32602")
                ]
            ),
            Some(1)
        );
    }

    #[test]
    fn only_a_found_result_teaches_a_name() {
        let recorded = record(
            MetricsSink::new,
            &[
                call("notified", Outcome::Accepted),
                call("notified", Outcome::Accepted),
                call("unseen", Outcome::Unconfirmed),
                call("unseen", Outcome::Unconfirmed),
            ],
        );
        assert_eq!(
            recorded.tools(REQUESTS_TOTAL),
            BTreeSet::from([OTHER_NAME.to_owned()])
        );
        for outcome in ["accepted", "unconfirmed"] {
            assert_eq!(
                recorded.counter(
                    REQUESTS_TOTAL,
                    &[
                        ("method", "tools/call"),
                        ("tool", OTHER_NAME),
                        ("outcome", outcome)
                    ]
                ),
                Some(2),
                "{outcome}"
            );
        }
    }

    #[test]
    fn known_tools_are_labels_from_the_first_call() {
        let refused = Outcome::Refused {
            guard: "bearer-auth",
            reason: "missing_token",
        };
        let recorded = record(
            || {
                MetricsSink::new()
                    .known_tools(["admin_echo"])
                    .max_learned_names(0)
            },
            &[call("admin_echo", refused), call("echo", Outcome::Ok)],
        );
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "tools/call"),
                    ("tool", "admin_echo"),
                    ("outcome", "refused")
                ]
            ),
            Some(1)
        );
        // Nothing is learned with a bound of 0.
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "tools/call"),
                    ("tool", OTHER_NAME),
                    ("outcome", "ok")
                ]
            ),
            Some(1)
        );
    }

    #[test]
    fn tools_and_prompts_are_known_apart() {
        let recorded = record(
            MetricsSink::new,
            &[
                event(Some("prompts/get"), Some("greet"), Outcome::Ok),
                call("greet", Outcome::RpcError { code: -32602 }),
            ],
        );
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "prompts/get"),
                    ("tool", "greet"),
                    ("outcome", "ok")
                ]
            ),
            Some(1)
        );
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "tools/call"),
                    ("tool", OTHER_NAME),
                    ("outcome", "rpc_error"),
                    ("error_code", "-32602")
                ]
            ),
            Some(1)
        );
    }

    #[test]
    fn ten_thousand_random_tool_names_make_at_most_the_bound_plus_one_labels() {
        const BOUND: usize = 16;
        // Worst case: a handler that answers every name with a result, so
        // every made-up name would qualify.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let events: Vec<_> = (0..10_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                call(&format!("tool-{state:016x}"), Outcome::Ok)
            })
            .collect();
        let recorded = record(|| MetricsSink::new().max_learned_names(BOUND), &events);
        for name in [
            REQUESTS_TOTAL,
            REQUEST_DURATION_SECONDS,
            REQUEST_BYTES_TOTAL,
            RESPONSE_BYTES_TOTAL,
        ] {
            let tools: BTreeSet<_> = recorded.tools(name);
            assert_eq!(tools.len(), BOUND + 1, "{name}: {tools:?}");
            assert!(tools.contains(OTHER_NAME));
        }
        let total: u64 = recorded
            .series(REQUESTS_TOTAL)
            .into_iter()
            .map(|(_, value)| match value {
                DebugValue::Counter(count) => *count,
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(
            total, 10_000,
            "every call is counted, under a name or _other"
        );
    }

    #[test]
    fn the_default_bound_is_64() {
        let events: Vec<_> = (0..1_000)
            .map(|i| call(&format!("t{i}"), Outcome::Ok))
            .collect();
        let recorded = record(MetricsSink::new, &events);
        let tools: BTreeSet<_> = recorded.tools(REQUESTS_TOTAL);
        assert_eq!(tools.len(), DEFAULT_MAX_LEARNED_NAMES + 1);
    }

    #[test]
    fn unknown_methods_and_resource_uris_never_become_labels() {
        let mut get = event(None, None, Outcome::Ok);
        get.http_method = http::Method::GET;
        let mut custom = event(None, None, Outcome::HttpError);
        custom.http_method = http::Method::from_bytes(b"BREW").unwrap();
        let recorded = record(
            MetricsSink::new,
            &[
                event(
                    Some("x/made-up-1"),
                    None,
                    Outcome::RpcError { code: -32601 },
                ),
                event(Some("x/made-up-2"), None, Outcome::RpcError { code: 12345 }),
                event(
                    Some("resources/read"),
                    Some("file:///secret/a"),
                    Outcome::Ok,
                ),
                event(
                    Some("resources/read"),
                    Some("file:///secret/b"),
                    Outcome::Ok,
                ),
                get,
                custom,
            ],
        );
        let seen: BTreeSet<_> = recorded
            .series(REQUESTS_TOTAL)
            .into_iter()
            .map(|(labels, _)| {
                (
                    labels["method"].clone(),
                    labels["tool"].clone(),
                    labels.get("error_code").cloned(),
                )
            })
            .collect();
        let expected: BTreeSet<_> = [
            ("other", "", Some("-32601")),
            ("other", "", Some("other")),
            ("resources/read", "", None),
            ("GET", "", None),
            ("other", "", None),
        ]
        .into_iter()
        .map(|(method, tool, code)| (method.to_owned(), tool.to_owned(), code.map(str::to_owned)))
        .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn every_mcp_method_is_its_own_label() {
        let events: Vec<_> = MCP_METHODS
            .iter()
            .map(|method| event(Some(method), None, Outcome::Ok))
            .collect();
        let recorded = record(MetricsSink::new, &events);
        let methods: BTreeSet<_> = recorded
            .series(REQUESTS_TOTAL)
            .into_iter()
            .map(|(labels, _)| labels["method"].clone())
            .collect();
        assert_eq!(
            methods,
            MCP_METHODS
                .iter()
                .map(|method| (*method).to_owned())
                .collect()
        );
    }

    #[test]
    fn the_sink_describes_its_metrics_with_units() {
        let recorded = record(MetricsSink::new, &[call("echo", Outcome::Ok)]);
        let described: BTreeMap<_, _> = recorded
            .0
            .iter()
            .map(|(name, _, unit, described, _)| (name.clone(), (*unit, *described)))
            .collect();
        assert_eq!(described[REQUESTS_TOTAL], (Some(Unit::Count), true));
        assert_eq!(
            described[REQUEST_DURATION_SECONDS],
            (Some(Unit::Seconds), true)
        );
        assert_eq!(described[REQUEST_BYTES_TOTAL], (Some(Unit::Bytes), true));
    }

    #[test]
    fn no_bytes_no_byte_series() {
        let mut quiet = call("echo", Outcome::Aborted);
        quiet.request_bytes = 0;
        quiet.response_bytes = 0;
        let recorded = record(MetricsSink::new, &[quiet]);
        assert!(recorded.series(REQUEST_BYTES_TOTAL).is_empty());
        assert!(recorded.series(RESPONSE_BYTES_TOTAL).is_empty());
        assert_eq!(
            recorded.counter(
                REQUESTS_TOTAL,
                &[
                    ("method", "tools/call"),
                    ("tool", OTHER_NAME),
                    ("outcome", "aborted")
                ]
            ),
            Some(1)
        );
    }
}
