//! `--metrics`: every MCP request counted by method, tool and outcome, and
//! every refusal by guard and reason (`mcp-observe`'s `MetricsSink` behind an
//! `ObserveLayer` outside the guards), served as Prometheus text at
//! `GET /metrics`.
//!
//! The order matters: [`install`] the Prometheus recorder first, then build
//! the [`observe_layer`] (its `MetricsSink` describes the metrics — help text,
//! units — to the recorder installed at that moment), then merge [`routes`].
//!
//! `/metrics` sits beside `/mcp`, outside the guards: a Prometheus scraper
//! sends no MCP headers and no token. What it shows (tool names, call volumes,
//! refusals) is operational detail; on a public server serve it on an
//! internal address or put it behind your own access control.

use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use mcp_observe::ObserveLayer;
use mcp_observe::metrics::{DURATION_BUCKETS, MetricsSink, REQUEST_DURATION_SECONDS};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The content type of Prometheus's text exposition format.
pub(crate) const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

/// How often histogram samples are folded into the buckets when nobody
/// scrapes: the recorder keeps raw samples until then, so without upkeep an
/// unscraped server's memory would grow with every request.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder as the process's `metrics` recorder, with
/// real histogram buckets for request durations (a summary otherwise), and
/// starts its upkeep. Call it inside the Tokio runtime, once.
pub(crate) fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(REQUEST_DURATION_SECONDS.to_owned()),
            DURATION_BUCKETS,
        )
        .map_err(|error| format!("--metrics: {error}"))?
        .install_recorder()
        .map_err(|error| format!("--metrics: cannot install the Prometheus recorder: {error}"))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            interval.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// What `--metrics` stacks outside the guards: the observe layer (its audit
/// events go to `tracing`, target `mcp_observe::audit`) with the metrics sink.
pub(crate) fn observe_layer() -> ObserveLayer {
    ObserveLayer::new().sink(MetricsSink::new())
}

/// `GET /metrics`: what the recorder holds, in Prometheus's text format.
pub(crate) fn routes(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { ([(CONTENT_TYPE, PROMETHEUS_TEXT)], handle.render()) }
        }),
    )
}
