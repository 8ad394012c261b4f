//! The rate limit in front of a trivial handler: each caller has its own
//! bucket, a token that names no one cannot escape the limit, a request
//! without a principal is not counted, and a disabled layer refuses nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{GuardBody, Principal, Rejection};
use mcp_rate_limit::RateLimitLayer;
use serde_json::Value;
use tower::{Layer, Service, ServiceExt};

const ISSUER: &str = "https://as.example";

/// Counts the requests that reach it.
fn handler(
    calls: Arc<AtomicUsize>,
) -> impl Service<Request<GuardBody<Full<Bytes>>>, Response = Response<Full<Bytes>>, Error = Infallible>
+ Clone {
    tower::service_fn(move |_request: Request<GuardBody<Full<Bytes>>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}")))) }
    })
}

/// A ping as `principal` (or anonymous).
fn ping(principal: Option<Principal>) -> Request<Full<Bytes>> {
    let mut request = Request::post("/mcp")
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#,
        )))
        .unwrap();
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    request
}

fn subject(name: &str) -> Option<Principal> {
    Some(Principal::new().with_issuer(ISSUER).with_subject(name))
}

/// One request a second, bursts of two.
fn limit() -> RateLimitLayer {
    RateLimitLayer::per_second(NonZeroU32::MIN).burst(NonZeroU32::new(2).unwrap())
}

async fn statuses<S, B>(service: &mut S, requests: Vec<Request<Full<Bytes>>>) -> Vec<u16>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
{
    let mut statuses = Vec::new();
    for request in requests {
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn each_subject_has_its_own_bucket_and_the_429_says_when_to_retry() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = limit().layer(handler(calls.clone()));
    let alice = (0..2).map(|_| ping(subject("alice"))).collect();
    assert_eq!(statuses(&mut service, alice).await, [200, 200]);

    let refused = service
        .ready()
        .await
        .unwrap()
        .call(ping(subject("alice")))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");
    let rejection = *refused.extensions().get::<Rejection>().unwrap();
    assert_eq!(
        (rejection.guard, rejection.reason),
        ("rate-limit", "rate_limited")
    );
    let body = refused.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["data"]["retryAfterSeconds"], 1, "{body}");

    let bob = vec![ping(subject("bob"))];
    assert_eq!(statuses(&mut service, bob).await, [200], "bob's own bucket");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn tokens_that_name_no_one_share_their_issuers_bucket() {
    let mut service = limit().layer(handler(Arc::default()));
    let nameless = (0..3)
        .map(|_| ping(Some(Principal::new().with_issuer(ISSUER))))
        .collect();
    assert_eq!(statuses(&mut service, nameless).await, [200, 200, 429]);

    // A client-credentials token is its client's, not the nameless bucket.
    let client = vec![ping(Some(
        Principal::new().with_issuer(ISSUER).with_client_id("robot"),
    ))];
    assert_eq!(statuses(&mut service, client).await, [200]);
}

#[tokio::test]
async fn requests_without_a_principal_are_not_counted() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = limit().layer(handler(calls.clone()));
    let anonymous = (0..5).map(|_| ping(None)).collect();
    assert_eq!(statuses(&mut service, anonymous).await, [200; 5]);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_disabled_limit_lets_what_the_enabled_one_refuses_reach_the_handler() {
    let enabled = limit();
    let disabled = RateLimitLayer::disabled();
    assert!(enabled.is_enabled());
    assert!(!disabled.is_enabled());

    let calls = Arc::new(AtomicUsize::new(0));
    // The same service type whether on or off.
    let services: [mcp_rate_limit::RateLimit<_>; 2] = [
        enabled.layer(handler(calls.clone())),
        disabled.layer(handler(calls.clone())),
    ];
    let [mut on, mut off] = services;
    let burst = |n| (0..n).map(|_| ping(subject("alice"))).collect();
    assert_eq!(statuses(&mut on, burst(3)).await, [200, 200, 429]);
    assert_eq!(statuses(&mut off, burst(3)).await, [200, 200, 200]);
    assert_eq!(calls.load(Ordering::SeqCst), 5);

    let passed = off.oneshot(ping(subject("alice"))).await.unwrap();
    assert!(passed.extensions().get::<Rejection>().is_none());
    let body = passed.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "{}", "the handler's response, untouched");
}

#[test]
fn tool_limits_that_cannot_work_are_refused_when_built() {
    use governor::Quota;
    use mcp_rate_limit::ToolLimitError;

    let quota = Quota::per_minute(NonZeroU32::MIN);
    let empty = RateLimitLayer::tools_only().tool("", quota);
    assert_eq!(empty.unwrap_err(), ToolLimitError::EmptyName);

    let once = limit().tool("expensive_tool", quota).unwrap();
    let twice = once.clone().tool("expensive_tool", quota).unwrap_err();
    assert_eq!(
        twice,
        ToolLimitError::Duplicate {
            tool: "expensive_tool".to_owned()
        }
    );
    assert!(twice.to_string().contains("\"expensive_tool\""), "{twice}");
    // Names are case-sensitive: another tool.
    let other = once.tool("Expensive_Tool", quota).unwrap();
    assert_eq!(other.tool_limits().count(), 2);
    assert!(other.reads_the_envelope());
}
