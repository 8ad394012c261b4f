//! The resource server against an authorization server of the test's own,
//! serving RFC 8414 metadata and a JWKS over real HTTP on loopback. The MCP
//! endpoint is served over HTTP too, so the discovery flow a client performs
//! (401 → metadata URL from the challenge → authorization servers → their
//! metadata) runs for real.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::Algorithm;
use mcp_bearer_auth::{
    BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy, TokenVerifier,
    VerifyError,
};
use mcp_guard_core::{GuardBody, Principal};
use mcp_guard_test_support::jwt::unix_now;
use serde_json::{Value, json};
use support::{AuthServer, EC, ED, RESOURCE, RSA_1, RSA_1_PUBLIC, RSA_2, jwk, serve};
use tower::Layer;

async fn start_auth_server() -> AuthServer {
    AuthServer::start_with_every_key_type().await
}

/// Changes one character in the middle of the signature.
fn tamper(token: &str) -> String {
    let cut = token.rfind('.').unwrap() + 20;
    let mut bytes = token.as_bytes().to_vec();
    bytes[cut] = if bytes[cut] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Counts the verifications that reach the real verifier (cache misses).
#[derive(Clone)]
struct Counting<V> {
    inner: Arc<V>,
    calls: Arc<AtomicUsize>,
}

impl<V: TokenVerifier> TokenVerifier for Counting<V> {
    async fn verify(&self, token: &str) -> Result<Principal, VerifyError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(token).await
    }
}

struct Mcp {
    url: String,
    verifications: Arc<AtomicUsize>,
}

/// The MCP endpoint over HTTP: bearer auth → a handler that reports what it saw.
async fn start_mcp(server: &AuthServer, policy: ScopePolicy) -> Mcp {
    let verifier = JwtVerifier::builder(&server.issuer, RESOURCE)
        .discover_jwks()
        .jwks_min_refresh_interval(Duration::from_secs(30))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let verifier = Counting {
        inner: Arc::new(verifier),
        calls: calls.clone(),
    };
    let metadata = ProtectedResourceMetadata::new(RESOURCE, [server.issuer.clone()])
        .with_scopes_supported(["mcp", "files:read", "files:write"]);
    let layer = BearerAuthLayer::builder(verifier, metadata)
        .policy(policy)
        .build();
    let handler = tower::service_fn(|request: Request<GuardBody<axum::body::Body>>| async move {
        let principal = request.extensions().get::<Principal>();
        let seen = json!({
            "subject": principal.and_then(Principal::subject),
            "scopes": principal.map(|p| p.scopes().iter().cloned().collect::<Vec<_>>()),
            "authorization_forwarded": request.headers().contains_key("authorization"),
        });
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(seen.to_string()))))
    });
    let url = serve(layer.layer(handler)).await;
    Mcp {
        url,
        verifications: calls,
    }
}

struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn call(mcp: &Mcp, authorization: &[&str], path: &str, body: Value) -> Reply {
    send(mcp, authorization, &[], path, body).await
}

/// A POST to `/mcp` with extra headers (e.g. a stateless-era version).
async fn call_with(
    mcp: &Mcp,
    authorization: &[&str],
    headers: &[(&str, &str)],
    body: Value,
) -> Reply {
    send(mcp, authorization, headers, "/mcp", body).await
}

async fn send(
    mcp: &Mcp,
    authorization: &[&str],
    headers: &[(&str, &str)],
    path: &str,
    body: Value,
) -> Reply {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{}{path}", mcp.url))
        .header("content-type", "application/json")
        .body(body.to_string());
    for value in authorization {
        request = request.header("authorization", *value);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    Reply {
        status,
        challenge,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn tools_call(name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}})
}

fn stateless_tools_call(name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}})
}

