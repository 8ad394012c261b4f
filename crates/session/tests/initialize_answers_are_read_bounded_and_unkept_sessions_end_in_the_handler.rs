//! The handler's answer to an `initialize` is read within bounds (1 MiB, 30
//! seconds) before a session is made of it: a larger or slower one is a
//! `502` and no session. And a session the handler minted (track mode) that
//! the layer cannot keep is ended in the handler with the `DELETE` its
//! client would send, before the refusal goes out.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use mcp_guard_core::{GuardBody, Rejection};
use mcp_session::store::MemorySessionStore;
use mcp_session::{Mode, SessionGuardLayer};
use support::{INITIALIZE, INITIALIZE_RESULT, principal, request};
use tower::{Layer, ServiceExt};

type AnswerBody = UnsyncBoxBody<Bytes, Infallible>;

/// A handler answering every request with `answer()`, as JSON.
fn answering(
    answer: fn() -> AnswerBody,
) -> impl tower::Service<
    Request<GuardBody<Full<Bytes>>>,
    Response = Response<AnswerBody>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |_: Request<GuardBody<Full<Bytes>>>| async move {
        let response = Response::builder()
            .header("content-type", "application/json")
            .body(answer());
        Ok::<_, Infallible>(response.unwrap())
    })
}

/// The refusal's status and reason; the store must hold no session.
async fn refused_without_a_session(answer: fn() -> AnswerBody) -> (StatusCode, &'static str) {
    let layer = SessionGuardLayer::issue();
    let store = layer.store().unwrap().clone();
    let service = layer.layer(answering(answer));
    let response = service
        .oneshot(request(Method::POST, None, INITIALIZE))
        .await
        .unwrap();
    assert!(!response.headers().contains_key("mcp-session-id"));
    assert_eq!(store.live_sessions().await, 0, "no session was created");
    let reason = response.extensions().get::<Rejection>().unwrap().reason;
    (response.status(), reason)
}

#[tokio::test]
async fn an_initialize_answer_over_a_mebibyte_opens_no_session() {
    let oversized = || {
        // A successful InitializeResult, padded past the 1 MiB limit.
        let padding = " ".repeat(1024 * 1024);
        Full::from(format!("{INITIALIZE_RESULT}{padding}")).boxed_unsync()
    };
    assert_eq!(
        refused_without_a_session(oversized).await,
        (StatusCode::BAD_GATEWAY, "initialize_response_unreadable")
    );
}

#[tokio::test(start_paused = true)]
async fn an_initialize_answer_that_never_ends_opens_no_session() {
    // The clock is paused: the 30-second read bound passes at once, in
    // virtual time, when nothing else can run.
    let endless = || {
        let first = Ok(http_body::Frame::data(Bytes::from(INITIALIZE_RESULT)));
        let frames = futures_util::stream::iter([first]).chain(futures_util::stream::pending());
        StreamBody::new(frames).boxed_unsync()
    };
    let started = tokio::time::Instant::now();
    assert_eq!(
        refused_without_a_session(endless).await,
        (StatusCode::BAD_GATEWAY, "initialize_response_unreadable")
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(30));
}

/// What the handler was sent: method, and the headers it saw.
type Seen = Arc<Mutex<Vec<(Method, HeaderMap)>>>;

#[tokio::test]
async fn a_session_the_layer_cannot_keep_is_ended_in_the_handler() {
    let seen: Seen = Arc::default();
    let minted = Arc::new(Mutex::new(0));
    let handler = {
        let seen = seen.clone();
        tower::service_fn(move |request: Request<GuardBody<Full<Bytes>>>| {
            seen.lock()
                .unwrap()
                .push((request.method().clone(), request.headers().clone()));
            let mut minted = minted.lock().unwrap();
            *minted += 1;
            let response = Response::builder()
                .header("content-type", "application/json")
                .header("mcp-session-id", format!("handler-minted-{minted}"))
                .body(Full::from(INITIALIZE_RESULT))
                .unwrap();
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let layer = SessionGuardLayer::builder(Mode::Track, MemorySessionStore::new())
        .max_sessions(10, 1)
        .build()
        .unwrap();
    let store = layer.store().unwrap().clone();
    let service = layer.layer(handler);
    let initialize = || {
        let mut request = request(Method::POST, None, INITIALIZE);
        request
            .headers_mut()
            .insert("host", "mcp.test".parse().unwrap());
        request.extensions_mut().insert(principal("alice"));
        request
    };

    let kept = service.clone().oneshot(initialize()).await.unwrap();
    assert_eq!(kept.headers()["mcp-session-id"], "handler-minted-1");
    let over = service.clone().oneshot(initialize()).await.unwrap();
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!over.headers().contains_key("mcp-session-id"));
    assert_eq!(store.live_sessions().await, 1);

    let seen = seen.lock().unwrap();
    let methods: Vec<&Method> = seen.iter().map(|(method, _)| method).collect();
    assert_eq!(methods, [Method::POST, Method::POST, Method::DELETE]);
    let (_, ended) = &seen[2];
    assert_eq!(
        ended["mcp-session-id"], "handler-minted-2",
        "the unkept one"
    );
    assert_eq!(ended["host"], "mcp.test");
    assert_eq!(ended["mcp-protocol-version"], "2025-11-25");
}
