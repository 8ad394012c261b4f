//! RFC 7519 NumericDates are numbers, not only integers: issuers that write
//! `exp` with `time.time()` send `1733170010.0`. Such an `exp` is the token's
//! expiry, for the verifier and for the layer's cache of verified tokens (which
//! held such a token for its whole TTL, past its expiry). An `exp` or `nbf`
//! that is not a non-negative number is refused with a reason naming it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use http::StatusCode;
use mcp_bearer_auth::{
    BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, TokenVerifier, VerifyError,
};
use mcp_guard_test_support::jwt::hs256_token;
use serde_json::{Value, json};
use support::{ISSUER, RESOURCE, now_f64 as now, subject_through as call, with};

const SECRET: &[u8] = b"a test secret that is 32+ bytes long";

/// A token for this server, `exp` (and whatever else `overrides` says) as given.
fn token(overrides: Value) -> String {
    let claims = json!({"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "scope": "mcp"});
    hs256_token(&with(claims, overrides), SECRET)
}

fn verifier(leeway: Duration) -> JwtVerifier {
    JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .leeway(leeway)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_verifier_records_a_float_exp_as_the_expiry() {
    let exp = now().floor() + 600.75;
    let principal = verifier(Duration::from_secs(30))
        .verify(&token(json!({"exp": exp})))
        .await
        .unwrap();
    let expires_at = principal
        .expires_at()
        .expect("a float exp is an expiry")
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((expires_at - exp).abs() < 0.001, "{expires_at} != {exp}");
}

/// Through the layer: accepted while valid, refused once `exp` has passed,
/// although the first answer went into the verified-token cache (5 min TTL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_refuses_a_cached_token_once_its_float_exp_has_passed() {
    let service = BearerAuthLayer::new(
        verifier(Duration::ZERO),
        ProtectedResourceMetadata::new(RESOURCE, [ISSUER]),
    );
    let exp = now() + 2.0;
    let token = token(json!({"exp": exp}));
    assert_eq!(call(&service, &token).await.0, StatusCode::OK);
    // jsonwebtoken compares whole seconds (exp rounded): wait until both it
    // and the cache's exact expiry say the token has expired.
    while now() < exp.round() + 1.0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = call(&service, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("expired"), "{body}");
}

#[tokio::test]
async fn an_exp_or_nbf_that_is_not_a_non_negative_number_is_refused_naming_it() {
    let verifier = verifier(Duration::from_secs(30));
    let in_an_hour = now().floor() as u64 + 3600;
    let not_numeric_date = |claim: &str| format!("{claim} claim is not a NumericDate");
    let cases = [
        ("negative exp", json!({"exp": -1}), not_numeric_date("exp")),
        (
            "negative float exp",
            json!({"exp": -1.5}),
            not_numeric_date("exp"),
        ),
        (
            "exp as text",
            json!({"exp": in_an_hour.to_string()}),
            not_numeric_date("exp"),
        ),
        (
            "exp as a boolean",
            json!({"exp": true}),
            not_numeric_date("exp"),
        ),
        (
            "nbf as text",
            json!({"exp": in_an_hour, "nbf": "yesterday"}),
            not_numeric_date("nbf"),
        ),
        (
            "negative nbf",
            json!({"exp": in_an_hour, "nbf": -5}),
            not_numeric_date("nbf"),
        ),
        // jsonwebtoken cannot parse the claims past an array in exp: refused
        // all the same, as not well-formed.
        (
            "exp as an array",
            json!({"exp": [in_an_hour]}),
            "well-formed".to_owned(),
        ),
        (
            "float exp an hour ago",
            json!({"exp": now() - 3600.5}),
            "expired".to_owned(),
        ),
        (
            "float nbf in an hour",
            json!({"exp": in_an_hour, "nbf": now() + 3600.5}),
            "not valid yet".to_owned(),
        ),
    ];
    for (case, claims, named) in cases {
        match verifier.verify(&token(claims)).await {
            Err(VerifyError::Invalid(reason)) => {
                assert!(reason.contains(&named), "{case}: {reason}");
            }
            other => panic!("{case}: {other:?}"),
        }
    }
}
