//! What each guard costs per request, in-process, against the bare handler:
//! `tower::ServiceExt::oneshot` of a `tools/call` POST on a trivial handler.
//! Prints allocations per request (a counting global allocator) before the
//! criterion timings.
//!
//! ```text
//! cargo bench --features remote --bench guard_overhead
//! ```
//!
//! To see *where* a scenario allocates, run only its requests (no criterion)
//! under valgrind's DHAT, which records the call stack of every allocation:
//!
//! ```text
//! GUARD_OVERHEAD_PROFILE="remote" valgrind --tool=dhat \
//!     target/release/deps/guard_overhead-<hash> --bench
//! ```
//!
//! `GUARD_OVERHEAD_PROFILE` names a scenario by a part of its name; the bench
//! then sends that scenario's request 2 000 times after the warm-up and exits.
//! `bare:<name>` does the same with the scenario's bare handler, so that
//! `valgrind --tool=callgrind` of both gives the guard's instructions per
//! request as the difference of the two totals divided by 2 200.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use mcp_guard::McpGuard;
use mcp_guard::bearer_auth::{
    BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, TokenVerifier,
};
use mcp_guard::cors::McpCorsLayer;
use mcp_guard::origin_guard::OriginGuardLayer;
use mcp_guard::protocol_guard::ProtocolGuardLayer;
use mcp_guard::session::SessionGuardLayer;
use mcp_guard::sse_resume::SseResumeLayer;
use serde_json::json;
use tower::{Layer, Service, ServiceExt};

/// Counts every allocation (and reallocation) the process makes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
const ISSUER: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a benchmark secret that is 32+ bytes long";
const KEYS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/bearer-auth/tests/keys/"
);

const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;
const CALL_2026: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"bench","version":"1"}}}"#;
const REPLY: &str =
    r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hello"}]}}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{}}"#;
/// The handler's `tools/list` answer: three tools, one of them admin-only.
const TOOLS: &str = r#"{"jsonrpc":"2.0","id":8,"result":{"tools":[{"name":"echo","description":"Returns the text.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}},{"name":"add","description":"Adds.","inputSchema":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}}}},{"name":"admin_echo","description":"Admin only.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}]}}"#;

/// The trivial handler: drains the body, answers a fixed JSON-RPC result (or,
/// for `sse`, a 10-event SSE stream).
#[derive(Clone, Copy)]
struct Handler {
    sse: bool,
}

impl<B> Service<Request<B>> for Handler
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let sse = self.sse;
        Box::pin(async move {
            let received = match request.into_body().collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            let pattern = br#""method":"initialize""#;
            let is_initialize = received
                .windows(pattern.len())
                .any(|window| window == pattern);
            let list = br#""method":"tools/list""#;
            let is_list = received.windows(list.len()).any(|window| window == list);
            let (body, content_type) = if is_initialize {
                (
                    Bytes::from_static(INITIALIZED.as_bytes()),
                    "application/json",
                )
            } else if is_list {
                (Bytes::from_static(TOOLS.as_bytes()), "application/json")
            } else if sse {
                let event = format!("data: {REPLY}\n\n");
                (Bytes::from(event.repeat(10)), "text/event-stream")
            } else {
                (Bytes::from_static(REPLY.as_bytes()), "application/json")
            };
            let mut response = Response::new(Full::new(body));
            response
                .headers_mut()
                .insert("content-type", content_type.parse().unwrap());
            Ok(response)
        })
    }
}

