//! An RFC 7662 answer that says `active: true` is not enough: the token must
//! have been issued for this server (`aud`, unless explicitly not required),
//! by the configured issuer, and be current (`nbf`, `exp`, read as numbers
//! whether the issuer writes integers or floats). The introspection endpoint
//! is a real HTTP server of the test's own, answering what each test says.

#![cfg(feature = "introspection")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use http::StatusCode;
use mcp_bearer_auth::{
    BearerAuthLayer, IntrospectionVerifier, IntrospectionVerifierBuilder, ProtectedResourceMetadata,
};
use serde_json::{Value, json};
use support::{
    ISSUER, IntrospectionEndpoint, RESOURCE, now_f64 as now, subject_through as call, with,
};

/// An active answer for this server, changed by `overrides` (`null` removes a member).
fn active(overrides: Value) -> Value {
    let answer = json!({"active": true, "sub": "carol", "client_id": "cli", "scope": "mcp",
                        "iss": ISSUER, "aud": RESOURCE, "exp": now().floor() as u64 + 3600});
    with(answer, overrides)
}

fn layer(verifier: IntrospectionVerifierBuilder) -> BearerAuthLayer<IntrospectionVerifier> {
    BearerAuthLayer::new(
        verifier.build().unwrap(),
        ProtectedResourceMetadata::new(RESOURCE, [ISSUER]),
    )
}

