//! Every default SECURITY.md's table promises, measured through the presets
//! as a user stacks them: the body limit and read timeout, the response
//! timeout, the session caps, the remote preset's rate limit, the token size
//! and the session id length. Timeouts run on tokio's paused clock, so they are
//! checked to the second without waiting for them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{Full, StreamBody};
use mcp_guard::McpGuard;
use mcp_guard::bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use serde_json::{Value, json};
use support::jsonrpc::handler;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a test secret that is 32+ bytes long";
const MIB: usize = 1024 * 1024;

/// How long `tools/call slow` takes: two minutes, past every default timeout.
const SLOW: Duration = Duration::from_secs(120);

fn post() -> http::request::Builder {
    Request::post("/mcp")
        .header("host", "localhost:8080")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

fn call(tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
}

fn full(body: impl Into<Bytes>) -> Full<Bytes> {
    Full::new(body.into())
}

/// A JSON-RPC body of exactly `len` bytes (whitespace-padded).
fn body_of_len(len: usize) -> Vec<u8> {
    let mut body = call("echo").to_string().into_bytes();
    body.resize(len - 1, b' ');
    body.push(b'\n');
    body
}

#[tokio::test]
async fn the_body_limit_is_4_mib() {
    let service = McpGuard::local().build().unwrap().layer(handler(SLOW));
    let status = |len: usize| {
        let service = service.clone();
        async move {
            let request = post().body(full(body_of_len(len))).unwrap();
            service.oneshot(request).await.unwrap().status()
        }
    };
    assert_ne!(status(4 * MIB).await, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(status(4 * MIB + 1).await, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(start_paused = true)]
async fn a_body_gets_30_seconds_to_arrive() {
    let service = McpGuard::local().build().unwrap().layer(handler(SLOW));
    // The first bytes, then nothing: the client never finishes its body.
    let first = futures_util::stream::once(async {
        Ok::<_, Infallible>(http_body::Frame::data(Bytes::from_static(b"{\"jsonrpc\":")))
    });
    let body = StreamBody::new(futures_util::StreamExt::chain(
        first,
        futures_util::stream::pending(),
    ));
    let started = Instant::now();
    let response = service.oneshot(post().body(body).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed().as_secs(), 30);
}

#[tokio::test(start_paused = true)]
async fn a_handler_gets_60_seconds_to_start_answering() {
    let service = McpGuard::local()
        .without_session()
        .without_sse_resume()
        .build()
        .unwrap()
        .layer(handler(SLOW));
    let started = Instant::now();
    let request = post().body(full(call("slow").to_string())).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(started.elapsed().as_secs(), 60);
}

/// The overall cap: 10 000 live sessions, then `503` with `Retry-After`.
#[tokio::test]
async fn ten_thousand_sessions_then_503() {
    let service = McpGuard::local().build().unwrap().layer(handler(SLOW));
    let initialize = initialize().to_string();
    for opened in 0..10_000 {
        let request = post().body(full(initialize.clone())).unwrap();
        let status = service.clone().oneshot(request).await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "session {}", opened + 1);
    }
    let request = post().body(full(initialize)).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
}

fn token_with_padding(padding: usize) -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": "mcp",
                        "exp": unix_now() + 3600, "pad": "p".repeat(padding)});
    hs256_token(&claims, SECRET)
}

/// The remote preset with an HS256 verifier (its defaults otherwise).
fn remote() -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<impl http_body::Body<Data = Bytes, Error: std::fmt::Debug>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    McpGuard::remote(RESOURCE)
        .bearer_auth(BearerAuthLayer::new(
            verifier,
            ProtectedResourceMetadata::new(RESOURCE, [ISSUER]),
        ))
        .without_session()
        .without_sse_resume()
        .build()
        .unwrap()
        .layer(handler(SLOW))
}

fn remote_post(token: &str) -> http::request::Builder {
    Request::post("/mcp")
        .header("host", "mcp.example.com")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
}

