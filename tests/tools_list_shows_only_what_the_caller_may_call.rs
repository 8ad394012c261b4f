//! The preset with bearer auth, a scope policy that reserves `admin_echo` for
//! `mcp:admin`, and the discovery filter on, in front of a real rmcp server
//! with the tools `echo` and `admin_echo`, used by the real rmcp client in
//! both eras: a token with scope `mcp` is not shown `admin_echo` and calling
//! it gets the `403 insufficient_scope` step-up challenge; a token with `mcp
//! mcp:admin` is shown it and calls it. With the filter off (the default),
//! `admin_echo` is listed to everyone, and still refused.

#![cfg(all(feature = "default", feature = "remote"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use mcp_guard::McpGuard;
use mcp_guard::bearer_auth::ScopePolicy;
use mcp_guard_test_support::jwt::unix_now;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ClientConfig,
    ContentBlock, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use support::mcp_http;
use support::rmcp_client::connect;

const EC_KEY: &[u8] = include_bytes!("../crates/bearer-auth/tests/keys/ec.pem");

/// A server with two tools, one of them for administrators.
#[derive(Clone)]
struct Tools;

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = Arc::new(serde_json::Map::from_iter([(
            "type".to_owned(),
            json!("object"),
        )]));
        let mut result = ListToolsResult::with_all_items(vec![
            Tool::new("echo", "echoes", schema.clone()),
            Tool::new("admin_echo", "echoes, for administrators", schema),
        ]);
        // The handler would let every caller share this list: the filter
        // must make it private.
        result.ttl_ms = Some(60_000);
        result.cache_scope = Some(CacheScope::Public);
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        Ok(CallToolResult::success(vec![ContentBlock::text(request.name.to_string())]).into())
    }
}

/// An issuer serving its JWKS (one EC key) on loopback.
async fn start_issuer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(EC_KEY).unwrap();
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("ec".into());
    let set = serde_json::to_value(jsonwebtoken::jwk::JwkSet { keys: vec![jwk] }).unwrap();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let set = set.clone();
            async move { axum::Json(set) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

/// The test server: its endpoint URL and issuer.
struct Server {
    url: String,
    issuer: String,
}

impl Server {
    async fn start(filter: bool) -> Server {
        let issuer = start_issuer().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/mcp",
            listener.local_addr().unwrap().port()
        );
        let policy = ScopePolicy::new()
            .require(["mcp"])
            .require_for_tool("admin_echo", ["mcp:admin"]);
        let guard = McpGuard::remote(url.clone())
            .issuer(issuer.clone())
            .jwks_url(format!("{issuer}/jwks"))
            .scope_policy(policy)
            .filter_discovery(filter)
            .build()
            .unwrap();
        assert_eq!(guard.guards().contains(&"discovery-filter"), filter);
        let rmcp = StreamableHttpService::new(
            || Ok(Tools),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_sse_keep_alive(None),
        );
        let app = axum::Router::new().fallback_service(tower::Layer::layer(&guard, rmcp));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { url, issuer }
    }

    /// An ES256 access token for this server holding `scope`.
    fn token(&self, scope: &str) -> String {
        let claims = json!({"iss": self.issuer, "aud": self.url, "sub": "alice", "scope": scope,
                            "exp": unix_now() + 600});
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("ec".into());
        let key = jsonwebtoken::EncodingKey::from_ec_pem(EC_KEY).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    /// What the rmcp client with a `scope` token, in the legacy era or the
    /// stateless one, is shown by `tools/list`, the list's cache scope, and
    /// what calling `admin_echo` gives it.
    async fn list_and_call(&self, scope: &str, stateless: bool) -> Seen {
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone())
            .auth_header(self.token(scope));
        let transport = StreamableHttpClientTransport::from_config(config);
        let client = connect(ClientConfig::default(), transport, stateless)
            .await
            .expect("connect through the preset");
        let listed = client
            .list_all_tools_with_cache_hint()
            .await
            .expect("tools/list");
        let names = listed
            .items
            .iter()
            .map(|tool| tool.name.to_string())
            .collect();
        let call = client
            .call_tool(CallToolRequestParams::new("admin_echo"))
            .await
            .map(|result| serde_json::to_string(&result.content).unwrap())
            .map_err(|error| error.to_string());
        client.cancel().await.unwrap();
        Seen {
            names,
            cache_scope: listed.cache_scope,
            call,
        }
    }

    /// The raw answer to a stateless-era `tools/call` of `admin_echo` with a
    /// `scope` token: status and `WWW-Authenticate`.
    async fn call_admin_echo(&self, scope: &str) -> (u16, String) {
        let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "admin_echo", "arguments": {},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}}}});
        let response = reqwest::Client::new()
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "admin_echo")
            .bearer_auth(self.token(scope))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status().as_u16(), challenge)
    }
}

