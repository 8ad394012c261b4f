//! Regression test for a crash the `bearer_authorization` fuzz target found:
//! a validly signed token whose `exp` is beyond what `SystemTime` can hold
//! (here 9 999 999 999 999 944 800 s) made the verifier overflow adding it to
//! the epoch. It is a token that practically never expires: accepted, with no
//! expiry recorded, and the layer serves the request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, TokenVerifier};
use mcp_guard_test_support::jwt::hs256_token;
use serde_json::json;
use support::{ISSUER, RESOURCE};
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";

fn far_future_token() -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": "mcp",
                        "exp": 9_999_999_999_999_944_800_u64});
    hs256_token(&claims, SECRET)
}

fn verifier() -> JwtVerifier {
    JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_verifier_accepts_it_without_an_expiry() {
    let principal = verifier().verify(&far_future_token()).await.unwrap();
    assert_eq!(principal.subject(), Some("alice"));
    assert_eq!(principal.expires_at(), None);
}

#[tokio::test]
async fn the_layer_serves_it_twice_from_the_cache() {
    let service = BearerAuthLayer::new(
        verifier(),
        ProtectedResourceMetadata::new(RESOURCE, [ISSUER]),
    )
    .layer(tower::service_fn(|_request: Request<_>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
    }));
    for _ in 0..2 {
        let request = Request::post("/mcp")
            .header("authorization", format!("Bearer {}", far_future_token()))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            )))
            .unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
    }
}
