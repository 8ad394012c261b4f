//! `McpGuard`'s presets in front of a trivial handler, driven in-process: each
//! guard can be switched off or replaced, the response timeout bounds the wait
//! for headers but never cuts a live SSE stream, the body limit and the
//! per-principal rate limit answer with clear errors, and a configuration that
//! cannot work names its setting.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use mcp_guard::McpGuard;
use mcp_guard::bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard::origin_guard::{Allowlist, OriginGuardLayer};
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use serde_json::{Value, json};
use support::jsonrpc::{read_message, reply};
use tower::{Layer, ServiceExt};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a test secret that is 32+ bytes long";

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

/// Answers like [`support::jsonrpc::reply`] (`tools/call slow` sleeps 2 s),
/// counting calls, whatever body the guards hand on (whether on or off);
/// `tools/call stream` answers at once with an SSE body that takes 600 ms to
/// finish.
fn handler<B>(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<Request<B>, Response = Response<Body>, Error = Infallible, Future = impl Send>
+ Clone
+ Send
+ 'static
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Debug,
{
    tower::service_fn(move |request: Request<B>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let message = read_message(request.into_body()).await;
            if message["params"]["name"] == "stream" {
                let events = futures_util::stream::unfold(0, |sent| async move {
                    if sent == 3 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let event = format!(
                        "data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":1,\"progress\":{}}}}}\n\n",
                        sent + 1
                    );
                    Some((
                        Ok::<_, Infallible>(http_body::Frame::data(Bytes::from(event))),
                        sent + 1,
                    ))
                });
                let mut response = Response::new(BodyExt::boxed_unsync(StreamBody::new(events)));
                response
                    .headers_mut()
                    .insert("content-type", "text/event-stream".parse().unwrap());
                return Ok::<_, Infallible>(response);
            }
            let response = reply(&message, Duration::from_secs(2)).await;
            Ok::<_, Infallible>(response.map(BodyExt::boxed_unsync))
        }
    })
}

