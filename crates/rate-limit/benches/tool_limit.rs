//! What the rate limit costs per request, in-process: `oneshot` of a
//! `tools/call` POST (an authenticated caller) through an envelope peek and
//! the layer onto a trivial handler, against the peek and the handler
//! alone. Quotas are far above what the bench sends, so nothing is refused.
//!
//! ```text
//! cargo bench -p mcp-rate-limit --bench tool_limit
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::num::NonZeroU32;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::Full;
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, Principal};
use mcp_rate_limit::{Quota, RateLimitLayer};
use tower::{Layer, Service, ServiceExt};

const CALL: &[u8] =
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"expensive_tool","arguments":{}}}"#;

fn request(principal: &Principal) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(CALL)))
        .unwrap();
    request.extensions_mut().insert(principal.clone());
    request
}

async fn handler<B>(_request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"{}"))))
}

fn plenty() -> NonZeroU32 {
    NonZeroU32::new(1_000_000_000).unwrap()
}

fn bench<S, B>(c: &mut Criterion, name: &str, service: S)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // Many callers, as a server sees them.
    let callers: Vec<Principal> = (0..1000)
        .map(|n| {
            let principal = Principal::new()
                .with_issuer("https://as.example")
                .with_subject(format!("user-{n}"));
            principal.caller_key();
            principal
        })
        .collect();
    let mut next = 0;
    c.bench_function(name, |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 1) % callers.len();
            let request = request(&callers[next]);
            let service = service.clone();
            async move { service.oneshot(request).await.unwrap() }
        })
    });
}

fn tool_limit(c: &mut Criterion) {
    let peek = || EnvelopePeekLayer::new(EnvelopeLimits::new());
    let per_tool = || Quota::per_second(plenty());
    bench(
        c,
        "peek + handler (bare)",
        peek().layer(tower::service_fn(handler)),
    );
    bench(
        c,
        "peek + per-principal limit",
        peek().layer(RateLimitLayer::per_second(plenty()).layer(tower::service_fn(handler))),
    );
    bench(
        c,
        "peek + per-principal and per-tool limit",
        peek().layer(
            RateLimitLayer::per_second(plenty())
                .tool("expensive_tool", per_tool())
                .unwrap()
                .layer(tower::service_fn(handler)),
        ),
    );
    bench(
        c,
        "per-tool limit alone (reads the body itself)",
        RateLimitLayer::tools_only()
            .tool("expensive_tool", per_tool())
            .unwrap()
            .layer(tower::service_fn(handler)),
    );
}

criterion_group!(benches, tool_limit);
criterion_main!(benches);
