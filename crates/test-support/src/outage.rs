//! A store outage seen from outside: what a guard answers while its store is
//! down (`503`, the store's `Retry-After`, a JSON-RPC error naming the store)
//! and how fast (one command timeout, not a hang).
//!
//! ```
//! use bytes::Bytes;
//! use http::Response;
//! use mcp_guard_test_support::outage::assert_unavailable;
//!
//! let response = Response::builder()
//!     .status(503)
//!     .header("retry-after", "3")
//!     .header("content-type", "application/json")
//!     .body(Bytes::from_static(
//!         br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"the session store is unavailable"}}"#,
//!     ))
//!     .unwrap();
//! assert_unavailable("an initialize", &response, "session", "3");
//! ```

use std::fmt::Debug;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};
use tower::{Service, ServiceExt};

/// The command timeout an outage test gives its Redis store.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// A failing call must return within [`COMMAND_TIMEOUT`] plus scheduling
/// slack.
pub const FAILS_WITHIN: Duration = Duration::from_secs(2);

/// How long a guard may take to answer at all, however its store is.
const ANSWERS_WITHIN: Duration = Duration::from_secs(10);

/// `request` through a clone of `service`, and how long the answer took.
///
/// # Panics
///
/// If there is no answer within 10 s, or the service fails.
pub async fn timed<S, R>(service: &S, request: R) -> (S::Response, Duration)
where
    S: Service<R> + Clone,
    S::Error: Debug,
{
    let started = Instant::now();
    let response = tokio::time::timeout(ANSWERS_WITHIN, service.clone().oneshot(request))
        .await
        .expect("the guards answer, however their store is")
        .unwrap();
    (response, started.elapsed())
}

/// Sends `request()` until the answer is no longer `503` (the store
/// reconnecting after the outage), within 10 s; returns that answer.
///
/// # Panics
///
/// If one call gets no answer within 10 s, or the service fails.
pub async fn once_available<S, R>(service: &S, request: impl Fn() -> R) -> Response<Bytes>
where
    S: Service<R, Response = Response<Bytes>> + Clone,
    S::Error: Debug,
{
    let deadline = Instant::now() + ANSWERS_WITHIN;
    loop {
        let (response, _) = timed(service, request()).await;
        if response.status() != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts `response` is the answer to an unavailable `store` ("session",
/// "event"): `503`, `Retry-After: retry_after`, a JSON-RPC error body saying
/// "`<store>` store is unavailable".
///
/// # Panics
///
/// On any difference, naming `case`.
pub fn assert_unavailable(case: &str, response: &Response<Bytes>, store: &str, retry_after: &str) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{case}");
    assert_eq!(
        response.headers()["retry-after"],
        retry_after,
        "{case}: the store's retry hint"
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{case}"
    );
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["jsonrpc"], "2.0", "{case}: {body}");
    let unavailable = format!("{store} store is unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&unavailable),
        "{case}: {body}"
    );
}

/// Asserts an answer that took `took` did not wait on a dead store.
///
/// # Panics
///
/// If `took` is [`FAILS_WITHIN`] or more, naming `case`.
pub fn assert_fails_fast(case: &str, took: Duration) {
    assert!(
        took < FAILS_WITHIN,
        "{case}: answered in {took:?}, not stuck on Redis"
    );
}