struct Seen {
    names: Vec<String>,
    cache_scope: Option<CacheScope>,
    call: Result<String, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_sees_only_the_tools_its_scopes_allow_in_both_eras() {
    let server = Server::start(true).await;
    for stateless in [false, true] {
        let era = if stateless { "2026-07-28" } else { "legacy" };
        let plain = server.list_and_call("mcp", stateless).await;
        assert_eq!(
            plain.names,
            ["echo"],
            "{era}: admin_echo is hidden from scope mcp"
        );
        assert!(plain.call.is_err(), "{era}: and refused: {:?}", plain.call);

        let admin = server.list_and_call("mcp mcp:admin", stateless).await;
        assert_eq!(
            admin.names,
            ["echo", "admin_echo"],
            "{era}: shown after stepping up"
        );
        assert!(
            admin.call.as_ref().unwrap().contains("admin_echo"),
            "{era}: {:?}",
            admin.call
        );

        if stateless {
            for seen in [&plain, &admin] {
                assert_eq!(
                    seen.cache_scope,
                    Some(CacheScope::Private),
                    "the handler said public"
                );
            }
        }
    }

    let (status, challenge) = server.call_admin_echo("mcp").await;
    assert_eq!(
        status, 403,
        "the hidden tool answers with the step-up challenge"
    );
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains("mcp:admin"), "{challenge}");
    assert_eq!(server.call_admin_echo("mcp mcp:admin").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_filter_off_every_tool_is_listed_and_still_refused() {
    let server = Server::start(false).await;
    for stateless in [false, true] {
        let plain = server.list_and_call("mcp", stateless).await;
        assert_eq!(plain.names, ["echo", "admin_echo"], "stateless {stateless}");
        assert!(plain.call.is_err());
    }
    assert_eq!(server.call_admin_echo("mcp").await.0, 403);
}

/// The filter sits inside resumable SSE: the list answer the resume layer
/// stores, and replays to a client that resumes, is the filtered one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_list_answer_is_the_filtered_one() {
    let server = Server::start(true).await;
    let token = server.token("mcp");
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value, session: Option<&str>| {
        mcp_http::post(&http, &server.url, &body, session)
            .bearer_auth(&token)
            .send()
    };
    let initialized = post(mcp_http::initialize(), None).await.unwrap();
    assert_eq!(initialized.status(), 200);
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    initialized.bytes().await.unwrap();
    let notified = post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    );
    assert_eq!(notified.await.unwrap().status(), 202);

    let listed = post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        Some(&session),
    )
    .await
    .unwrap();
    assert!(
        listed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let stream = listed.text().await.unwrap();
    let tools = |stream: &str| -> Vec<String> {
        let answer = mcp_guard::core::sse::event_data(stream)
            .into_iter()
            .filter_map(|data| serde_json::from_str::<serde_json::Value>(&data).ok())
            .find(|message| message["id"] == 2)
            .unwrap_or_else(|| panic!("no answer to tools/list in {stream:?}"));
        let tools = answer["result"]["tools"].as_array().unwrap();
        tools
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(tools(&stream), ["echo"]);
    // The first event (the priming event) carries the id to resume after.
    let first_id = stream
        .lines()
        .find_map(|line| line.strip_prefix("id:"))
        .unwrap_or_else(|| panic!("no event id in {stream:?}"))
        .trim()
        .to_owned();

    let replayed = mcp_http::resume(&http, &server.url, &session, &first_id)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 200);
    let replayed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut replayed = replayed;
        let mut text = String::new();
        while let Some(chunk) = replayed.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("\"id\":2") && (text.ends_with("\n\n") || text.ends_with("\r\n\r\n")) {
                break;
            }
        }
        text
    })
    .await
    .expect("the replay within 10 s");
    assert_eq!(
        tools(&replayed),
        ["echo"],
        "the stored event is the filtered one"
    );
}

/// A float id (`1.0`), which rmcp answers as the integer `1`: the list is
/// filtered all the same (it once passed whole, the ids not matching).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_float_request_id_gets_the_filtered_list_too() {
    let server = Server::start(true).await;
    let body = json!({"jsonrpc": "2.0", "id": 1.0, "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                             "io.modelcontextprotocol/clientCapabilities": {}}}});
    let response = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .bearer_auth(server.token("mcp"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("\"echo\""),
        "the list itself is missing: {text}"
    );
    assert!(
        !text.contains("admin_echo"),
        "a float id got the unfiltered list: {text}"
    );
}
