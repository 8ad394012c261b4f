//! Every request of a live session, and its `DELETE`, carries the core's
//! `SessionContext` (id, negotiated version typed, owner) beside the
//! `Session`, so layers inside need not depend on this crate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_guard_core::{GuardBody, ProtocolVersion, SessionContext};
use mcp_session::{Session, SessionGuardLayer};
use support::{INITIALIZE, INITIALIZE_RESULT, PING, owner, principal, request};
use tower::{Layer, ServiceExt};

/// What the handler saw of one request: its method, `SessionContext` and
/// `Session` id.
type Seen = Vec<(Method, Option<SessionContext>, Option<String>)>;

#[tokio::test]
async fn requests_and_the_delete_of_a_session_carry_its_context() {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let record = seen.clone();
    let handler = tower::service_fn(move |request: Request<GuardBody<Full<Bytes>>>| {
        let context = request.extensions().get::<SessionContext>().cloned();
        let session = Session::from_extensions(request.extensions())
            .map(|session| session.id().as_str().to_owned());
        record
            .lock()
            .unwrap()
            .push((request.method().clone(), context, session));
        async {
            Ok::<_, Infallible>(
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::from(INITIALIZE_RESULT))
                    .unwrap(),
            )
        }
    });
    let service = SessionGuardLayer::issue().layer(handler);
    let as_alice = |mut request: Request<Full<Bytes>>| {
        request.extensions_mut().insert(principal("alice"));
        request
    };

    let initialized = service
        .clone()
        .oneshot(as_alice(request(Method::POST, None, INITIALIZE)))
        .await
        .unwrap();
    let id = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    for (method, body) in [(Method::POST, PING), (Method::DELETE, "")] {
        let response = service
            .clone()
            .oneshot(as_alice(request(method.clone(), Some(&id), body)))
            .await
            .unwrap();
        assert!(response.status().is_success(), "{method}");
    }
    assert_eq!(
        service
            .oneshot(as_alice(request(Method::POST, Some(&id), PING)))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND,
        "the DELETE ended it"
    );

    let seen = seen.lock().unwrap();
    let [initialize, ping, delete] = &seen[..] else {
        panic!("the handler saw {} requests", seen.len());
    };
    assert!(
        initialize.1.is_none(),
        "an initialize has no session yet: {initialize:?}"
    );
    for (method, context, session) in [ping, delete] {
        let context = context.as_ref().expect("a SessionContext");
        assert_eq!(context.id(), id, "{method}");
        assert_eq!(
            session.as_deref(),
            Some(id.as_str()),
            "{method}: the Session too"
        );
        assert_eq!(
            context.protocol_version(),
            ProtocolVersion::V2025_11_25,
            "{method}: the version the InitializeResult negotiated"
        );
        assert_eq!(context.owner(), &owner("alice"), "{method}");
    }
}
