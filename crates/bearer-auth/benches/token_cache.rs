//! What a request with a token the layer verified before costs: the
//! verified-token cache lookup alone (the cache module compiled into this
//! bench, so nothing of it is public API), and the whole layer deciding such
//! a request (envelope already read, as behind the presets' envelope peek)
//! beside the bare handler given the same request.
//!
//! ```text
//! cargo bench -p mcp-bearer-auth --bench token_cache -- --warm-up-time 1 --measurement-time 4
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)] // A benchmark that fails loudly.

#[path = "../src/cache.rs"]
#[allow(dead_code)]
mod cache;

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cache::VerifiedTokens;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::Full;
use jsonwebtoken::{EncodingKey, Header};
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_core::{GuardBody, Principal, RpcEnvelope};
use serde_json::json;
use tower::{Layer, Service, service_fn};

const ISSUER: &str = "https://auth.example.com";
const RESOURCE: &str = "https://mcp.example.com/mcp";
const SECRET: &[u8] = b"a shared secret of at least 32 bytes!!";
const CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
/// Tokens in the cache while a lookup runs: its default capacity.
const CACHED: usize = 10_000;

fn in_an_hour() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600
}

/// A token as an authorization server issues it (about 250 bytes).
fn token(subject: &str) -> String {
    let claims = json!({
        "iss": ISSUER, "aud": RESOURCE, "sub": subject, "client_id": "bench-client",
        "scope": "mcp tools:call", "exp": in_an_hour(),
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

fn principal(subject: &str) -> Principal {
    Principal::new()
        .with_issuer(ISSUER)
        .with_subject(subject)
        .with_client_id("bench-client")
        .with_scopes(["mcp", "tools:call"])
        .with_expires_at(UNIX_EPOCH + Duration::from_secs(in_an_hour()))
}

fn lookup(c: &mut Criterion) {
    let cache = VerifiedTokens::new(CACHED as u64 * 2, Duration::from_secs(300));
    let tokens: Vec<String> = (0..CACHED).map(|n| token(&format!("user-{n}"))).collect();
    for (n, token) in tokens.iter().enumerate() {
        cache.insert(token, &principal(&format!("user-{n}")), None);
    }
    let known = &tokens[CACHED / 2];
    let unknown = token("nobody");
    assert!(cache.get(known).is_some());
    assert!(cache.get(&unknown).is_none());
    let mut group = c.benchmark_group("verified_token_cache");
    group.bench_function("hit", |b| b.iter(|| cache.get(black_box(known))));
    group.bench_function("miss", |b| b.iter(|| cache.get(black_box(&unknown))));
    group.finish();
}

/// Polls a future that completes at once (a cache hit, a ready handler).
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the request waited for something"),
    }
}

/// The request a client sends with its cached token, its envelope already
/// read (behind an envelope peek).
fn call(bearer: &str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .header("authorization", bearer)
        .header("content-type", "application/json")
        .body(Full::from(CALL))
        .unwrap();
    request
        .extensions_mut()
        .insert(RpcEnvelope::parse(CALL.as_bytes()));
    request
}

fn handler<B>(_: Request<B>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
    ready(Ok(Response::new(Full::from(
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
    ))))
}

fn layer(c: &mut Criterion) {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let layer = BearerAuthLayer::new(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]));
    let mut guarded = layer.layer(service_fn(handler::<GuardBody<Full<Bytes>>>));
    let mut bare = service_fn(handler::<Full<Bytes>>);
    let bearer = format!("Bearer {}", token("bench"));
    // The first request verifies the token (its verifier needs no I/O);
    // every later one finds it in the cache.
    let first = poll_once(guarded.call(call(&bearer))).unwrap();
    assert_eq!(first.status(), 200);
    let mut group = c.benchmark_group("cached_token_request");
    group.bench_function("bare handler", |b| {
        b.iter_batched(
            || call(&bearer),
            |request| poll_once(bare.call(request)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("bearer auth", |b| {
        b.iter_batched(
            || call(&bearer),
            |request| poll_once(guarded.call(request)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, lookup, layer);
criterion_main!(benches);