fn post(body: &'static str) -> http::request::Builder {
    let _ = body;
    Request::post("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

fn body(text: &'static str) -> Full<Bytes> {
    Full::new(Bytes::from_static(text.as_bytes()))
}

fn legacy_call() -> Request<Full<Bytes>> {
    post(CALL)
        .header("mcp-protocol-version", "2025-11-25")
        .body(body(CALL))
        .unwrap()
}

fn stateless_call() -> Request<Full<Bytes>> {
    post(CALL_2026)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "echo")
        .body(body(CALL_2026))
        .unwrap()
}

/// `request` with what the envelope peek and bearer auth would have put in
/// its extensions before the layer under test (a caller with scope `mcp`).
fn as_verified(mut request: Request<Full<Bytes>>, body: &'static str) -> Request<Full<Bytes>> {
    let extensions = request.extensions_mut();
    extensions.insert(mcp_guard::core::RpcEnvelope::parse(body.as_bytes()));
    extensions.insert(
        mcp_guard::core::Principal::new()
            .with_issuer(ISSUER)
            .with_subject("alice")
            .with_scopes(["mcp"]),
    );
    request
}

fn list_call() -> Request<Full<Bytes>> {
    post(LIST)
        .header("mcp-protocol-version", "2025-11-25")
        .body(body(LIST))
        .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> serde_json::Value {
    json!({"iss": ISSUER, "aud": RESOURCE, "sub": "bench", "scope": "mcp", "exp": now() + 3600})
}

fn hs256_token() -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &claims(),
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

fn hs256_bearer() -> BearerAuthLayer<JwtVerifier> {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    BearerAuthLayer::new(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
}

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}{name}")).unwrap()
}

/// One key per algorithm: (name, token, our verifier, jsonwebtoken's key).
fn signed_tokens() -> Vec<(&'static str, String, JwtVerifier, DecodingKey, Algorithm)> {
    let mut out = Vec::new();
    let token = |algorithm, key: &EncodingKey| {
        jsonwebtoken::encode(&Header::new(algorithm), &claims(), key).unwrap()
    };
    out.push((
        "HS256",
        token(Algorithm::HS256, &EncodingKey::from_secret(SECRET).unwrap()),
        JwtVerifier::builder(ISSUER, RESOURCE)
            .hs256_secret(SECRET)
            .build()
            .unwrap(),
        DecodingKey::from_secret(SECRET).unwrap(),
        Algorithm::HS256,
    ));
    for (name, algorithm, private, public) in [
        ("RS256", Algorithm::RS256, "rsa-1.pem", "rsa-1.pub.pem"),
        ("ES256", Algorithm::ES256, "ec.pem", "ec.pub.pem"),
        ("EdDSA", Algorithm::EdDSA, "ed.pem", "ed.pub.pem"),
    ] {
        let encoding = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&key(private)).unwrap(),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&key(private)).unwrap(),
            _ => EncodingKey::from_ed_pem(&key(private)).unwrap(),
        };
        let decoding = match algorithm {
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&key(public)).unwrap(),
            Algorithm::ES256 => DecodingKey::from_ec_pem(&key(public)).unwrap(),
            _ => DecodingKey::from_ed_pem(&key(public)).unwrap(),
        };
        let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
            .public_key_pem(&key(public), algorithm)
            .build()
            .unwrap();
        out.push((
            name,
            token(algorithm, &encoding),
            verifier,
            decoding,
            algorithm,
        ));
    }
    out
}

/// A session the layer minted, for requests that need one.
async fn open_session<S, B>(service: &S) -> String
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    let response = service
        .clone()
        .oneshot(post(INITIALIZE).body(body(INITIALIZE)).unwrap())
        .await
        .unwrap();
    response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

type Call = Box<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

/// One scenario: a service and the request it is measured with, and the bare
/// handler given the very same request (its baseline).
struct Scenario {
    name: &'static str,
    call: Call,
    baseline: Call,
}

