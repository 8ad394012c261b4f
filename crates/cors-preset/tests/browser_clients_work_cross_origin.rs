//! A real browser, cross-origin: headless Chromium loads a page from one
//! loopback origin that `fetch`es an rmcp Streamable HTTP server on another
//! port, behind the origin guard and the CORS preset.
//!
//! - An allowed origin initializes, reads `Mcp-Session-Id` from the response
//!   (only possible because the preset exposes it), sends it back, and lists the
//!   tools; a non-MCP request header is refused by the preflight.
//! - A disallowed origin's fetch fails and never reaches the MCP handler.
//!
//! The page reports what it saw to its own server; the test asserts on that.
//! Needs Chromium (Debian package `chromium`; scripts/test.sh installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use mcp_cors_preset::McpCorsLayer;
use mcp_origin_guard::{Allowlist, OriginGuardLayer};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower::ServiceBuilder;

/// A real rmcp server with one tool.
#[derive(Debug, Clone)]
struct Greeter;

#[tool_router]
impl Greeter {
    #[tool(description = "Says hello to the browser")]
    fn greet(&self) -> String {
        "hello, browser".to_owned()
    }
}

#[tool_handler]
impl ServerHandler for Greeter {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// Starts the MCP server: origin guard → CORS preset → (request counter) → rmcp.
async fn start_mcp_server(allowlist: Allowlist, handler_calls: Arc<AtomicUsize>) -> SocketAddr {
    let rmcp = StreamableHttpService::new(
        || Ok(Greeter),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default().with_sse_keep_alive(None),
    );
    let guarded = ServiceBuilder::new()
        .layer(OriginGuardLayer::new(allowlist.clone()))
        .layer(McpCorsLayer::new(allowlist))
        .map_request(move |request: http::Request<axum::body::Body>| {
            handler_calls.fetch_add(1, Ordering::SeqCst);
            request
        })
        .service(rmcp);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    serve_on(listener, Router::new().route_service("/mcp", guarded));
    addr
}

/// Starts the page server: `/` serves the test page, `/report` takes its result.
async fn start_page_server(
    listener: TcpListener,
    mcp: SocketAddr,
    reports: mpsc::Sender<serde_json::Value>,
) {
    let page = PAGE.replace("{MCP_URL}", &format!("http://{mcp}/mcp"));
    let app = Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route(
            "/report",
            post(
                |State(reports): State<mpsc::Sender<serde_json::Value>>, body: String| async move {
                    let report =
                        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
                    let _ = reports.send(report).await;
                },
            ),
        )
        .with_state(reports);
    serve_on(listener, app);
}

fn serve_on(listener: TcpListener, app: Router) {
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// The page: initialize, read the session id, send it back, list tools, then
/// try a request header the preset must not grant. Reports to its own origin.
const PAGE: &str = r#"<!doctype html>
<html><body><script>
const MCP = "{MCP_URL}";
const HEADERS = {
  "content-type": "application/json",
  "accept": "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};
async function run() {
  const report = { origin: location.origin };
  try {
    const init = await fetch(MCP, { method: "POST", headers: HEADERS, body: JSON.stringify({
      jsonrpc: "2.0", id: 1, method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "chromium-test", version: "1" } } }) });
    report.initStatus = init.status;
    report.sessionId = init.headers.get("mcp-session-id");
    report.initBody = await init.text();
    const session = { ...HEADERS, "mcp-session-id": report.sessionId };
    const initialized = await fetch(MCP, { method: "POST", headers: session,
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    report.initializedStatus = initialized.status;
    const list = await fetch(MCP, { method: "POST", headers: { ...session, "mcp-param-region": "eu" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }) });
    report.listStatus = list.status;
    report.listBody = await list.text();
    try {
      await fetch(MCP, { method: "POST", headers: { ...session, "x-not-mcp": "1" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }) });
      report.nonMcpHeader = "granted";
    } catch (error) {
      report.nonMcpHeader = "refused: " + error;
    }
  } catch (error) {
    report.error = String(error);
  }
  await fetch("/report", { method: "POST", body: JSON.stringify(report) });
}
run();
</script></body></html>
"#;

fn chromium_binary() -> String {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return path;
    }
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {candidate}")])
            .output()
            .is_ok_and(|output| output.status.success());
        if found {
            return candidate.to_owned();
        }
    }
    panic!(
        "this test needs headless Chromium, which is not on the PATH: run `bash scripts/test.sh` \
         (it installs Chromium and every other tool the tests use), install the Debian package \
         `chromium`, or set CHROMIUM=/path/to/chrome"
    );
}