/// A JSON-RPC POST to `host`.
fn post_to(host: &str) -> http::request::Builder {
    Request::post("/mcp")
        .header("host", host)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

fn request(builder: http::request::Builder, body: &Value) -> Request<Full<Bytes>> {
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn status_and_json<B>(response: Response<B>) -> (StatusCode, Value)
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_local_preset_refuses_rebinding_and_switched_off_it_does_not() {
    let calls = Arc::new(AtomicUsize::new(0));
    let rebinding = || request(post_to("attacker.example:8080"), &initialize());

    let guarded = McpGuard::local()
        .build()
        .unwrap()
        .layer(handler(calls.clone()));
    let (status, body) = status_and_json(guarded.oneshot(rebinding()).await.unwrap()).await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("attacker.example"),
        "{body}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let unguarded = McpGuard::local().without_origin_guard().build().unwrap();
    assert!(!unguarded.guards().contains(&"origin-guard"));
    let (status, _) = status_and_json(
        unguarded
            .layer(handler(calls.clone()))
            .oneshot(rebinding())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// The local preset has no principals: its sessions are anonymous, and 32 of
/// them (the per-principal cap) once locked the whole server out for 30
/// minutes when one user's inspector reconnected without `DELETE`.
#[tokio::test]
async fn a_local_user_who_reconnects_without_delete_is_not_locked_out() {
    let calls = Arc::new(AtomicUsize::new(0));
    let guarded = McpGuard::local()
        .build()
        .unwrap()
        .layer(handler(calls.clone()));
    for attempt in 1..=40 {
        let response = guarded
            .clone()
            .oneshot(request(post_to("localhost:8080"), &initialize()))
            .await
            .unwrap();
        assert!(
            response.headers().contains_key("mcp-session-id"),
            "initialize {attempt} got no session"
        );
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "initialize {attempt}: {body}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 40);
}

#[tokio::test]
async fn a_replaced_origin_guard_is_the_one_that_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let allowlist = Allowlist::builder()
        .allow_host("mcp.internal:9000")
        .build()
        .unwrap();
    let guard = McpGuard::local()
        .origin_guard(OriginGuardLayer::new(allowlist))
        .build()
        .unwrap();
    let service = guard.layer(handler(calls.clone()));
    let internal = request(post_to("mcp.internal:9000"), &initialize());
    assert_eq!(
        service.clone().oneshot(internal).await.unwrap().status(),
        200
    );
    let localhost = request(post_to("127.0.0.1:8080"), &initialize());
    assert_eq!(
        service.oneshot(localhost).await.unwrap().status(),
        403,
        "the preset's localhost list is replaced"
    );
}

#[tokio::test]
async fn the_response_timeout_bounds_the_wait_for_headers_but_not_a_live_stream() {
    let calls = Arc::new(AtomicUsize::new(0));
    let guard = McpGuard::local()
        .without_session()
        .without_sse_resume()
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let service = guard.layer(handler(calls));
    let call = |tool: &str| {
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
        request(
            post_to("127.0.0.1:8080").header("mcp-protocol-version", "2025-11-25"),
            &body,
        )
    };
    let slow = service.clone().oneshot(call("slow")).await.unwrap();
    assert_eq!(
        slow.status(),
        504,
        "a handler that has not answered in 300 ms"
    );

    let stream = service.oneshot(call("stream")).await.unwrap();
    assert_eq!(stream.status(), 200);
    let started = std::time::Instant::now();
    let bytes = stream.into_body().collect().await.unwrap().to_bytes();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the body really streamed past the timeout"
    );
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert_eq!(
        text.matches("notifications/progress").count(),
        3,
        "the stream was not cut: {text}"
    );
}

#[tokio::test]
async fn the_body_limit_answers_413_with_a_json_rpc_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let guard = McpGuard::local().max_body_bytes(1024).build().unwrap();
    let mut big = initialize();
    big["params"]["clientInfo"]["name"] = json!("x".repeat(2048));
    let (status, body) = status_and_json(
        guard
            .layer(handler(calls.clone()))
            .oneshot(request(post_to("127.0.0.1:8080"), &big))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("1024"),
        "{body}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

fn token(subject: &str) -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": subject, "scope": "mcp", "exp": unix_now() + 600});
    hs256_token(&claims, SECRET)
}

#[tokio::test]
async fn the_rate_limit_is_per_principal_and_says_when_to_retry() {
    let calls = Arc::new(AtomicUsize::new(0));
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let bearer = BearerAuthLayer::new(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]));
    let guard = McpGuard::local()
        .allowlist(
            Allowlist::builder()
                .allow_public_url(RESOURCE)
                .build()
                .unwrap(),
        )
        .bearer_auth(bearer)
        .rate_limit(1, 2)
        .without_session()
        .without_sse_resume()
        .build()
        .unwrap();
    assert_eq!(
        guard.guards(),
        [
            "response-timeout",
            "origin-guard",
            "cors",
            "protocol-guard",
            "bearer-auth",
            "rate-limit"
        ]
    );
    let service = guard.layer(handler(calls.clone()));
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    let as_subject = |subject: &str| {
        request(
            post_to("mcp.example.com")
                .header("mcp-protocol-version", "2025-11-25")
                .header("authorization", format!("Bearer {}", token(subject))),
            &ping,
        )
    };
    for _ in 0..2 {
        assert_eq!(
            service
                .clone()
                .oneshot(as_subject("alice"))
                .await
                .unwrap()
                .status(),
            200,
            "within alice's burst"
        );
    }
    let limited = service.clone().oneshot(as_subject("alice")).await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    let (_, body) = status_and_json(limited).await;
    assert_eq!(body["error"]["data"]["retryAfterSeconds"], 1, "{body}");
    assert_eq!(
        body["id"], 2,
        "the 429 names the request it refuses: {body}"
    );
    assert_eq!(
        service
            .clone()
            .oneshot(as_subject("bob"))
            .await
            .unwrap()
            .status(),
        200,
        "bob has his own bucket"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // A token that names neither subject nor client is limited too (it was
    // never counted): such tokens of one issuer share a bucket.
    let nameless = hs256_token(
        &json!({"iss": ISSUER, "aud": RESOURCE, "scope": "mcp", "exp": unix_now() + 600}),
        SECRET,
    );
    let as_nameless = || {
        request(
            post_to("mcp.example.com")
                .header("mcp-protocol-version", "2025-11-25")
                .header("authorization", format!("Bearer {nameless}")),
            &ping,
        )
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            service
                .clone()
                .oneshot(as_nameless())
                .await
                .unwrap()
                .status(),
        );
    }
    assert_eq!(statuses, [200, 200, 429], "a nameless token's burst is 2");
}

/// Through the whole stack (origin guard, CORS, protocol guard, bearer auth,
/// rate limit, session): every refusal of a parsed request carries its id, and
/// the RFC 9728 document is served whatever MCP headers the GET carries (what
/// the official Python SDK sends during OAuth discovery: 405 and 406 before).
#[tokio::test]
async fn refusals_name_the_request_and_metadata_reads_ignore_mcp_headers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let bearer =
        BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
            .policy(
                mcp_guard::bearer_auth::ScopePolicy::new().require_for_tool("admin", ["mcp:admin"]),
            )
            .build();
    let service = McpGuard::local()
        .allowlist(
            Allowlist::builder()
                .allow_public_url(RESOURCE)
                .build()
                .unwrap(),
        )
        .bearer_auth(bearer)
        .build()
        .unwrap()
        .layer(handler(calls.clone()));
    let legacy = || post_to("mcp.example.com").header("mcp-protocol-version", "2025-11-25");
    let call = |id: u64, tool: &str| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}});

    let (status, body) = status_and_json(
        service
            .clone()
            .oneshot(request(legacy(), &call(11, "echo")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), &body["id"]), (401, &json!(11)), "{body}");

    let authorized = || legacy().header("authorization", format!("Bearer {}", token("alice")));
    let (status, body) = status_and_json(
        service
            .clone()
            .oneshot(request(authorized(), &call(12, "admin")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), &body["id"]), (403, &json!(12)), "{body}");

    let (status, body) = status_and_json(
        service
            .clone()
            .oneshot(request(
                authorized().header("mcp-session-id", "no-such-session-0123456789abcdef"),
                &call(13, "echo"),
            ))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), &body["id"]), (404, &json!(13)), "{body}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no refused request reached the handler"
    );

    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let read = Request::get(path)
            .header("host", "mcp.example.com")
            .header("origin", "https://some-other-site.example")
            .header("accept", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-session-id", "someone-elses")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, body) = status_and_json(service.clone().oneshot(read).await.unwrap()).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["resource"], RESOURCE, "{path}: {body}");
    }
}

