//! Every refusal of the preset stacks carries a `Rejection { guard, reason }`
//! extension that code outside the crates reads off the response: one refusal
//! of each guard (origin guard, CORS preflight, protocol guard, bearer auth
//! 401 and 403, rate limit, session, resumable SSE, response timeout),
//! driven in-process through `McpGuard::remote` / `McpGuard::local`. The
//! handler's own answers carry none: a real rmcp service refusing a Host the
//! origin guard admitted passes through unnamed, and the guard logs one
//! warning naming rmcp's `disable_allowed_hosts()`. Expected refusals (a
//! rebinding probe, every OAuth client's first 401) log nothing at `WARN`.

#![cfg(all(feature = "default", feature = "remote"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_guard::McpGuard;
use mcp_guard::bearer_auth::{
    BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy,
};
use mcp_guard::core::Rejection;
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use mcp_guard_test_support::logs::Logs;
use serde_json::{Value, json};
use support::jsonrpc::handler;
use tower::{Layer, Service, ServiceExt};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const HOST: &str = "mcp.example.com";
const ISSUER: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a test secret that is 32+ bytes long";

/// How long `tools/call slow` takes: longer than any response timeout here.
const SLOW: Duration = Duration::from_secs(120);

fn token(subject: &str, scope: &str) -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": subject, "scope": scope, "exp": unix_now() + 600});
    hs256_token(&claims, SECRET)
}

/// The remote preset with an HS256 verifier, `mcp` for every call and
/// `mcp:admin` for the `admin` tool, and a rate limit of one request a second
/// with bursts of `burst`.
fn remote(
    burst: u32,
) -> impl Service<Request<Full<Bytes>>, Response = Response<impl http_body::Body>, Error = Infallible>
+ Clone {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let bearer =
        BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
            .policy(
                ScopePolicy::new()
                    .require(["mcp"])
                    .require_for_tool("admin", ["mcp:admin"]),
            )
            .build();
    McpGuard::remote(RESOURCE)
        .bearer_auth(bearer)
        .rate_limit(1, burst)
        .build()
        .unwrap()
        .layer(handler(SLOW))
}

fn post(host: &str, token: Option<&str>, body: &Value) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/mcp")
        .header("host", host)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

fn ping() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "ping"})
}

fn call_tool(name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": {}}})
}

/// The guard and reason a response names, read as any metrics layer would.
fn named<B>(response: &Response<B>) -> Option<(&'static str, &'static str)> {
    response
        .extensions()
        .get::<Rejection>()
        .map(|rejection| (rejection.guard, rejection.reason))
}

#[track_caller]
fn assert_refused<B>(response: &Response<B>, status: u16, guard: &str, reason: &str) {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    assert_eq!(
        named(response),
        Some((guard, reason)),
        "the {status} names its guard and reason"
    );
}

#[tokio::test]
async fn origin_guard_refusals_name_the_header_they_refused() {
    let service = remote(100);
    let rebinding = service
        .clone()
        .oneshot(post("attacker.example", None, &initialize()))
        .await
        .unwrap();
    assert_refused(&rebinding, 403, "origin-guard", "host_not_allowed");

    let mut cross_site = post(HOST, None, &initialize());
    cross_site
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let cross_site = service.oneshot(cross_site).await.unwrap();
    assert_refused(&cross_site, 403, "origin-guard", "origin_not_allowed");
}

#[tokio::test]
async fn a_preflight_asking_for_a_header_it_cannot_have_names_cors() {
    let service = McpGuard::local().build().unwrap().layer(handler(SLOW));
    let preflight = |headers: &str| {
        Request::options("/mcp")
            .header("host", "localhost:8080")
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", headers)
            .body(Full::default())
            .unwrap()
    };
    let refused = service
        .clone()
        .oneshot(preflight("content-type, x-not-mcp"))
        .await
        .unwrap();
    assert_eq!(
        named(&refused),
        Some(("cors", "header_not_allowed")),
        "the browser will refuse the request: counted as CORS's refusal"
    );
    let granted = service
        .oneshot(preflight("content-type, mcp-session-id"))
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    assert_eq!(
        named(&granted),
        None,
        "a preflight granted in full is no refusal"
    );
}

#[tokio::test]
async fn protocol_guard_refusals_name_the_check() {
    let service = remote(100);
    let mut form = post(HOST, Some(&token("alice", "mcp")), &ping());
    form.headers_mut().insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let response = service.oneshot(form).await.unwrap();
    assert_refused(&response, 415, "protocol-guard", "unsupported_media_type");
}

#[tokio::test]
async fn bearer_auth_names_the_first_401_a_bad_token_and_a_missing_scope() {
    let service = remote(100);
    let first = service
        .clone()
        .oneshot(post(HOST, None, &initialize()))
        .await
        .unwrap();
    assert_refused(&first, 401, "bearer-auth", "missing_token");

    let forged = format!("{}x", token("alice", "mcp"));
    let invalid = service
        .clone()
        .oneshot(post(HOST, Some(&forged), &initialize()))
        .await
        .unwrap();
    assert_refused(&invalid, 401, "bearer-auth", "invalid_token");

    let step_up = service
        .oneshot(post(
            HOST,
            Some(&token("alice", "mcp")),
            &call_tool("admin"),
        ))
        .await
        .unwrap();
    assert_refused(&step_up, 403, "bearer-auth", "insufficient_scope");
}

