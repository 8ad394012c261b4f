//! Every guard, stacked in the order shared/DESIGN.md gives (origin guard →
//! CORS → protocol guard → bearer auth → session → resumable SSE), in front of
//! a real rmcp server, used by the real rmcp client over HTTP with a bearer
//! token: the layers compose, and each still refuses what it must.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Test helpers fail loudly by design.

mod support;

use axum::Router;
use mcp_guard::bearer_auth::{
    BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy,
};
use mcp_guard::cors::McpCorsLayer;
use mcp_guard::origin_guard::{Allowlist, OriginGuardLayer};
use mcp_guard::protocol_guard::ProtocolGuardLayer;
use mcp_guard::session::SessionGuardLayer;
use mcp_guard::sse_resume::SseResumeLayer;
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use serde_json::json;
use support::rmcp_echo::echo_service;
use tower::ServiceBuilder;

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";
const ISSUER: &str = "https://auth.test";

fn token(resource: &str, scope: &str) -> String {
    let claims = json!({"iss": ISSUER, "aud": resource, "sub": "alice", "client_id": "cli", "scope": scope, "exp": unix_now() + 600});
    hs256_token(&claims, SECRET)
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let resource = format!("http://127.0.0.1:{}/mcp", address.port());
    let allowlist = Allowlist::localhost();
    let verifier = JwtVerifier::builder(ISSUER, &resource)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let metadata = ProtectedResourceMetadata::new(&resource, [ISSUER]);
    let policy = ScopePolicy::new()
        .require(["mcp"])
        .require_for_tool("admin", ["admin"]);
    let rmcp = echo_service(StreamableHttpServerConfig::default());
    let service = ServiceBuilder::new()
        .layer(OriginGuardLayer::new(allowlist.clone()))
        .layer(McpCorsLayer::new(allowlist))
        .layer(ProtocolGuardLayer::new())
        .layer(
            BearerAuthLayer::builder(verifier, metadata)
                .policy(policy)
                .build(),
        )
        .layer(SessionGuardLayer::issue())
        .layer(SseResumeLayer::new())
        .service(rmcp);
    let app = Router::new().fallback_service(service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    resource
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_client_with_a_token_gets_through_every_guard() {
    let url = serve().await;
    let config =
        StreamableHttpClientTransportConfig::with_uri(url.clone()).auth_header(token(&url, "mcp"));
    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("initialize through all six layers");
    let result = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .expect("tools/call through all six layers");
    let text = serde_json::to_string(&result.content).unwrap();
    assert!(text.contains(r#"\"subject\":\"alice\""#), "{text}");
    assert!(text.contains(r#"\"has_session\":true"#), "{text}");
    assert!(
        text.contains(r#"\"authorization_forwarded\":false"#),
        "{text}"
    );
    let denied = client.call_tool(CallToolRequestParams::new("admin")).await;
    assert!(
        denied.is_err(),
        "the admin tool needs the admin scope: {denied:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_guard_still_refuses_what_it_must() {
    let url = serve().await;
    let http = reqwest::Client::new();
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.unwrap() }
    };
    let bearer = format!("Bearer {}", token(&url, "mcp"));
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp")
        .to_owned();

    let rebinding = post(vec![
        ("host", format!("attacker.example:{port}")),
        ("authorization", bearer.clone()),
    ])
    .await;
    assert_eq!(rebinding.status(), 403, "origin guard");
    let cross_site = post(vec![
        ("origin", "https://evil.example".into()),
        ("authorization", bearer.clone()),
    ])
    .await;
    assert_eq!(cross_site.status(), 403, "origin guard (Origin)");
    let no_token = post(vec![]).await;
    assert_eq!(no_token.status(), 401, "bearer auth");
    assert!(
        no_token.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource_metadata=")
    );
    let bad_version = post(vec![
        ("authorization", bearer.clone()),
        ("mcp-protocol-version", "1999-01-01".into()),
    ])
    .await;
    assert_eq!(bad_version.status(), 400, "protocol guard");
    let no_session = http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", bearer.clone())
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status(), 400, "session layer");
    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,mcp-protocol-version",
        )
        .send()
        .await
        .unwrap();
    assert!(
        preflight.status().is_success(),
        "CORS answers the preflight"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let metadata = http
        .get(url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"))
        .header("origin", "https://inspector.example")
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200, "the metadata document is public");
    assert_eq!(metadata.headers()["access-control-allow-origin"], "*");
}