fn call_of<S, B, F>(name: &'static str, service: S, request: Rc<F>) -> Call
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone + 'static,
    S::Future: 'static,
    B: http_body::Body + 'static,
    B::Error: std::fmt::Debug,
    F: Fn() -> Request<Full<Bytes>> + 'static,
{
    if std::env::var_os("GUARD_OVERHEAD_SIZES").is_some() {
        eprintln!(
            "{name}: service {} bytes, response future {} bytes, response {} bytes",
            std::mem::size_of::<S>(),
            std::mem::size_of::<S::Future>(),
            std::mem::size_of::<Response<B>>()
        );
    }
    Box::new(move || {
        let service = service.clone();
        let request = request();
        Box::pin(async move {
            let response = service.oneshot(request).await.unwrap();
            assert!(
                response.status().is_success(),
                "{name}: {}",
                response.status()
            );
            let _ = response.into_body().collect().await.unwrap();
        })
    })
}

fn scenario<S, B, F>(name: &'static str, service: S, request: F) -> Scenario
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone + 'static,
    S::Future: 'static,
    B: http_body::Body + 'static,
    B::Error: std::fmt::Debug,
    F: Fn() -> Request<Full<Bytes>> + 'static,
{
    let request = Rc::new(request);
    let sse = name.contains("SSE");
    Scenario {
        name,
        call: call_of(name, service, request.clone()),
        baseline: call_of(name, Handler { sse }, request),
    }
}

fn scenarios(runtime: &tokio::runtime::Runtime) -> Vec<Scenario> {
    let handler = Handler { sse: false };
    let sse_handler = Handler { sse: true };
    let token = hs256_token();
    let with_token = {
        let token = token.clone();
        move || {
            let mut request = legacy_call();
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            request
        }
    };

    let session = SessionGuardLayer::issue().layer(handler);
    let session_id = runtime.block_on(open_session(&session));
    let sse = SessionGuardLayer::issue().layer(SseResumeLayer::new().layer(sse_handler));
    let sse_session_id = runtime.block_on(open_session(&sse));

    let remote = McpGuard::remote(RESOURCE)
        .bearer_auth(hs256_bearer())
        // The rate limit stays in the stack, with a quota the benchmark never
        // reaches (the default would answer 429 after 100 requests).
        .rate_limit(1_000_000_000, 1_000_000_000)
        .build()
        .unwrap()
        .layer(handler);
    let remote_session_id = runtime.block_on(async {
        let mut request = post(INITIALIZE).body(body(INITIALIZE)).unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let response = remote.clone().oneshot(request).await.unwrap();
        response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned()
    });
    let local = McpGuard::local().build().unwrap().layer(handler);
    let local_session_id = runtime.block_on(open_session(&local));

    let with_session = |id: String, token: Option<String>| {
        move || {
            let mut request = legacy_call();
            request
                .headers_mut()
                .insert("mcp-session-id", id.parse().unwrap());
            if let Some(token) = &token {
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
            }
            request
        }
    };
    let policy = || {
        mcp_guard::bearer_auth::ScopePolicy::new()
            .require(["mcp"])
            .require_for_tool("admin_echo", ["mcp:admin"])
    };
    let observed_local = mcp_observe::ObserveLayer::new()
        .sink(mcp_observe::metrics::MetricsSink::new())
        .layer(McpGuard::local().build().unwrap().layer(handler));
    let observed_session_id = runtime.block_on(open_session(&observed_local));
    vec![
        scenario(
            "observe (tracing + metrics sinks) around McpGuard::local() stack",
            observed_local,
            with_session(observed_session_id, None),
        ),
        scenario(
            "discovery filter, tools/list JSON (3 tools, 1 hidden)",
            mcp_guard::bearer_auth::discovery::DiscoveryFilterLayer::new(policy()).layer(handler),
            || as_verified(list_call(), LIST),
        ),
        scenario(
            "discovery filter, tools/call (passes through)",
            mcp_guard::bearer_auth::discovery::DiscoveryFilterLayer::new(policy()).layer(handler),
            || as_verified(legacy_call(), CALL),
        ),
        scenario(
            "rate limit, per principal and per tool (tools/call of a limited tool)",
            mcp_guard::rate_limit::RateLimitLayer::per_second(std::num::NonZeroU32::MAX)
                .tool(
                    "echo",
                    mcp_guard::rate_limit::Quota::per_second(std::num::NonZeroU32::MAX),
                )
                .unwrap()
                .layer(handler),
            || as_verified(legacy_call(), CALL),
        ),
        scenario(
            "origin guard",
            OriginGuardLayer::localhost().layer(handler),
            legacy_call,
        ),
        scenario(
            "cors (simple request)",
            McpCorsLayer::localhost().layer(handler),
            || {
                let mut request = legacy_call();
                request
                    .headers_mut()
                    .insert("origin", "http://localhost:5173".parse().unwrap());
                request
            },
        ),
        scenario(
            "cors (preflight)",
            McpCorsLayer::localhost().layer(handler),
            || {
                Request::options("/mcp")
                    .header("host", "127.0.0.1:8080")
                    .header("origin", "http://localhost:5173")
                    .header("access-control-request-method", "POST")
                    .header(
                        "access-control-request-headers",
                        "content-type,mcp-protocol-version,mcp-session-id",
                    )
                    .body(body(""))
                    .unwrap()
            },
        ),
        scenario(
            "protocol guard (2025-11-25)",
            ProtocolGuardLayer::new().layer(handler),
            legacy_call,
        ),
        scenario(
            "protocol guard (2026-07-28)",
            ProtocolGuardLayer::new().layer(handler),
            stateless_call,
        ),
        scenario(
            "bearer auth (cached token)",
            hs256_bearer().layer(handler),
            with_token.clone(),
        ),
        scenario("session lookup", session, with_session(session_id, None)),
        scenario(
            "sse-resume, 10-event SSE (with session)",
            sse,
            with_session(sse_session_id, None),
        ),
        scenario(
            "McpGuard::local() stack",
            local.clone(),
            with_session(local_session_id, None),
        ),
        scenario(
            "McpGuard::remote() stack (cached token)",
            remote.clone(),
            with_session(remote_session_id, Some(token.clone())),
        ),
        scenario(
            "McpGuard::local() stack, 2026-07-28 (no session)",
            local,
            stateless_call,
        ),
        scenario(
            "McpGuard::remote() stack, 2026-07-28 (cached token)",
            remote,
            move || {
                let mut request = stateless_call();
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
                request
            },
        ),
    ]
}

/// Allocations per request, averaged over `rounds` after a warm-up.
fn allocations_per_request(runtime: &tokio::runtime::Runtime, call: &Call, rounds: u64) -> f64 {
    runtime.block_on(async {
        for _ in 0..200 {
            call().await;
        }
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..rounds {
            call().await;
        }
        (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / rounds as f64
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Sends one scenario's request `rounds` times (after the warm-up) and
/// nothing else, for a profiler. `bare:<name>` sends it to the scenario's
/// bare handler instead: the same run's baseline.
fn profile(runtime: &tokio::runtime::Runtime, name: &str, rounds: u64) {
    let scenarios = scenarios(runtime);
    let (bare, name) = match name.strip_prefix("bare:") {
        Some(name) => (true, name),
        None => (false, name),
    };
    // An exact name first: one scenario's name can be part of another's
    // ("McpGuard::local() stack" is in the observe scenario's name).
    let scenario = scenarios
        .iter()
        .find(|scenario| scenario.name == name)
        .or_else(|| {
            scenarios
                .iter()
                .find(|scenario| scenario.name.contains(name))
        })
        .unwrap_or_else(|| panic!("no scenario named like {name:?}"));
    let call = if bare {
        &scenario.baseline
    } else {
        &scenario.call
    };
    let allocations = allocations_per_request(runtime, call, rounds);
    let side = if bare { "bare handler" } else { "guarded" };
    println!(
        "{} ({side}): {allocations:.1} allocations per request",
        scenario.name
    );
}

fn guard_overhead(c: &mut Criterion) {
    let runtime = runtime();
    if let Ok(name) = std::env::var("GUARD_OVERHEAD_PROFILE") {
        profile(&runtime, &name, 2000);
        std::process::exit(0);
    }
    let scenarios = scenarios(&runtime);
    println!(
        "\nallocations per request (counting allocator, 2000 requests after 200 warm-up; the baseline is the bare handler given the same request):"
    );
    for scenario in &scenarios {
        let count = |call: &Call| allocations_per_request(&runtime, call, 2000);
        let (allocations, baseline) = (count(&scenario.call), count(&scenario.baseline));
        println!(
            "  {:<45} {:>7.1}   (+{:.1} over the bare handler)",
            scenario.name,
            allocations,
            allocations - baseline
        );
    }
    let mut group = c.benchmark_group("guard_overhead");
    for scenario in &scenarios {
        group.bench_function(BenchmarkId::new(scenario.name, "guarded"), |b| {
            b.to_async(&runtime).iter(|| (scenario.call)());
        });
        group.bench_function(BenchmarkId::new(scenario.name, "bare handler"), |b| {
            b.to_async(&runtime).iter(|| (scenario.baseline)());
        });
    }
    group.finish();
}

/// Runs a future that completes without waiting (a verification with its
/// keys at hand) by polling it once: no runtime on either side of the
/// comparison with `jsonwebtoken::decode`.
fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => panic!("the verification waited for something"),
    }
}

fn jwt_verification(c: &mut Criterion) {
    let mut group = c.benchmark_group("jwt_cold_verification");
    for (name, token, verifier, decoding, algorithm) in signed_tokens() {
        // Both sides check the same things: signature, exp, iss, aud.
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[RESOURCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
        ready(verifier.verify(&token)).unwrap();
        group.bench_function(BenchmarkId::new("jsonwebtoken::decode", name), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap()
            });
        });
        group.bench_function(BenchmarkId::new("JwtVerifier::verify", name), |b| {
            b.iter(|| ready(verifier.verify(&token)).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, guard_overhead, jwt_verification);
criterion_main!(benches);