fn list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_of_every_key_type_pass_and_the_token_stays_here() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new()).await;
    for (pem, alg, kid) in [
        (RSA_1, Algorithm::RS256, "rsa-1"),
        (EC, Algorithm::ES256, "ec"),
        (ED, Algorithm::EdDSA, "ed"),
    ] {
        let bearer = format!("Bearer {}", auth.token(pem, alg, kid, json!({})));
        let reply = call(&mcp, &[&bearer], "/mcp", list()).await;
        assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {:?}", reply.body);
        assert_eq!(reply.body["subject"], "alice");
        assert_eq!(reply.body["scopes"], json!(["files:read", "mcp"]));
        assert_eq!(
            reply.body["authorization_forwarded"], false,
            "no token passthrough"
        );
    }
    assert_eq!(
        auth.fetches.load(Ordering::SeqCst),
        1,
        "one JWKS fetch served all three keys"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tokens_get_401_invalid_token_with_a_challenge() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new()).await;
    let rsa = |overrides: Value| auth.token(RSA_1, Algorithm::RS256, "rsa-1", overrides);
    let cases = [
        ("expired", rsa(json!({"exp": unix_now() - 3600})), "expired"),
        (
            "not yet valid",
            rsa(json!({"nbf": unix_now() + 3600})),
            "not valid yet",
        ),
        ("no exp", rsa(json!({"exp": null})), "exp"),
        (
            "wrong issuer",
            rsa(json!({"iss": "https://evil.example"})),
            "another issuer",
        ),
        (
            "wrong audience",
            rsa(json!({"aud": "https://other.example.com/mcp"})),
            "audience",
        ),
        (
            "alg none",
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSJ9.".to_owned(),
            "well-formed",
        ),
        (
            "HS256 signed with the RSA public key",
            auth.token(RSA_1_PUBLIC, Algorithm::HS256, "rsa-1", json!({})),
            "algorithm",
        ),
        ("tampered", tamper(&rsa(json!({}))), "signature"),
    ];
    for (case, token, reason) in cases {
        let reply = call(&mcp, &[&format!("Bearer {token}")], "/mcp", list()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{case}: {:?}",
            reply.body
        );
        let challenge = reply.challenge.unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{case}: {challenge}"
        );
        assert!(challenge.contains("resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""), "{case}");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{case}: {message}");
        assert!(!message.contains(&token), "{case}: never echo the token");
    }
    for (case, audience) in [
        ("uppercase host", "https://MCP.EXAMPLE.COM/mcp"),
        ("trailing slash", "https://mcp.example.com/mcp/"),
        ("in a list", "x"),
    ] {
        let aud = if audience == "x" {
            json!(["https://a.example", RESOURCE])
        } else {
            json!(audience)
        };
        let reply = call(
            &mcp,
            &[&format!("Bearer {}", rsa(json!({"aud": aud})))],
            "/mcp",
            list(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{case}: {:?}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_credentials_get_400_invalid_request() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new()).await;
    let good = auth.bearer(json!({}));
    let in_query = call(
        &mcp,
        &[],
        &format!("/mcp?access_token={}", &good[7..]),
        list(),
    )
    .await;
    let twice = call(&mcp, &[&good, &good], "/mcp", list()).await;
    let huge = call(
        &mcp,
        &[&format!("Bearer {}", "a".repeat(20 * 1024))],
        "/mcp",
        list(),
    )
    .await;
    let basic = call(&mcp, &["Basic YWxpY2U6c2VjcmV0"], "/mcp", list()).await;
    for (case, reply) in [
        ("query", in_query),
        ("two headers", twice),
        ("20 KiB", huge),
        ("basic", basic),
    ] {
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{case}: {:?}",
            reply.body
        );
        assert!(
            reply
                .challenge
                .unwrap()
                .contains("error=\"invalid_request\""),
            "{case}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_once_and_forged_kids_cause_no_stampede() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new()).await;
    let first = auth.bearer(json!({}));
    assert_eq!(
        call(&mcp, &[&first], "/mcp", list()).await.status,
        StatusCode::OK
    );
    assert_eq!(auth.fetches.load(Ordering::SeqCst), 1);

    auth.jwks
        .lock()
        .unwrap()
        .keys
        .push(jwk(RSA_2, Algorithm::RS256, "rsa-2"));
    let rotated = format!(
        "Bearer {}",
        auth.token(RSA_2, Algorithm::RS256, "rsa-2", json!({}))
    );
    // Eight concurrent requests with the new kid: one fetch in flight.
    let headers = [rotated.as_str()];
    let requests = (0..8).map(|_| call(&mcp, &headers, "/mcp", list()));
    for reply in futures_util::future::join_all(requests).await {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    assert_eq!(
        auth.fetches.load(Ordering::SeqCst),
        2,
        "the new key was fetched exactly once"
    );

    for forged in ["nope-1", "nope-2", "nope-3"] {
        let bearer = format!(
            "Bearer {}",
            auth.token(RSA_2, Algorithm::RS256, forged, json!({}))
        );
        let reply = call(&mcp, &[&bearer], "/mcp", list()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        auth.fetches.load(Ordering::SeqCst),
        2,
        "unknown kids within the refresh interval fetch nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_jwks_is_down_cached_keys_work_and_no_key_means_503() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new()).await;
    let bearer = auth.bearer(json!({}));
    assert_eq!(
        call(&mcp, &[&bearer], "/mcp", list()).await.status,
        StatusCode::OK
    );
    auth.down.store(true, Ordering::SeqCst);
    let other = auth.bearer(json!({"sub": "bob"}));
    let reply = call(&mcp, &[&other], "/mcp", list()).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the cached key still verifies: {:?}",
        reply.body
    );

    let cold = start_mcp(&auth, ScopePolicy::new()).await;
    let reply = call(&cold, &[&bearer], "/mcp", list()).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        reply.body
    );
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be verified right now")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_step_up_per_tool_and_public_tools_need_no_token() {
    let auth = start_auth_server().await;
    let policy = ScopePolicy::new()
        .require(["mcp"])
        .require_for_tool("write_file", ["files:write"])
        .require_for_tool("admin_reset", ["admin"])
        .public_tool("server_time")
        .implies("files:write", ["files:read"]);
    let mcp = start_mcp(&auth, policy).await;
    let reader = auth.bearer(json!({"scope": "mcp files:read"}));
    let writer = auth.bearer(json!({"scope": null, "scp": ["mcp", "files:write"]}));

    assert_eq!(
        call(&mcp, &[&reader], "/mcp", tools_call("read_file"))
            .await
            .status,
        StatusCode::OK
    );
    let step_up = call(&mcp, &[&reader], "/mcp", tools_call("write_file")).await;
    assert_eq!(step_up.status, StatusCode::FORBIDDEN);
    let challenge = step_up.challenge.unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"files:read files:write mcp\""),
        "legacy era: the granted scopes plus all the call needs, so the stepped-up token keeps files:read: {challenge}"
    );
    // The stateless era: clients accumulate, the challenge names what the call needs.
    let stateless = call_with(
        &mcp,
        &[&reader],
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "write_file"),
        ],
        stateless_tools_call("write_file"),
    )
    .await;
    assert_eq!(stateless.status, StatusCode::FORBIDDEN);
    let challenge = stateless.challenge.unwrap();
    assert!(
        challenge.contains("scope=\"files:write mcp\""),
        "stateless era: the scopes the call needs: {challenge}"
    );
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    assert_eq!(
        call(&mcp, &[&writer], "/mcp", tools_call("write_file"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&mcp, &[&writer], "/mcp", tools_call("admin_reset"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let public = call(&mcp, &[], "/mcp", tools_call("server_time")).await;
    assert_eq!(public.status, StatusCode::OK, "{:?}", public.body);
    assert_eq!(public.body["subject"], Value::Null);
    let anonymous = call(&mcp, &[], "/mcp", tools_call("read_file")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.challenge.unwrap().contains("scope=\"mcp\""),
        "the challenge says what to ask for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_cache_control_max_age_is_honoured() {
    let auth = start_auth_server().await;
    auth.max_age.store(1, Ordering::SeqCst);
    let mcp = start_mcp(&auth, ScopePolicy::new()).await;
    let sub = |name: &str| auth.bearer(json!({ "sub": name }));
    assert_eq!(
        call(&mcp, &[&sub("a")], "/mcp", list()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&mcp, &[&sub("b")], "/mcp", list()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        auth.fetches.load(Ordering::SeqCst),
        1,
        "within max-age the keys are reused"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        call(&mcp, &[&sub("c")], "/mcp", list()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        auth.fetches.load(Ordering::SeqCst),
        2,
        "after max-age the keys are fetched again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_token_is_verified_once() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new()).await;
    let bearer = auth.bearer(json!({}));
    for _ in 0..5 {
        assert_eq!(
            call(&mcp, &[&bearer], "/mcp", list()).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        mcp.verifications.load(Ordering::SeqCst),
        1,
        "four cache hits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_discovers_how_to_authenticate_over_http() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new().require(["mcp"])).await;
    let client = reqwest::Client::new();
    // 1. Unauthenticated call: 401 and a challenge naming the metadata URL.
    let reply = call(&mcp, &[], "/mcp", list()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply.challenge.unwrap();
    let url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        url,
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    );
    // 2. The document (the test serves it on loopback; its path is the URL's).
    let path = url.trim_start_matches("https://mcp.example.com");
    let document: Value = client
        .get(format!("{}{path}", mcp.url))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(document["resource"], RESOURCE);
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    let root: Value = client
        .get(format!("{}/.well-known/oauth-protected-resource", mcp.url))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(root, document, "the root form serves the same document");
    // 3. Its authorization server's metadata.
    let issuer = document["authorization_servers"][0].as_str().unwrap();
    let as_metadata: Value = client
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(as_metadata["issuer"], issuer);
    assert!(
        as_metadata["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with(issuer)
    );
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}

/// An authorization server's metadata served by the same app is public: read
/// without a token, and a token sent along (even a bad one) is neither checked
/// nor passed on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_metadata_documents_are_read_without_a_token_and_get_none() {
    let auth = start_auth_server().await;
    let mcp = start_mcp(&auth, ScopePolicy::new().require(["mcp"])).await;
    let client = reqwest::Client::new();
    for path in [
        "/.well-known/oauth-authorization-server/tenant",
        "/.well-known/openid-configuration",
        "/tenant/.well-known/openid-configuration",
    ] {
        let response = client
            .get(format!("{}{path}", mcp.url))
            .header("authorization", "Bearer not-even-a-jwt")
            .header("mcp-protocol-version", "2026-07-28")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let seen: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(seen["subject"], Value::Null, "{path}: no principal");
        assert_eq!(seen["authorization_forwarded"], false, "{path}: {seen}");
    }
    // The MCP endpoint itself still wants a valid token.
    let refused = call(&mcp, &["Bearer not-even-a-jwt"], "/mcp", list()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