/// 50 requests a second with bursts of 100: a burst of 200 gets its 100 and
/// what refilled while it ran, no more; the rest are `429` with `Retry-After`.
#[tokio::test]
async fn the_remote_rate_limit_is_50_a_second_with_bursts_of_100() {
    let service = remote();
    let token = token_with_padding(0);
    let body = call("echo").to_string();
    let started = std::time::Instant::now();
    let mut passed = 0;
    let mut limited = 0;
    for _ in 0..200 {
        let request = remote_post(&token).body(full(body.clone())).unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        match response.status() {
            StatusCode::OK => passed += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(response.headers().contains_key("retry-after"));
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let refilled = (started.elapsed().as_secs_f64() * 50.0).ceil() as usize;
    assert!(passed >= 100, "the burst of 100 passes: {passed}");
    assert!(
        passed <= 100 + refilled,
        "{passed} passed, at most 100 + {refilled} refilled"
    );
    assert_eq!(passed + limited, 200);
}

/// Tokens up to 8 KiB are read (and verified), longer ones are refused
/// unread with `400`.
#[tokio::test]
async fn tokens_are_read_up_to_8_kib() {
    let service = remote();
    let body = call("echo").to_string();
    let base = token_with_padding(0).len();
    // Base64url of the padding grows the token by 4/3 of it; find the
    // padding that lands on exactly 8 KiB, then one byte over by appending.
    let mut padding = (8 * 1024 - base) * 3 / 4;
    let mut token = token_with_padding(padding);
    while token.len() > 8 * 1024 {
        padding -= 1;
        token = token_with_padding(padding);
    }
    assert!(token.len() > 8 * 1024 - 4, "{}", token.len());
    let request = remote_post(&token).body(full(body.clone())).unwrap();
    assert_eq!(
        service.clone().oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    let over = format!("{token}{}", "A".repeat(8 * 1024 + 1 - token.len()));
    assert_eq!(over.len(), 8 * 1024 + 1);
    let request = remote_post(&over).body(full(body)).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_request"), "{challenge}");
}

/// Session ids up to 128 bytes are looked up (an unknown one is `404`),
/// longer ones are refused unread with `400`.
#[tokio::test]
async fn session_ids_are_read_up_to_128_bytes() {
    let service = McpGuard::local().build().unwrap().layer(handler(SLOW));
    let status = |id: String| {
        let service = service.clone();
        async move {
            let request = post()
                .header("mcp-session-id", id)
                .header("mcp-protocol-version", "2025-11-25")
                .body(full(call("echo").to_string()))
                .unwrap();
            service.oneshot(request).await.unwrap().status()
        }
    };
    assert_eq!(status("s".repeat(128)).await, StatusCode::NOT_FOUND);
    assert_eq!(status("s".repeat(129)).await, StatusCode::BAD_REQUEST);
}

/// A preset session ends after 30 minutes without requests or 24 hours after
/// it began (the expiry itself: `crates/session/tests/sessions_are_bound_expired_and_capped.rs::idle_sessions_expire`).
#[tokio::test]
async fn sessions_expire_after_30_minutes_idle_or_24_hours() {
    use mcp_guard::session::store::{MemorySessionStore, SessionStore};
    use mcp_guard::session::{DEFAULT_MAX_SESSION_ID_LEN, SessionId};

    let store = MemorySessionStore::new();
    let service = McpGuard::local()
        .session_store(store.clone())
        .build()
        .unwrap()
        .layer(handler(SLOW));
    let request = post().body(full(initialize().to_string())).unwrap();
    let response = service.oneshot(request).await.unwrap();
    let id = response.headers()["mcp-session-id"].as_bytes().to_vec();
    let id = SessionId::parse(&id, DEFAULT_MAX_SESSION_ID_LEN).unwrap();
    let record = store
        .load(&id)
        .await
        .unwrap()
        .expect("the session is stored");
    assert_eq!(record.idle_timeout(), Duration::from_secs(30 * 60));
    assert_eq!(record.max_lifetime(), Duration::from_secs(24 * 60 * 60));
}
