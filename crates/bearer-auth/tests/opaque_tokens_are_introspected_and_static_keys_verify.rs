//! RFC 7662 introspection against an endpoint of the test's own over HTTP,
//! with its short positive cache; and the static-key configurations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_bearer_auth::{
    BearerAuthLayer, IntrospectionVerifier, JwtVerifier, ProtectedResourceMetadata, TokenVerifier,
};
use mcp_guard_core::{GuardBody, Principal};
use serde_json::json;
use tower::{Layer, ServiceExt};

const RESOURCE: &str = "https://mcp.example.com/mcp";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An introspection endpoint: `good-token` is active, anything else is not;
/// client credentials must be `mcp-server:s3cret`.
async fn start_introspection() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = Router::new().route(
        "/introspect",
        post(move |headers: http::HeaderMap, body: String| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let expected = format!("Basic {}", "bWNwLXNlcnZlcjpzM2NyZXQ=");
                if headers.get("authorization").and_then(|value| value.to_str().ok()) != Some(expected.as_str()) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                let active = body.contains("token=good-token");
                let answer = if active {
                    json!({"active": true, "sub": "carol", "client_id": "cli", "scope": "mcp files:read",
                           "iss": "https://auth.example.com", "aud": RESOURCE, "exp": now() + 3600})
                } else {
                    json!({"active": false})
                };
                Ok(axum::Json(answer))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

async fn status_with<V: TokenVerifier>(
    layer: &BearerAuthLayer<V>,
    token: &str,
) -> (StatusCode, String) {
    let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
        let subject = request
            .extensions()
            .get::<Principal>()
            .and_then(Principal::subject)
            .unwrap_or("")
            .to_owned();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(subject))))
    });
    let request = Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        ))
        .unwrap();
    let response = layer.clone().layer(handler).oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn metadata() -> ProtectedResourceMetadata {
    ProtectedResourceMetadata::new(RESOURCE, ["https://auth.example.com"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_tokens_pass_inactive_ones_do_not_and_answers_are_cached_briefly() {
    let (url, calls) = start_introspection().await;
    let verifier = IntrospectionVerifier::new(&url, "mcp-server", "s3cret", RESOURCE)
        .positive_cache(Duration::from_millis(300));
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
        IntrospectionVerifier::new(&url, "mcp-server", "wrong", RESOURCE),
        metadata(),
    );
    assert_eq!(
        status_with(&wrong_secret, "good-token").await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "the endpoint refused us: we cannot decide"
    );
    let down = BearerAuthLayer::new(
        IntrospectionVerifier::new("http://127.0.0.1:9/introspect", "a", "b", RESOURCE),
        metadata(),
    );
    assert_eq!(
        status_with(&down, "good-token").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn static_keys_verify_and_bad_key_settings_fail_at_build_time() {
    let rsa = include_bytes!("keys/rsa-1.pem");
    let rsa_public = include_bytes!("keys/rsa-1.pub.pem");
    let ec = include_bytes!("keys/ec.pem");
    let ec_public = include_bytes!("keys/ec.pub.pem");
    let ed = include_bytes!("keys/ed.pem");
    let ed_public = include_bytes!("keys/ed.pub.pem");
    let secret = b"0123456789abcdef0123456789abcdef";
    let claims = json!({"iss": "https://auth.example.com", "aud": RESOURCE, "sub": "dave", "exp": now() + 600});
    let cases: [(Algorithm, EncodingKey, JwtVerifier); 4] = [
        (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(rsa).unwrap(),
            JwtVerifier::builder("https://auth.example.com", RESOURCE)
                .public_key_pem(rsa_public, Algorithm::RS256)
                .build()
                .unwrap(),
        ),
        (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(ec).unwrap(),
            JwtVerifier::builder("https://auth.example.com", RESOURCE)
                .public_key_pem(ec_public, Algorithm::ES256)
                .build()
                .unwrap(),
        ),
        (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(ed).unwrap(),
            JwtVerifier::builder("https://auth.example.com", RESOURCE)
                .public_key_pem(ed_public, Algorithm::EdDSA)
                .build()
                .unwrap(),
        ),
        (
            Algorithm::HS256,
            EncodingKey::from_secret(secret).unwrap(),
            JwtVerifier::builder("https://auth.example.com", RESOURCE)
                .hs256_secret(secret)
                .build()
                .unwrap(),
        ),
    ];
    for (alg, key, verifier) in cases {
        let token = jsonwebtoken::encode(&Header::new(alg), &claims, &key).unwrap();
        let layer = BearerAuthLayer::new(verifier, metadata());
        assert_eq!(
            status_with(&layer, &token).await,
            (StatusCode::OK, "dave".to_owned()),
            "{alg:?}"
        );
    }
    // An RS256 verifier refuses an ES256 token, whatever it claims.
    let es_token = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims,
        &EncodingKey::from_ec_pem(ec).unwrap(),
    )
    .unwrap();
    let rs_only = JwtVerifier::builder("https://auth.example.com", RESOURCE)
        .public_key_pem(rsa_public, Algorithm::RS256)
        .build()
        .unwrap();
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
