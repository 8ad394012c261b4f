//! A resource server starting while its authorization server is unreachable
//! (cold start: no key was ever fetched). Every request that needs a key gets
//! `503` with `Retry-After` from the one fetch attempt in flight, instead of
//! queueing for a fetch of its own; and nobody asks the issuer again before
//! the minimum refresh interval has passed. Both kinds of outage run for real
//! on loopback: a listener that accepts and never answers (a black hole), and
//! a port where nothing listens (connection refused).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::{Algorithm, Header};
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_core::GuardBody;
use mcp_guard_test_support::jwt::unix_now;
use serde_json::{Value, json};
use support::{AuthServer, RESOURCE, RSA_1, jwk, serve, sign};
use tower::Layer;

/// Requests in one wave, all needing a key at the same time.
const WAVE: usize = 8;
/// Long enough that no test outlives it: within it the issuer is not asked again.
const LONG_REFRESH_INTERVAL: Duration = Duration::from_secs(300);

/// A listener that accepts connections, counts them and never answers.
struct BlackHole {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

async fn start_black_hole() -> BlackHole {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        // Held open, never read nor written: the fetch can only time out.
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            open.push(socket);
        }
    });
    BlackHole { addr, accepted }
}

/// A loopback port with nothing listening on it (connection refused).
fn unused_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// The authorization server, once it is back: RFC 8414 metadata and a JWKS
/// holding the key the tokens are signed with, every request counted.
async fn start_auth_server_on(addr: SocketAddr) -> AuthServer {
    AuthServer::start_on(addr, vec![jwk(RSA_1, Algorithm::RS256, "rsa-1")]).await
}

/// A well-formed token of `issuer`, signed with a key the verifier has not seen yet.
fn token(issuer: &str) -> String {
    let claims = json!({"iss": issuer, "aud": RESOURCE, "sub": "alice",
        "exp": unix_now() + 3600, "iat": unix_now(), "scope": "mcp"});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-1".to_owned());
    sign(&header, RSA_1, &claims)
}

/// The MCP endpoint over HTTP: bearer auth in front of a handler that says "ok".
async fn start_mcp(verifier: JwtVerifier, issuer: &str) -> String {
    let metadata = ProtectedResourceMetadata::new(RESOURCE, [issuer.to_owned()]);
    let layer = BearerAuthLayer::new(verifier, metadata);
    let handler = tower::service_fn(|_: Request<GuardBody<axum::body::Body>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    format!("{}/mcp", serve(layer.layer(handler)).await)
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    retry_after: Option<u64>,
    json: bool,
    body: Value,
}

async fn call(url: &str, token: &str) -> Reply {
    // Bounded, so a server that never answers fails the test instead of hanging it.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}).to_string())
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let retry_after = header("retry-after").map(|value| value.parse().unwrap());
    let json = header("content-type").as_deref() == Some("application/json");
    let text = response.text().await.unwrap();
    Reply {
        status,
        retry_after,
        json,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// `WAVE` concurrent requests with the same token.
async fn wave(url: &str, token: &str) -> Vec<Reply> {
    futures_util::future::join_all((0..WAVE).map(|_| call(url, token))).await
}

/// Every reply is a JSON `503` whose `Retry-After` is at most `interval`; the
/// largest `Retry-After` seen.
fn all_unavailable(replies: &[Reply], interval: Duration, case: &str) -> u64 {
    let mut longest = 0;
    for reply in replies {
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{case}: {reply:?}"
        );
        assert!(reply.json, "{case}: a JSON body: {reply:?}");
        assert_eq!(reply.body["id"], 7, "{case}: {reply:?}");
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("cannot be verified right now"),
            "{case}: {reply:?}"
        );
        let retry_after = reply.retry_after.expect("a Retry-After header");
        assert!(
            (1..=interval.as_secs()).contains(&retry_after),
            "{case}: Retry-After {retry_after} s, the refresh interval is {interval:?}"
        );
        longest = longest.max(retry_after);
    }
    longest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_issuer_is_asked_once_and_every_waiting_request_gets_503() {
    // Both ways to find the keys: a configured JWKS URL, and discovery through
    // the issuer's metadata (several metadata URLs, all in the one attempt).
    for discover in [false, true] {
        let case = if discover { "discovery" } else { "jwks_url" };
        let hole = start_black_hole().await;
        let issuer = format!("http://{}", hole.addr);
        let builder = JwtVerifier::builder(&issuer, RESOURCE)
            .jwks_min_refresh_interval(LONG_REFRESH_INTERVAL)
            .jwks_fetch_timeout(Duration::from_secs(1));
        let builder = if discover {
            builder.discover_jwks()
        } else {
            builder.jwks_url(format!("{issuer}/jwks"))
        };
        let url = start_mcp(builder.build().unwrap(), &issuer).await;
        let token = token(&issuer);

        let first = wave(&url, &token).await;
        all_unavailable(&first, LONG_REFRESH_INTERVAL, case);
        assert_eq!(
            hole.accepted.load(Ordering::SeqCst),
            1,
            "{case}: one fetch attempt served all {WAVE} waiting requests"
        );

        let second = wave(&url, &token).await;
        all_unavailable(&second, LONG_REFRESH_INTERVAL, case);
        assert_eq!(
            hole.accepted.load(Ordering::SeqCst),
            1,
            "{case}: within the refresh interval the issuer is not asked again"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_issuer_is_asked_again_only_after_retry_after() {
    let addr = unused_port();
    let issuer = format!("http://{addr}");
    let interval = Duration::from_secs(3);
    let verifier = JwtVerifier::builder(&issuer, RESOURCE)
        .discover_jwks()
        .jwks_min_refresh_interval(interval)
        .jwks_fetch_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let url = start_mcp(verifier, &issuer).await;
    let token = token(&issuer);

    all_unavailable(&wave(&url, &token).await, interval, "refused");

    // The issuer is back, but the last attempt failed moments ago.
    let auth = start_auth_server_on(addr).await;
    let retry_after = all_unavailable(&wave(&url, &token).await, interval, "back, too soon");
    assert_eq!(
        auth.requests(),
        0,
        "within the refresh interval the issuer is not asked again"
    );

    // Retry-After told the truth: by then the next attempt is allowed.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let reply = call(&url, &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        auth.requests(),
        2,
        "one attempt: the metadata, then the JWKS"
    );
}
