//! The body is read once. Used alone, the layer reads a POST's envelope
//! itself, with its own `EnvelopeLimits` (its refusals named `bearer-auth`);
//! behind an `EnvelopePeekLayer` the envelope is already in the request's
//! extensions, the layer reads nothing, and its own limits never apply. The
//! inner service is called by the layer's future only after the check: it
//! needs to be neither `Send` nor `'static`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, Principal, Rejection};
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use serde_json::{Value, json};
use support::{ISSUER, RESOURCE, TOOLS_LIST};
use tower::{Layer, Service, ServiceExt};

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";

/// A token holding the `mcp` scope only.
fn token() -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": "mcp",
                        "exp": unix_now() + 3600});
    hs256_token(&claims, SECRET)
}

/// Every call needs `mcp`; the tool `delete` needs `admin` too. A body
/// limit of one byte: any body the layer read itself would be too large.
fn layer() -> BearerAuthLayer<JwtVerifier> {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
        .policy(
            ScopePolicy::new()
                .require(["mcp"])
                .require_for_tool("delete", ["admin"]),
        )
        .envelope_limits(EnvelopeLimits::new().max_body_bytes(1))
        .build()
}

fn post(body: &'static str) -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header("authorization", format!("Bearer {}", token()))
        .header("content-type", "application/json")
        .body(Full::from(body))
        .unwrap()
}

const DELETE: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete"}}"#;

/// The status, the refusal (if any) and the body of `response`.
async fn read<B>(response: Response<B>) -> (StatusCode, Option<Rejection>, Value)
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let rejection = response.extensions().get::<Rejection>().copied();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        rejection,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn alone_the_layer_reads_the_body_with_its_own_limits() {
    let handler = tower::service_fn(|_: Request<_>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
    });
    let response = layer()
        .layer(handler)
        .oneshot(post(TOOLS_LIST))
        .await
        .unwrap();
    let (status, rejection, body) = read(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let rejection = rejection.unwrap();
    assert_eq!(
        (rejection.guard, rejection.reason),
        ("bearer-auth", "body_too_large")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn behind_an_envelope_peek_it_reads_nothing_and_the_policy_still_sees_the_call() {
    let handler = tower::service_fn(|request: Request<_>| async move {
        let subject = request
            .extensions()
            .get::<Principal>()
            .and_then(Principal::subject)
            .map(str::to_owned);
        let body = BodyExt::collect(request.into_body())
            .await
            .unwrap()
            .to_bytes();
        let seen = json!({"subject": subject, "body": String::from_utf8_lossy(&body)});
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(seen.to_string()))))
    });
    let service = EnvelopePeekLayer::new(EnvelopeLimits::new()).layer(layer().layer(handler));

    // Within the peek's limits, far beyond the layer's own one byte.
    let response = service.clone().oneshot(post(TOOLS_LIST)).await.unwrap();
    let (status, _, seen) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen, json!({"subject": "alice", "body": TOOLS_LIST}));

    // The scope policy read the envelope the peek left in the extensions.
    let response = service.oneshot(post(DELETE)).await.unwrap();
    let (status, rejection, body) = read(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(rejection.unwrap().reason, "insufficient_scope");
    assert_eq!(body["id"], 7, "the refusal answers the call's id");
}

/// The check (a token verified for the first time, then a cache hit) runs
/// before the inner service is called, and the inner service is not `Send`:
/// no bound forces it to be.
#[tokio::test(flavor = "current_thread")]
async fn the_inner_service_need_not_be_send() {
    let calls = Rc::new(Cell::new(0));
    let counted = calls.clone();
    let handler = tower::service_fn(move |_: Request<_>| {
        let counted = counted.clone();
        async move {
            counted.set(counted.get() + 1);
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
        }
    });
    let mut service = EnvelopePeekLayer::new(EnvelopeLimits::new()).layer(layer().layer(handler));
    for expected in 1..=2 {
        let ready = service.ready().await.unwrap();
        let response = ready.call(post(TOOLS_LIST)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls.get(), expected);
    }
    let refused = service.oneshot(post(DELETE)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.get(), 2, "a refused call never reaches the handler");
}
