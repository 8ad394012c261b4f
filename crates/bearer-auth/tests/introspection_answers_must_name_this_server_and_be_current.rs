//! An RFC 7662 answer that says `active: true` is not enough: the token must
//! have been issued for this server (`aud`, unless explicitly not required),
//! by the configured issuer, and be current (`nbf`, `exp`, read as numbers
//! whether the issuer writes integers or floats). The introspection endpoint
//! is a real HTTP server of the test's own, answering what each test says.

#![cfg(feature = "introspection")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::post;
use axum::{Form, Router};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::{BearerAuthLayer, IntrospectionVerifier, ProtectedResourceMetadata};
use mcp_guard_core::{GuardBody, Principal};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// An active answer for this server, changed by `overrides` (`null` removes a member).
fn active(overrides: Value) -> Value {
    let mut answer = json!({"active": true, "sub": "carol", "client_id": "cli", "scope": "mcp",
                            "iss": ISSUER, "aud": RESOURCE, "exp": now().floor() as u64 + 3600});
    for (name, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            answer.as_object_mut().unwrap().remove(name);
        } else {
            answer[name] = value.clone();
        }
    }
    answer
}

/// The introspection endpoint: answers each token with what `answers` holds
/// for it (`{"active": false}` for any other), and counts the calls.
struct Endpoint {
    url: String,
    answers: Arc<Mutex<HashMap<String, Value>>>,
    calls: Arc<AtomicUsize>,
}

impl Endpoint {
    fn answer(&self, token: &str, answer: Value) {
        self.answers
            .lock()
            .unwrap()
            .insert(token.to_owned(), answer);
    }

    fn verifier(&self) -> IntrospectionVerifier {
        IntrospectionVerifier::new(&self.url, "mcp-server", "s3cret", RESOURCE)
    }
}

async fn start_endpoint() -> Endpoint {
    let answers = Arc::new(Mutex::new(HashMap::<String, Value>::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (known, counted) = (answers.clone(), calls.clone());
    let app = Router::new().route(
        "/introspect",
        post(move |Form(form): Form<HashMap<String, String>>| {
            let (known, counted) = (known.clone(), counted.clone());
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let token = form.get("token").cloned().unwrap_or_default();
                let answer = known.lock().unwrap().get(&token).cloned();
                axum::Json(answer.unwrap_or_else(|| json!({"active": false})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Endpoint {
        url,
        answers,
        calls,
    }
}

/// The status and the body (the subject on success, the error otherwise).
async fn call(layer: &BearerAuthLayer<IntrospectionVerifier>, token: &str) -> (StatusCode, String) {
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

fn layer(verifier: IntrospectionVerifier) -> BearerAuthLayer<IntrospectionVerifier> {
    BearerAuthLayer::new(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
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
    let endpoint = start_endpoint().await;
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
    let endpoint = start_endpoint().await;
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
    let endpoint = start_endpoint().await;
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
    let endpoint = start_endpoint().await;
    let exp = now() + 2.0;
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