#[test]
fn configurations_that_cannot_work_name_their_setting() {
    let setting = |result: Result<mcp_guard::McpGuardLayer, mcp_guard::McpGuardConfigError>| {
        result.unwrap_err().setting()
    };
    assert_eq!(setting(McpGuard::remote(RESOURCE).build()), "issuer");
    assert_eq!(
        setting(McpGuard::remote("mcp.example.com").issuer(ISSUER).build()),
        "public_url"
    );
    assert_eq!(
        setting(
            McpGuard::remote(RESOURCE)
                .issuer(ISSUER)
                .rate_limit(0, 10)
                .build()
        ),
        "rate_limit"
    );
    assert_eq!(
        setting(McpGuard::local().rate_limit(10, 10).build()),
        "rate_limit",
        "a rate limit without bearer auth limits nobody"
    );
    assert_eq!(
        setting(McpGuard::local().without_session().build()),
        "sse_resume",
        "resumes are scoped to sessions"
    );
    let error = McpGuard::local().without_session().build().unwrap_err();
    assert!(error.to_string().contains("without_sse_resume"), "{error}");
    assert!(
        McpGuard::local()
            .without_session()
            .without_sse_resume()
            .build()
            .is_ok()
    );
}

#[test]
fn the_remote_preset_stacks_every_guard_in_path_order() {
    let guard = McpGuard::remote(RESOURCE).issuer(ISSUER).build().unwrap();
    assert_eq!(
        guard.guards(),
        [
            "response-timeout",
            "origin-guard",
            "cors",
            "protocol-guard",
            "bearer-auth",
            "rate-limit",
            "session",
            "sse-resume"
        ]
    );
    let bare = McpGuard::remote(RESOURCE)
        .without_response_timeout()
        .without_origin_guard()
        .without_cors()
        .without_protocol_guard()
        .without_bearer_auth()
        .without_rate_limit()
        .without_session()
        .without_sse_resume()
        .build()
        .unwrap();
    assert!(bare.guards().is_empty());
}

/// The EC key of the bearer-auth tests, published as a JWKS on loopback;
/// returns the issuer (its base URL). `black_hole`: a JWKS URL that accepts
/// connections and never answers instead.
async fn start_jwks(black_hole: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    if black_hole {
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                held.push(connection);
            }
        });
        return issuer;
    }
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

const EC_KEY: &[u8] = include_bytes!("../crates/bearer-auth/tests/keys/ec.pem");

/// An ES256 token from `issuer` for the resource, with header `typ`.
fn typed_token(issuer: &str, typ: &str) -> String {
    let claims = json!({"iss": issuer, "aud": RESOURCE, "sub": "alice", "scope": "mcp",
                        "exp": unix_now() + 600});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("ec".into());
    header.typ = Some(typ.into());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(EC_KEY).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn remote_call(token: &str) -> Request<Full<Bytes>> {
    request(
        post_to("mcp.example.com").header("authorization", format!("Bearer {token}")),
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
}

/// `require_access_token_type` reaches the remote preset's JWT verifier: an
/// ID token (`typ: JWT`) is refused, an RFC 9068 access token passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_preset_can_require_access_tokens() {
    let issuer = start_jwks(false).await;
    let service = McpGuard::remote(RESOURCE)
        .issuer(issuer.clone())
        .jwks_url(format!("{issuer}/jwks"))
        .require_access_token_type(true)
        .without_session()
        .without_sse_resume()
        .build()
        .unwrap()
        .layer(handler(Arc::new(AtomicUsize::new(0))));
    let response = service
        .clone()
        .oneshot(remote_call(&typed_token(&issuer, "JWT")))
        .await
        .unwrap();
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.status(), 401);
    assert!(challenge.contains("at+jwt"), "{challenge}");
    let response = service
        .oneshot(remote_call(&typed_token(&issuer, "at+jwt")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A response timeout shorter than a JWKS attempt would cut every attempt
/// short (each request starting its own) and answer 504: the preset bounds
/// the attempt by half the response timeout, so an unreachable issuer is a
/// 503 with Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_issuer_is_503_even_with_a_short_response_timeout() {
    let issuer = start_jwks(true).await;
    let service = McpGuard::remote(RESOURCE)
        .issuer(issuer.clone())
        .jwks_url(format!("{issuer}/jwks"))
        .response_timeout(Duration::from_secs(2))
        .without_session()
        .without_sse_resume()
        .build()
        .unwrap()
        .layer(handler(Arc::new(AtomicUsize::new(0))));
    let response = service
        .oneshot(remote_call(&typed_token(&issuer, "at+jwt")))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
}
