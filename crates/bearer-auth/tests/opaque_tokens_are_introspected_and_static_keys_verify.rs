//! RFC 7662 introspection against an endpoint of the test's own over HTTP,
//! with its short positive cache; and the static-key configurations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use http::StatusCode;
use jsonwebtoken::{Algorithm, Header};
use mcp_bearer_auth::{
    BearerAuthLayer, IntrospectionVerifier, JwtVerifier, ProtectedResourceMetadata,
};
use mcp_guard_test_support::jwt::unix_now;
use serde_json::json;
use support::{
    EC, EC_PUBLIC, ED, ED_PUBLIC, ISSUER, IntrospectionEndpoint, RESOURCE, RSA_1, RSA_1_PUBLIC,
    sign, subject_through as status_with,
};

/// An introspection endpoint: `good-token` is active, anything else is not;
/// client credentials must be `mcp-server:s3cret`.
async fn start_introspection() -> IntrospectionEndpoint {
    let endpoint = IntrospectionEndpoint::start().await;
    endpoint.answer(
        "good-token",
        json!({"active": true, "sub": "carol", "client_id": "cli", "scope": "mcp files:read",
               "iss": ISSUER, "aud": RESOURCE, "exp": unix_now() + 3600}),
    );
    endpoint
}

fn metadata() -> ProtectedResourceMetadata {
    ProtectedResourceMetadata::new(RESOURCE, [ISSUER])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_tokens_pass_inactive_ones_do_not_and_answers_are_cached_briefly() {
    let endpoint = start_introspection().await;
    let (url, calls) = (&endpoint.url, &endpoint.calls);
    let verifier = endpoint
        .verifier()
        .positive_cache(Duration::from_millis(300))
        .build()
        .unwrap();
    let layer = BearerAuthLayer::new(verifier, metadata());

    assert_eq!(
        status_with(&layer, "good-token").await,
        (StatusCode::OK, "carol".to_owned())
    );
    assert_eq!(status_with(&layer, "good-token").await.0, StatusCode::OK);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second call used the positive cache"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status_with(&layer, "good-token").await.0, StatusCode::OK);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the positive cache is short"
    );

    let (status, body) = status_with(&layer, "revoked-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not active"), "{body}");

    let wrong_secret = BearerAuthLayer::new(
        IntrospectionVerifier::builder(url, "mcp-server", "wrong", RESOURCE)
            .build()
            .unwrap(),
        metadata(),
    );
    assert_eq!(
        status_with(&wrong_secret, "good-token").await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "the endpoint refused us: we cannot decide"
    );
    let down = BearerAuthLayer::new(
        IntrospectionVerifier::builder("http://127.0.0.1:9/introspect", "a", "b", RESOURCE)
            .build()
            .unwrap(),
        metadata(),
    );
    assert_eq!(
        status_with(&down, "good-token").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn static_keys_verify_and_bad_key_settings_fail_at_build_time() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let claims = json!({"iss": "https://auth.example.com", "aud": RESOURCE, "sub": "dave", "exp": unix_now() + 600});
    let pem_verifier = |public: &[u8], alg: Algorithm| {
        JwtVerifier::builder("https://auth.example.com", RESOURCE)
            .public_key_pem(public, alg)
            .build()
            .unwrap()
    };
    let cases: [(Algorithm, &[u8], JwtVerifier); 4] = [
        (
            Algorithm::RS256,
            RSA_1,
            pem_verifier(RSA_1_PUBLIC, Algorithm::RS256),
        ),
        (
            Algorithm::ES256,
            EC,
            pem_verifier(EC_PUBLIC, Algorithm::ES256),
        ),
        (
            Algorithm::EdDSA,
            ED,
            pem_verifier(ED_PUBLIC, Algorithm::EdDSA),
        ),
        (
            Algorithm::HS256,
            secret,
            JwtVerifier::builder("https://auth.example.com", RESOURCE)
                .hs256_secret(secret)
                .build()
                .unwrap(),
        ),
    ];
    for (alg, key, verifier) in cases {
        let token = sign(&Header::new(alg), key, &claims);
        let layer = BearerAuthLayer::new(verifier, metadata());
        assert_eq!(
            status_with(&layer, &token).await,
            (StatusCode::OK, "dave".to_owned()),
            "{alg:?}"
        );
    }
    // An RS256 verifier refuses an ES256 token, whatever it claims.
    let es_token = sign(&Header::new(Algorithm::ES256), EC, &claims);
    let rs_only = pem_verifier(RSA_1_PUBLIC, Algorithm::RS256);
    assert_eq!(
        status_with(&BearerAuthLayer::new(rs_only, metadata()), &es_token)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    let errors = [
        JwtVerifier::builder("https://auth.example.com", RESOURCE)
            .hs256_secret(b"short")
            .build()
            .unwrap_err()
            .to_string(),
        JwtVerifier::builder("https://auth.example.com", RESOURCE)
            .public_key_pem(b"not a key", Algorithm::RS256)
            .build()
            .unwrap_err()
            .to_string(),
        JwtVerifier::builder("https://auth.example.com", RESOURCE)
            .jwk("{}")
            .build()
            .unwrap_err()
            .to_string(),
        JwtVerifier::builder("https://auth.example.com", "not a uri")
            .hs256_secret(secret)
            .build()
            .unwrap_err()
            .to_string(),
        JwtVerifier::builder("https://auth.example.com", RESOURCE)
            .build()
            .unwrap_err()
            .to_string(),
    ];
    for (error, setting) in
        errors
            .iter()
            .zip(["hs256_secret", "public_key_pem", "jwk", "resource", "keys"])
    {
        assert!(error.starts_with(setting), "{error}");
    }
}
