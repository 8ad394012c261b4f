//! A stack can switch bearer auth off by configuration without changing its
//! type: `BearerAuthLayer::disabled()` makes the same service type as an
//! enabled layer, and it passes every request through untouched. What the
//! enabled layer refuses (no token, a bad token) or answers itself (the
//! RFC 9728 document) reaches the handler as it was sent: the
//! `Authorization` header kept, no principal added, the body unread, and
//! nothing logged.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::{BearerAuth, BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_core::{GuardBody, Principal};
use mcp_guard_test_support::logs::Logs;
use serde_json::{Value, json};
use support::{ISSUER, RESOURCE, TOOLS_LIST};
use tower::util::BoxCloneService;
use tower::{Layer, ServiceExt};

/// The handler: reports what reached it.
type Handler = BoxCloneService<Request<GuardBody<Full<Bytes>>>, Response<Full<Bytes>>, Infallible>;

fn handler() -> Handler {
    BoxCloneService::new(tower::service_fn(
        |request: Request<GuardBody<Full<Bytes>>>| async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let seen = json!({
                "path": parts.uri.path(),
                "authorization": parts.headers.get("authorization").map(|value| value.to_str().unwrap()),
                "principal": parts.extensions.get::<Principal>().is_some(),
                "body": String::from_utf8_lossy(&body),
            });
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(seen.to_string()))))
        },
    ))
}

fn enabled() -> BearerAuthLayer<JwtVerifier> {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(b"a test secret that is 32+ bytes long")
        .build()
        .unwrap();
    BearerAuthLayer::new(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
}

/// The status and the JSON body of `request` through `service`.
async fn send(
    service: &BearerAuth<Handler, JwtVerifier>,
    request: Request<Full<Bytes>>,
) -> (StatusCode, Value) {
    let response = service.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

fn without_token() -> Request<Full<Bytes>> {
    Request::post("/mcp").body(Full::from(TOOLS_LIST)).unwrap()
}

fn with_bad_token() -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header("authorization", "Bearer not-a-jwt")
        .body(Full::from(TOOLS_LIST))
        .unwrap()
}

fn metadata_read() -> Request<Full<Bytes>> {
    Request::get("/.well-known/oauth-protected-resource/mcp")
        .body(Full::default())
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn what_the_enabled_layer_refuses_or_answers_reaches_the_handler_unchanged() {
    let on = enabled();
    let off = BearerAuthLayer::<JwtVerifier>::disabled();
    assert!(on.is_enabled());
    assert!(!off.is_enabled());
    // One type for both: a configuration switch, not a different stack.
    let [on, off]: [BearerAuth<Handler, JwtVerifier>; 2] =
        [on.layer(handler()), off.layer(handler())];

    let (status, refused) = send(&on, without_token()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    let (status, refused) = send(&on, with_bad_token()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    let (status, document) = send(&on, metadata_read()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        document["resource"], RESOURCE,
        "the enabled layer serves it"
    );

    let (status, seen) = send(&off, without_token()).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(
        seen,
        json!({"path": "/mcp", "authorization": null, "principal": false, "body": TOOLS_LIST})
    );
    let (status, seen) = send(&off, with_bad_token()).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(
        seen,
        json!({"path": "/mcp", "authorization": "Bearer not-a-jwt", "principal": false, "body": TOOLS_LIST}),
        "the Authorization header is left as it came"
    );
    let (status, seen) = send(&off, metadata_read()).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(
        seen["path"], "/.well-known/oauth-protected-resource/mcp",
        "no metadata document served: the handler answered"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_disabled_layer_logs_nothing() {
    let captured = Logs::default();
    let _guard = captured.capture();
    let on = enabled().layer(handler());
    let off = BearerAuthLayer::<JwtVerifier>::disabled().layer(handler());

    for request in [without_token(), with_bad_token(), metadata_read()] {
        assert_eq!(send(&off, request).await.0, StatusCode::OK);
    }
    assert_eq!(captured.text(), "", "the disabled layer logged");

    // The capture works: the enabled layer's refusal is logged.
    assert_eq!(
        send(&on, with_bad_token()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        captured.text().contains("bearer auth rejected a request"),
        "{}",
        captured.text()
    );
}