/// Asserts a 401 whose message contains `reason`.
fn assert_refused(case: &str, (status, body): (StatusCode, String), reason: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
    assert!(
        body.contains("invalid") || body.contains("not valid"),
        "{case}: {body}"
    );
    assert!(
        body.contains(reason),
        "{case}: expected {reason:?} in {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_answer_without_an_audience_is_refused_unless_that_is_allowed() {
    let endpoint = IntrospectionEndpoint::start().await;
    endpoint.answer("no-aud", active(json!({"aud": null})));
    endpoint.answer(
        "other-aud",
        active(json!({"aud": "https://other.example.com/mcp"})),
    );
    endpoint.answer(
        "ours",
        active(json!({"aud": ["https://a.example", RESOURCE]})),
    );

    let strict = layer(endpoint.verifier());
    assert_refused("no aud", call(&strict, "no-aud").await, "audience");
    assert_refused("another aud", call(&strict, "other-aud").await, "audience");
    assert_eq!(
        call(&strict, "ours").await,
        (StatusCode::OK, "carol".into())
    );

    let lenient = layer(endpoint.verifier().require_audience(false));
    assert_eq!(
        call(&lenient, "no-aud").await,
        (StatusCode::OK, "carol".into()),
        "the explicit opt-out accepts an answer naming no audience"
    );
    assert_refused(
        "another aud, opted out",
        call(&lenient, "other-aud").await,
        "audience",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_issuer_must_be_the_one_the_answer_names() {
    let endpoint = IntrospectionEndpoint::start().await;
    endpoint.answer("ours", active(json!({})));
    endpoint.answer("evil", active(json!({"iss": "https://evil.example"})));
    endpoint.answer("no-iss", active(json!({"iss": null})));

    let checked = layer(endpoint.verifier().issuer(ISSUER));
    assert_eq!(
        call(&checked, "ours").await,
        (StatusCode::OK, "carol".into())
    );
    assert_refused("wrong iss", call(&checked, "evil").await, "issuer");
    assert_refused("no iss", call(&checked, "no-iss").await, "issuer");

    let unchecked = layer(endpoint.verifier());
    assert_eq!(
        call(&unchecked, "evil").await.0,
        StatusCode::OK,
        "no issuer configured: the endpoint's word is taken"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_not_yet_valid_or_expired_is_refused_even_when_active() {
    let endpoint = IntrospectionEndpoint::start().await;
    let in_an_hour = now().floor() as u64 + 3600;
    endpoint.answer("future-nbf", active(json!({"nbf": in_an_hour})));
    endpoint.answer("future-float-nbf", active(json!({"nbf": now() + 3600.5})));
    endpoint.answer("past-float-exp", active(json!({"exp": now() - 3600.5})));
    endpoint.answer("past-exp", active(json!({"exp": in_an_hour - 7200})));
    endpoint.answer("text-exp", active(json!({"exp": in_an_hour.to_string()})));
    endpoint.answer("negative-exp", active(json!({"exp": -1})));
    endpoint.answer("negative-nbf", active(json!({"nbf": -1.5})));
    endpoint.answer(
        "float-exp",
        active(json!({"exp": now() + 3600.5, "nbf": now() - 10.25})),
    );

    let layer = layer(endpoint.verifier());
    assert_refused(
        "nbf in an hour",
        call(&layer, "future-nbf").await,
        "not valid yet",
    );
    assert_refused(
        "float nbf in an hour",
        call(&layer, "future-float-nbf").await,
        "not valid yet",
    );
    assert_refused(
        "float exp an hour ago",
        call(&layer, "past-float-exp").await,
        "expired",
    );
    assert_refused("exp an hour ago", call(&layer, "past-exp").await, "expired");
    assert_refused("exp as text", call(&layer, "text-exp").await, "exp");
    assert_refused("negative exp", call(&layer, "negative-exp").await, "exp");
    assert_refused("negative nbf", call(&layer, "negative-nbf").await, "nbf");
    assert_eq!(
        call(&layer, "float-exp").await,
        (StatusCode::OK, "carol".into()),
        "float exp and nbf that say now are fine"
    );
}

/// A float `exp` is an expiry: the layer's cache never serves the answer
/// past it (it held it up to the positive cache's TTL, the exp unread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_float_exp_ends_the_cached_answer_on_time() {
    let endpoint = IntrospectionEndpoint::start().await;
    // Far enough ahead that the first call lands before it on a loaded
    // 2-core CI machine (2 s was missed once there).
    let exp = now() + 5.0;
    endpoint.answer("short-lived", active(json!({"exp": exp})));
    let layer = layer(
        endpoint
            .verifier()
            .positive_cache(Duration::from_secs(600))
            .leeway(Duration::ZERO),
    );

    assert_eq!(
        call(&layer, "short-lived").await,
        (StatusCode::OK, "carol".into())
    );
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 1);
    while now() <= exp + 0.1 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_refused("after exp", call(&layer, "short-lived").await, "expired");
    assert_eq!(
        endpoint.calls.load(Ordering::SeqCst),
        2,
        "the cached answer ended at exp, so the endpoint was asked again"
    );
}

/// A setting that cannot work is refused when the verifier is built, the
/// error naming the setting, rather than failing every request later.
#[test]
fn settings_that_cannot_work_are_refused_when_built() {
    let build = |endpoint: &str, client_id: &str, secret: &str, resource: &str| {
        IntrospectionVerifier::builder(endpoint, client_id, secret, resource).build()
    };
    let endpoint = "https://auth.example.com/introspect";
    let cases = [
        (
            "ftp endpoint",
            build(
                "ftp://auth.example.com/introspect",
                "mcp-server",
                "s3cret",
                RESOURCE,
            ),
            "endpoint:",
        ),
        (
            "relative endpoint",
            build("/introspect", "mcp-server", "s3cret", RESOURCE),
            "endpoint:",
        ),
        (
            "empty client id",
            build(endpoint, "", "s3cret", RESOURCE),
            "client_id:",
        ),
        (
            "empty client secret",
            build(endpoint, "mcp-server", "", RESOURCE),
            "client_secret:",
        ),
        (
            "resource not a URI",
            build(endpoint, "mcp-server", "s3cret", "not a uri"),
            "resource:",
        ),
        (
            "empty issuer",
            IntrospectionVerifier::builder(endpoint, "mcp-server", "s3cret", RESOURCE)
                .issuer("")
                .build(),
            "issuer:",
        ),
    ];
    for (case, built, setting) in cases {
        let error = built.unwrap_err().to_string();
        assert!(error.starts_with(setting), "{case}: {error}");
    }
    let verifier = build(
        "http://127.0.0.1:9/introspect",
        "mcp-server",
        "s3cret",
        RESOURCE,
    )
    .expect("a loopback http endpoint is fine");
    assert!(
        !format!("{verifier:?}").contains("s3cret"),
        "Debug output never shows the client secret"
    );
}
