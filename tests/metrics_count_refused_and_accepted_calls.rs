//! The example server started with `--metrics` counts what real MCP clients
//! do: a scrape of `/metrics` (Prometheus text) after accepted and refused
//! calls shows both, by method, tool and outcome, and the refusals by guard
//! and reason. Clients: the rmcp client (Rust) and the official Python SDK.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use support::{ExampleServer, mcp_http, python_client, rmcp_client};

/// One sample of a Prometheus text scrape: metric name and labels.
type Series = (String, BTreeMap<String, String>);

/// A parsed scrape of `/metrics`.
#[derive(Debug)]
struct Scrape {
    text: String,
    samples: BTreeMap<Series, f64>,
}

impl Scrape {
    /// The sample `name{labels}` (exactly these labels), if there is one.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels = labels
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        self.samples.get(&(name.to_owned(), labels)).copied()
    }

    /// The sample `name{labels}`, 0 when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// The sum of `name`'s samples whose labels include `labels` (whatever
    /// their other labels).
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|((sample, have), _)| {
                sample == name
                    && labels
                        .iter()
                        .all(|(key, value)| have.get(*key).map(String::as_str) == Some(*value))
            })
            .map(|(_, value)| value)
            .sum()
    }
}

/// Parses the Prometheus text exposition format (the subset the exporter
/// writes: `name{k="v",…} value` and `name value` lines, `#` comments).
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a sample value: {line:?}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
        };
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// `k="v",k2="v2"` with the format's escapes (`\"`, `\\`, `\n`).
fn parse_labels(mut rest: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().unwrap() {
                (_, '\\') => match chars.next().unwrap().1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (index, '"') => break index,
                (_, other) => value.push(other),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

/// `GET /metrics` of `server`, checked for status and content type.
async fn scrape(http: &reqwest::Client, server: &ExampleServer) -> Scrape {
    let response = http
        .get(format!("{}/metrics", server.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = response.text().await.unwrap();
    Scrape {
        samples: parse(&text),
        text,
    }
}

/// Scrapes until `done` holds (an event is recorded when its response body
/// ends, which may be a moment after the client has read it), at most 5 s;
/// returns the last scrape either way, for the assertions to explain.
async fn scrape_until(
    http: &reqwest::Client,
    server: &ExampleServer,
    done: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let scraped = scrape(http, server).await;
        if done(&scraped) || tokio::time::Instant::now() >= deadline {
            return scraped;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const REQUESTS: &str = "mcp_requests_total";
const REFUSALS: &str = "mcp_refusals_total";

fn tools_call(tool: &'static str, outcome: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("method", "tools/call"),
        ("tool", tool),
        ("outcome", outcome),
    ]
}

async fn rmcp_session(
    url: &str,
    token: &str,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let config =
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token.to_owned());
    rmcp_client::connect(
        (),
        StreamableHttpClientTransport::from_config(config),
        false,
    )
    .await
    .expect("the rmcp client starts through the guards")
}

fn call(name: &str, arguments: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name.to_owned())
        .with_arguments(arguments.as_object().unwrap().clone())
}

fn start_with_metrics() -> ExampleServer {
    support::start_within(
        &["--preset", "remote", "--metrics"],
        Duration::from_secs(30),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_shows_the_rmcp_clients_accepted_and_refused_calls_by_guard_tool_and_outcome() {
    let server = start_with_metrics();
    let http = reqwest::Client::new();

    let before = scrape(&http, &server).await;
    assert_eq!(before.value(REQUESTS, &tools_call("echo", "ok")), 0.0);

    // Accepted: echo and admin_echo with the development token (every scope).
    // An answered call is what makes a tool name a label value.
    let full = server.token.clone().unwrap();
    let client = rmcp_session(&server.url, &full).await;
    for tool in ["echo", "admin_echo"] {
        client
            .call_tool(call(tool, json!({"text": "counted"})))
            .await
            .unwrap_or_else(|error| panic!("{tool} with every scope: {error}"));
    }
    // A name no tool has: answered with a JSON-RPC error, so it never
    // becomes a label value (clients must not mint series).
    let made_up = "no_such_tool_d2f1c0";
    assert!(client.call_tool(call(made_up, json!({}))).await.is_err());
    client.cancel().await.unwrap();

    // Refused by bearer-auth (403 insufficient_scope): admin_echo with a
    // token that lacks mcp:admin.
    let limited = server.token_with_scope("mcp").await;
    let client = rmcp_session(&server.url, &limited).await;
    let refused = client
        .call_tool(call("admin_echo", json!({"text": "root"})))
        .await;
    assert!(
        refused.is_err(),
        "admin_echo without mcp:admin: {refused:?}"
    );
    client.cancel().await.unwrap();

    // Refused by bearer-auth (401 missing_token): echo without a token.
    let tokenless = mcp_http::post(
        &http,
        &server.url,
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "no token"}}}),
        None,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(tokenless.status(), 401);

    let scraped = scrape_until(&http, &server, |scraped| {
        scraped.value(REQUESTS, &tools_call("echo", "refused")) >= 1.0
            && scraped.value(REQUESTS, &tools_call("admin_echo", "refused")) >= 1.0
    })
    .await;
    let text = &scraped.text;

    // Accepted calls, by tool and outcome.
    assert_eq!(
        scraped.get(REQUESTS, &tools_call("echo", "ok")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scraped.get(REQUESTS, &tools_call("admin_echo", "ok")),
        Some(1.0),
        "{text}"
    );
    // Refused calls, by tool and outcome…
    assert_eq!(
        scraped.get(REQUESTS, &tools_call("admin_echo", "refused")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scraped.get(REQUESTS, &tools_call("echo", "refused")),
        Some(1.0),
        "{text}"
    );
    // …and by guard and reason.
    assert_eq!(
        scraped.get(
            REFUSALS,
            &[("guard", "bearer-auth"), ("reason", "insufficient_scope")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scraped.get(
            REFUSALS,
            &[("guard", "bearer-auth"), ("reason", "missing_token")]
        ),
        Some(1.0),
        "{text}"
    );
    // The made-up tool's call is counted, under `_other`, with its error code.
    assert!(
        !text.contains(made_up),
        "a client-chosen name became a label: {text}"
    );
    assert_eq!(
        scraped.get(
            REQUESTS,
            &[
                ("method", "tools/call"),
                ("tool", "_other"),
                ("outcome", "rpc_error"),
                ("error_code", "-32602")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    // The handshakes (one per rmcp session) are counted too, by their method.
    assert_eq!(
        scraped.sum(REQUESTS, &[("method", "initialize"), ("outcome", "ok")]),
        2.0,
        "{text}"
    );
    // Latency, as a histogram with buckets.
    assert_eq!(
        scraped.get(
            "mcp_request_duration_seconds_count",
            &tools_call("echo", "ok")
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        scraped.samples.keys().any(
            |(name, labels)| name == "mcp_request_duration_seconds_bucket"
                && labels.get("le").map(String::as_str) == Some("+Inf")
        ),
        "{text}"
    );
    // Every metric is described.
    for name in [
        "mcp_requests_total",
        "mcp_request_duration_seconds",
        "mcp_refusals_total",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_shows_the_python_sdks_accepted_and_refused_calls() {
    let server = start_with_metrics();
    let http = reqwest::Client::new();
    let full = server.token.clone().unwrap();
    let limited = server.token_with_scope("mcp").await;
    let url = server.url.clone();
    let (admin, step_up) = tokio::task::spawn_blocking(move || {
        (
            python_client(&url, "legacy", Some(&full)),
            python_client(&url, "legacy", Some(&limited)),
        )
    })
    .await
    .unwrap();
    assert_eq!(admin["admin_echo"], "root", "{admin}");
    assert!(step_up.get("admin_echo").is_none(), "{step_up}");

    let scraped = scrape_until(&http, &server, |scraped| {
        scraped.value(REQUESTS, &tools_call("admin_echo", "refused")) >= 1.0
    })
    .await;
    let text = &scraped.text;
    // Both clients called echo; only the one with mcp:admin got admin_echo.
    assert_eq!(
        scraped.get(REQUESTS, &tools_call("echo", "ok")),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        scraped.get(REQUESTS, &tools_call("admin_echo", "ok")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scraped.get(REQUESTS, &tools_call("admin_echo", "refused")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scraped.get(
            REFUSALS,
            &[("guard", "bearer-auth"), ("reason", "insufficient_scope")]
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_there_is_no_metrics_endpoint() {
    let server = support::start_within(&["--preset", "remote"], Duration::from_secs(30));
    let response = reqwest::get(format!("{}/metrics", server.origin()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
