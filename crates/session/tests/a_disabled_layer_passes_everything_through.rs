//! A session layer built `disabled()` has the enabled layer's type and guards
//! nothing: every request the enabled layer refuses reaches the handler
//! unchanged (its body unread, nothing in its extensions), every answer
//! comes back as the handler gave it, and no session is minted or stored.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{GuardBody, RpcEnvelope};
use mcp_session::store::MemorySessionStore;
use mcp_session::{Session, SessionGuard, SessionGuardLayer};
use support::{INITIALIZE, PING, request};
use tower::{Layer, ServiceExt};

/// What the handler saw of one request.
#[derive(Debug)]
struct Seen {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    body_was_read: bool,
    session: bool,
    envelope: bool,
}

const ANSWER: &str = "the handler's own answer";

/// Records every request and answers it with its own `Mcp-Session-Id`
/// (which the enabled layer refuses under issue mode) and a plain body.
fn recording_handler(
    seen: Arc<Mutex<Vec<Seen>>>,
) -> impl tower::Service<
    Request<GuardBody<Full<Bytes>>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |request: Request<GuardBody<Full<Bytes>>>| {
        let seen = seen.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body_was_read = body.is_full();
            let body = body.collect().await.unwrap().to_bytes();
            seen.lock().unwrap().push(Seen {
                method: parts.method,
                headers: parts.headers,
                body,
                body_was_read,
                session: Session::from_extensions(&parts.extensions).is_some(),
                envelope: parts.extensions.get::<RpcEnvelope>().is_some(),
            });
            let response = Response::builder()
                .status(StatusCode::ACCEPTED)
                .header("mcp-session-id", "handler-minted")
                .body(Full::from(ANSWER))
                .unwrap();
            Ok::<_, Infallible>(response)
        }
    })
}

/// Requests the enabled layer refuses, and how it answers them.
fn cases() -> Vec<(&'static str, Request<Full<Bytes>>, StatusCode)> {
    vec![
        (
            "a request without a session id",
            request(Method::POST, None, PING),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a request in an unknown session",
            request(Method::POST, Some("no-such-session-0123456789"), PING),
            StatusCode::NOT_FOUND,
        ),
        (
            "a DELETE of an unknown session",
            request(Method::DELETE, Some("no-such-session-0123456789"), ""),
            StatusCode::NOT_FOUND,
        ),
        (
            "an initialize the handler answers with its own session id",
            request(Method::POST, Some("presented-by-the-client"), INITIALIZE),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ]
}

#[tokio::test]
async fn the_disabled_layer_hands_every_request_and_answer_through_untouched() {
    let enabled = SessionGuardLayer::issue();
    let disabled = SessionGuardLayer::<MemorySessionStore>::disabled();
    assert!(enabled.is_enabled());
    assert!(!disabled.is_enabled());
    assert!(
        disabled.store().is_none(),
        "a disabled layer needs no store"
    );

    let seen = Arc::new(Mutex::new(Vec::new()));
    // The same type on and off: a stack switches the guard by configuration.
    let services: [SessionGuard<_, MemorySessionStore>; 2] = [
        enabled.layer(recording_handler(seen.clone())),
        disabled.layer(recording_handler(seen.clone())),
    ];
    let [enabled, disabled] = services;

    for (case, sent, refused_with) in cases() {
        let (parts, body) = sent.into_parts();
        let sent_body = body.collect().await.unwrap().to_bytes();
        let again = || {
            let mut request = Request::new(Full::from(sent_body.clone()));
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.headers_mut() = parts.headers.clone();
            request
        };

        seen.lock().unwrap().clear();
        let response = enabled.clone().oneshot(again()).await.unwrap();
        assert_eq!(response.status(), refused_with, "{case}: enabled");
        // The initialize reaches the handler before the layer refuses its answer.
        if refused_with != StatusCode::INTERNAL_SERVER_ERROR {
            assert!(
                seen.lock().unwrap().is_empty(),
                "{case}: enabled refuses it"
            );
        }

        seen.lock().unwrap().clear();
        let response = disabled.clone().oneshot(again()).await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{case}: disabled");
        assert_eq!(
            response.headers()["mcp-session-id"],
            "handler-minted",
            "{case}: the handler's headers, as they were"
        );
        assert!(
            !response.body().is_full(),
            "{case}: the handler's body, unread"
        );
        let answer = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(answer, ANSWER, "{case}");

        let seen = seen.lock().unwrap();
        let [request] = &seen[..] else {
            panic!("{case}: the handler saw {} requests", seen.len());
        };
        assert_eq!(request.method, parts.method, "{case}");
        assert_eq!(
            request.headers, parts.headers,
            "{case}: every header, as sent"
        );
        assert_eq!(request.body, sent_body, "{case}: the body, byte for byte");
        assert!(!request.body_was_read, "{case}: the layer read no body");
        assert!(!request.session, "{case}: no Session in the extensions");
        assert!(!request.envelope, "{case}: no envelope in the extensions");
    }
}