/// Opens `url` in headless Chromium and waits for the page's report.
async fn visit(url: &str, reports: &mut mpsc::Receiver<serde_json::Value>) -> serde_json::Value {
    let profile = std::env::temp_dir().join(format!(
        "mcp-guard-chromium-{}-{}",
        std::process::id(),
        url.len() ^ url.bytes().map(usize::from).sum::<usize>()
    ));
    let mut browser = tokio::process::Command::new(chromium_binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("Chromium could not be started");
    let report = tokio::time::timeout(Duration::from_secs(60), reports.recv())
        .await
        .expect("the page reported nothing within 60 s")
        .expect("the report channel closed");
    let _ = browser.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_origin_gets_a_session_and_a_disallowed_origin_is_refused() {
    let handler_calls = Arc::new(AtomicUsize::new(0));
    let (report_sender, mut reports) = mpsc::channel(4);

    // The page server is reachable as two origins: http://127.0.0.1:PORT
    // (allowed) and http://localhost:PORT (not allowed).
    let page_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_port = page_listener.local_addr().unwrap().port();
    let allowlist = Allowlist::builder()
        .allow_hosts(["127.0.0.1:*", "localhost:*"])
        .allow_origin(format!("http://127.0.0.1:{page_port}"))
        .build()
        .unwrap();
    let mcp = start_mcp_server(allowlist, handler_calls.clone()).await;
    start_page_server(page_listener, mcp, report_sender).await;

    let allowed = visit(&format!("http://127.0.0.1:{}/", page_port), &mut reports).await;
    assert_eq!(
        allowed["origin"],
        format!("http://127.0.0.1:{page_port}"),
        "{allowed:#}"
    );
    assert!(allowed.get("error").is_none(), "{allowed:#}");
    assert_eq!(allowed["initStatus"], 200, "{allowed:#}");
    assert!(
        allowed["initBody"]
            .as_str()
            .unwrap()
            .contains("\"serverInfo\""),
        "{allowed:#}"
    );
    let session_id = allowed["sessionId"]
        .as_str()
        .expect("the page could not read Mcp-Session-Id");
    assert!(!session_id.is_empty());
    assert_eq!(allowed["initializedStatus"], 202, "{allowed:#}");
    assert_eq!(allowed["listStatus"], 200, "{allowed:#}");
    assert!(
        allowed["listBody"].as_str().unwrap().contains("\"greet\""),
        "{allowed:#}"
    );
    assert!(
        allowed["nonMcpHeader"]
            .as_str()
            .unwrap()
            .starts_with("refused"),
        "a non-MCP request header must not be granted: {allowed:#}"
    );
    let calls_after_allowed = handler_calls.load(Ordering::SeqCst);
    assert_eq!(
        calls_after_allowed, 3,
        "initialize, initialized, tools/list"
    );

    let refused = visit(&format!("http://localhost:{}/", page_port), &mut reports).await;
    assert_eq!(
        refused["origin"],
        format!("http://localhost:{page_port}"),
        "{refused:#}"
    );
    assert!(refused.get("initStatus").is_none(), "{refused:#}");
    assert!(
        refused["error"].as_str().unwrap().contains("TypeError"),
        "{refused:#}"
    );
    assert_eq!(
        handler_calls.load(Ordering::SeqCst),
        calls_after_allowed,
        "a disallowed origin reached the MCP handler"
    );
}