#[tokio::test]
async fn the_rate_limit_names_itself() {
    let service = remote(1);
    let alice = token("alice", "mcp");
    let first = service
        .clone()
        .oneshot(post(HOST, Some(&alice), &initialize()))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(named(&first), None, "the handler's answer names nobody");
    let second = service
        .oneshot(post(HOST, Some(&alice), &initialize()))
        .await
        .unwrap();
    assert_refused(&second, 429, "rate-limit", "rate_limited");
}

#[tokio::test]
async fn session_and_resume_refusals_name_their_layer() {
    let service = remote(100);
    let alice = token("alice", "mcp");
    let mut unknown = post(HOST, Some(&alice), &ping());
    unknown.headers_mut().insert(
        "mcp-session-id",
        "0123456789abcdef0123456789abcdef".parse().unwrap(),
    );
    let unknown = service.clone().oneshot(unknown).await.unwrap();
    assert_refused(&unknown, 404, "session", "unknown_session");

    let initialized = service
        .clone()
        .oneshot(post(HOST, Some(&alice), &initialize()))
        .await
        .unwrap();
    assert_eq!(initialized.status(), 200);
    let session = initialized.headers()["mcp-session-id"].clone();
    let resume = Request::get("/mcp")
        .header("host", HOST)
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", format!("Bearer {alice}"))
        .header("mcp-session-id", session)
        .header("last-event-id", "not-an-event-id")
        .body(Full::default())
        .unwrap();
    let resume = service.oneshot(resume).await.unwrap();
    assert_refused(&resume, 400, "sse-resume", "event_id_malformed");
}

#[tokio::test(start_paused = true)]
async fn the_response_timeout_names_itself() {
    let service = McpGuard::local()
        .without_session()
        .without_sse_resume()
        .build()
        .unwrap()
        .layer(handler(SLOW));
    let response = service
        .oneshot(post("localhost:8080", None, &call_tool("slow")))
        .await
        .unwrap();
    assert_refused(&response, 504, "response-timeout", "response_timeout");
}

#[tokio::test(flavor = "current_thread")]
async fn a_rebinding_probe_and_a_first_401_log_nothing_at_warn() {
    let logs = Logs::default();
    let _capture = logs.capture();
    let service = remote(100);

    let probe = service
        .clone()
        .oneshot(post("attacker.example", None, &initialize()))
        .await
        .unwrap();
    assert_eq!(probe.status(), 403);
    let first = service
        .clone()
        .oneshot(post(HOST, None, &initialize()))
        .await
        .unwrap();
    assert_eq!(first.status(), 401);
    let forged = format!("{}x", token("alice", "mcp"));
    let invalid = service
        .oneshot(post(HOST, Some(&forged), &initialize()))
        .await
        .unwrap();
    assert_eq!(invalid.status(), 401);

    let text = logs.text();
    assert!(
        text.contains("origin guard rejected a request") && text.contains("attacker.example"),
        "the probe is logged, below warn: {text}"
    );
    assert!(
        text.contains("bearer auth rejected a request"),
        "the 401s are logged, below warn: {text}"
    );
    assert_eq!(logs.at("WARN"), Vec::<String>::new(), "{text}");
    assert_eq!(logs.at("ERROR"), Vec::<String>::new(), "{text}");
    assert!(!text.contains(&forged), "no token in the logs: {text}");
}

mod rmcp_server {
    use rmcp::ServerHandler;
    use rmcp::model::{ServerCapabilities, ServerConfig};

    #[derive(Debug, Clone)]
    pub(super) struct Quiet;

    impl ServerHandler for Quiet {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().build())
        }
    }
}

/// rmcp left with its default allowed hosts (loopback only) behind an origin
/// guard that admits `mcp.example.com`: rmcp refuses the host itself. Its
/// `403` is the handler's, so it names no guard and passes through as rmcp
/// wrote it, and the origin guard logs one warning saying which rmcp setting
/// to change.
#[tokio::test(flavor = "current_thread")]
async fn rmcp_refusing_a_host_the_guard_admitted_is_named_in_one_warning() {
    use mcp_guard::origin_guard::{Allowlist, OriginGuardLayer};
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let logs = Logs::default();
    let _capture = logs.capture();
    let rmcp = StreamableHttpService::new(
        || Ok(rmcp_server::Quiet),
        std::sync::Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default().with_legacy_session_mode(false),
    );
    let allowlist = Allowlist::builder().allow_host(HOST).build().unwrap();
    let service = OriginGuardLayer::new(allowlist).layer(rmcp);

    for _ in 0..2 {
        let response = service
            .clone()
            .oneshot(post(HOST, None, &initialize()))
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(named(&response), None, "rmcp's refusal, not a guard's");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body, "Forbidden: Host header is not allowed",
            "passed through unchanged"
        );
    }
    let refused = service
        .oneshot(post("attacker.example", None, &initialize()))
        .await
        .unwrap();
    assert_eq!(named(&refused), Some(("origin-guard", "host_not_allowed")));

    let warnings = logs.at("WARN");
    let hints: Vec<&String> = warnings
        .iter()
        .filter(|line| line.contains("disable_allowed_hosts()"))
        .collect();
    assert_eq!(hints.len(), 1, "once per layer: {}", logs.text());
    assert!(hints[0].contains(HOST), "{}", hints[0]);
}
