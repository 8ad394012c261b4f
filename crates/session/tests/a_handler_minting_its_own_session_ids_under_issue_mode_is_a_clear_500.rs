//! The session layer in issue mode mints the session ids; rmcp left at its
//! defaults (legacy session mode) mints its own too. The layer used to
//! overwrite rmcp's id silently, and every request after initialize then
//! failed inside rmcp with nothing in the logs. Now the initialize gets a
//! `500` JSON-RPC error naming the setting to change, no session is created
//! (rmcp's is ended too), and the layer logs one error saying the same.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::Rejection;
use mcp_session::store::MemorySessionStore;
use mcp_session::{Mode, SessionGuardLayer};
use rmcp::ServerHandler;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

#[derive(Debug, Clone)]
struct Quiet;

impl ServerHandler for Quiet {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().build())
    }
}

/// The log events of the `mcp_session` crate: level and fields, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl Captured {
    fn errors_containing(&self, needle: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(level, text)| *level == tracing::Level::ERROR && text.contains(needle))
            .count()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

/// The smallest subscriber that keeps this crate's events (the crate has no
/// `tracing-subscriber` among its dev-dependencies).
impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if !event.metadata().target().starts_with("mcp_session") {
            return;
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn initialize(id: u64) -> Request<Full<Bytes>> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn rmcp_at_its_defaults_behind_issue_mode_gets_a_500_naming_the_setting() {
    let logs = Captured::default();
    // Current-thread runtime: rmcp's tasks log on this thread too.
    let _default = tracing::subscriber::set_default(logs.clone());

    let sessions = Arc::new(LocalSessionManager::default());
    let rmcp = StreamableHttpService::new(
        || Ok(Quiet),
        sessions.clone(),
        // rmcp's defaults: legacy session mode on, rmcp mints session ids.
        StreamableHttpServerConfig::default(),
    );
    let layer = SessionGuardLayer::builder(Mode::Issue, MemorySessionStore::new())
        .build()
        .unwrap();
    let store = layer.store().unwrap().clone();
    let service = layer.layer(rmcp);

    for id in [1, 2] {
        let response = service.clone().oneshot(initialize(id)).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !response.headers().contains_key("mcp-session-id"),
            "no session id of either minter is handed out"
        );
        let rejection = *response.extensions().get::<Rejection>().unwrap();
        assert_eq!(
            (rejection.guard, rejection.reason),
            ("session", "handler_minted_session_id")
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["id"], id, "the error answers the initialize: {body}");
        assert_eq!(body["error"]["code"], -32603, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("with_legacy_session_mode(false)") && message.contains("Mode::Track"),
            "the message names the setting to change: {message}"
        );
    }

    assert_eq!(store.live_sessions().await, 0, "no session was created");
    assert!(
        sessions.sessions.read().await.is_empty(),
        "rmcp's own sessions were ended too"
    );
    assert_eq!(
        logs.errors_containing("with_legacy_session_mode(false)"),
        1,
        "one error for the operator, not one per initialize: {:?}",
        logs.0.lock().unwrap()
    );
}
