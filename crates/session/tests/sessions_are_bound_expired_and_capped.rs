//! The session rules against a real rmcp handler, in both modes: issue (the
//! layer mints ids in front of a stateless rmcp) and track (rmcp mints ids in
//! its legacy session mode). The stack is the one shared/DESIGN.md orders:
//! (a stand-in for bearer-auth that sets the `Principal` from a test header) →
//! protocol guard → session layer → rmcp.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::GuardBody;
use mcp_session::store::MemorySessionStore;
use mcp_session::{IncompletePrincipal, Mode, Session, SessionGuardLayer};
use support::stack::{
    both_modes, in_session, initialize_anonymously, initialize_as, list_tools, mode_of,
    open_session, send, stack,
};
use support::{INITIALIZE, INITIALIZE_RESULT, LIST, request};
use tower::{Layer, ServiceBuilder, ServiceExt};

#[tokio::test]
async fn a_session_works_and_requests_without_a_valid_id_are_refused() {
    for layer in both_modes() {
        let mode = mode_of(&layer);
        let stack = stack(layer);
        let id = open_session(&stack, "alice").await;
        if mode == Mode::Issue {
            assert_eq!(id.len(), 32, "a minted id: 192 bits, base64url");
        }
        let reply = list_tools(&stack, "alice", &id).await;
        assert_eq!(reply.status, StatusCode::OK, "{mode:?}: {}", reply.body);
        assert!(
            reply.body.contains("list_notes"),
            "{mode:?}: {}",
            reply.body
        );

        let missing = send(
            &stack,
            Method::POST,
            &[
                ("x-test-user", "alice"),
                ("mcp-protocol-version", "2025-11-25"),
            ],
            LIST,
        )
        .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{mode:?}");
        assert!(
            missing.body.contains("Mcp-Session-Id is required"),
            "{}",
            missing.body
        );

        for bad in ["with space", "caf\u{e9}", &"x".repeat(200)] {
            let headers = in_session("alice", bad);
            let mut request_headers = headers.to_vec();
            if !bad.is_ascii() {
                request_headers.retain(|(name, _)| *name != "mcp-session-id");
            }
            let reply = send(&stack, Method::POST, &request_headers, LIST).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{mode:?} {bad:?}: {}",
                reply.body
            );
        }

        let unknown = list_tools(&stack, "alice", "no-such-session-0123456789").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{mode:?}");
        assert_eq!(unknown.error_code(), -32001);
        assert!(
            unknown.body.contains("initialize a new session"),
            "{}",
            unknown.body
        );
    }
}

#[tokio::test]
async fn another_principal_cannot_use_the_session() {
    for layer in both_modes() {
        let mode = mode_of(&layer);
        let stack = stack(layer);
        let id = open_session(&stack, "alice").await;
        let hijack = list_tools(&stack, "mallory", &id).await;
        let unknown = list_tools(&stack, "mallory", "no-such-session-0123456789").await;
        assert_eq!(hijack.status, StatusCode::NOT_FOUND, "{mode:?}");
        assert_eq!(
            hijack.body, unknown.body,
            "{mode:?}: a hijack looks exactly like an unknown id"
        );
        let anonymous = send(
            &stack,
            Method::POST,
            &[
                ("mcp-session-id", id.as_str()),
                ("mcp-protocol-version", "2025-11-25"),
            ],
            LIST,
        )
        .await;
        assert_eq!(
            anonymous.status,
            StatusCode::NOT_FOUND,
            "{mode:?}: no principal is a different principal"
        );
        assert_eq!(
            list_tools(&stack, "alice", &id).await.status,
            StatusCode::OK,
            "{mode:?}: the owner still can"
        );
    }
}

#[tokio::test]
async fn delete_ends_the_session_for_good() {
    for layer in both_modes() {
        let mode = mode_of(&layer);
        let stack = stack(layer);
        let id = open_session(&stack, "alice").await;
        let headers = in_session("alice", &id);
        let ended = send(&stack, Method::DELETE, &headers, "").await;
        assert!(
            ended.status.is_success(),
            "{mode:?}: {} {}",
            ended.status,
            ended.body
        );
        let reuse = list_tools(&stack, "alice", &id).await;
        assert_eq!(
            reuse.status,
            StatusCode::NOT_FOUND,
            "{mode:?}: an ended session is gone"
        );
        let again = send(&stack, Method::DELETE, &headers, "").await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{mode:?}");
    }
}

#[tokio::test]
async fn termination_by_clients_can_be_disabled() {
    let layer = SessionGuardLayer::builder(Mode::Issue, MemorySessionStore::new())
        .client_termination(false)
        .build()
        .unwrap();
    let stack = stack(layer);
    let id = open_session(&stack, "alice").await;
    let headers = in_session("alice", &id);
    let refused = send(&stack, Method::DELETE, &headers, "").await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(refused.headers["allow"], "GET, POST");
    assert_eq!(
        list_tools(&stack, "alice", &id).await.status,
        StatusCode::OK,
        "the session lives on"
    );
}

#[tokio::test]
async fn a_rejected_initialize_leaves_no_session_behind() {
    for layer in both_modes() {
        let mode = mode_of(&layer);
        let store = layer.store().unwrap().clone();
        let stack = stack(layer);
        // No protocolVersion, no clientInfo: rmcp answers with a JSON-RPC error.
        let broken =
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":"none"}}"#;
        let reply = send(&stack, Method::POST, &[("x-test-user", "alice")], broken).await;
        let refused = !reply.status.is_success() || reply.body.contains("\"error\"");
        assert!(
            refused,
            "{mode:?}: the handler must refuse it: {} {}",
            reply.status, reply.body
        );
        if mode == Mode::Issue {
            assert!(
                reply.session_id().is_none(),
                "no id is minted for a refused initialize"
            );
        }
        assert_eq!(
            store.live_sessions().await,
            0,
            "{mode:?}: nothing was stored"
        );
    }
}

#[tokio::test]
async fn an_initialize_answered_with_a_json_rpc_error_creates_nothing() {
    // HTTP 200, but the body is a JSON-RPC error, in JSON and in SSE.
    for content_type in ["application/json", "text/event-stream"] {
        let handler = tower::service_fn(move |_: Request<GuardBody<Full<Bytes>>>| async move {
            let error = r#"{"jsonrpc":"2.0","id":0,"error":{"code":-32602,"message":"unsupported capabilities"}}"#;
            let body = match content_type {
                "text/event-stream" => format!("id: 1\ndata: {error}\n\n"),
                _ => error.to_owned(),
            };
            let response = Response::builder()
                .header("content-type", content_type)
                .body(Full::from(body));
            Ok::<_, Infallible>(response.unwrap())
        });
        let layer = SessionGuardLayer::issue();
        let store = layer.store().unwrap().clone();
        let service = ServiceBuilder::new().layer(layer).service(handler);
        let request = Request::post("/mcp")
            .header("content-type", "application/json")
            .body(Full::from(INITIALIZE))
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers().get("mcp-session-id").is_none(),
            "{content_type}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            String::from_utf8_lossy(&body).contains("unsupported capabilities"),
            "the error reaches the client unchanged"
        );
        assert_eq!(store.live_sessions().await, 0, "{content_type}");
    }
}

#[tokio::test]
async fn a_flood_of_initializes_hits_the_caps() {
    for mode in [Mode::Issue, Mode::Track] {
        let layer = SessionGuardLayer::builder(mode, MemorySessionStore::new())
            .max_sessions(5, 3)
            .build()
            .unwrap();
        let store = layer.store().unwrap().clone();
        let stack = stack(layer);
        for _ in 0..3 {
            open_session(&stack, "alice").await;
        }
        let fourth = initialize_as(&stack, "alice").await;
        assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS, "{mode:?}");
        assert_eq!(fourth.headers["retry-after"], "5");
        assert!(fourth.session_id().is_none());
        open_session(&stack, "bob").await;
        open_session(&stack, "bob").await;
        for user in ["carol", "dave", "erin"] {
            let refused = initialize_as(&stack, user).await;
            assert_eq!(
                refused.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{mode:?} {user}"
            );
            assert!(refused.headers.contains_key("retry-after"));
        }
        assert_eq!(
            store.live_sessions().await,
            5,
            "{mode:?}: never more than the cap"
        );
    }
}

/// One local user whose client reconnects without `DELETE` (inspectors, IDE
/// plugins) opens a session per reconnect. Anonymous callers are not one
/// principal: the per-principal cap (32 by default) does not lock them out.
#[tokio::test]
async fn anonymous_callers_do_not_share_the_per_principal_cap() {
    let layer = SessionGuardLayer::issue();
    let store = layer.store().unwrap().clone();
    let stack = stack(layer);
    for nth in 1..=40 {
        let reply = initialize_anonymously(&stack).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "anonymous initialize {nth} (the per-principal cap is 32): {}",
            reply.body
        );
        assert!(reply.session_id().is_some(), "anonymous initialize {nth}");
    }
    assert_eq!(store.live_sessions().await, 40);
}

/// What does bound anonymous sessions is the overall cap (`503` with
/// `Retry-After`); a principal still meets its own cap (`429`).
#[tokio::test]
async fn anonymous_sessions_are_bounded_by_the_overall_cap() {
    for mode in [Mode::Issue, Mode::Track] {
        let layer = SessionGuardLayer::builder(mode, MemorySessionStore::new())
            .max_sessions(6, 2)
            .build()
            .unwrap();
        let store = layer.store().unwrap().clone();
        let stack = stack(layer);
        open_session(&stack, "alice").await;
        open_session(&stack, "alice").await;
        let over = initialize_as(&stack, "alice").await;
        assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{mode:?}");
        assert_eq!(over.headers["retry-after"], "5", "{mode:?}");

        for nth in 1..=4 {
            let reply = initialize_anonymously(&stack).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{mode:?}: anonymous initialize {nth} of 4, over the per-principal cap of 2: {}",
                reply.body
            );
        }
        let full = initialize_anonymously(&stack).await;
        assert_eq!(
            full.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{mode:?}: {}",
            full.body
        );
        assert_eq!(full.headers["retry-after"], "5", "{mode:?}");
        assert!(full.session_id().is_none(), "{mode:?}");
        assert_eq!(store.live_sessions().await, 6, "{mode:?}");
    }
}

#[tokio::test]
async fn idle_sessions_expire() {
    for mode in [Mode::Issue, Mode::Track] {
        let layer = SessionGuardLayer::builder(mode, MemorySessionStore::new())
            .idle_timeout(Duration::from_millis(300))
            .touch_interval(Duration::from_millis(50))
            .build()
            .unwrap();
        let stack = stack(layer);
        let id = open_session(&stack, "alice").await;
        // Requests keep it alive past its first idle deadline...
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(
                list_tools(&stack, "alice", &id).await.status,
                StatusCode::OK,
                "{mode:?}"
            );
        }
        // ...and idleness ends it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            list_tools(&stack, "alice", &id).await.status,
            StatusCode::NOT_FOUND,
            "{mode:?}"
        );
    }
}

/// The official conformance suite (0.1.16, `server-sse-multiple-streams`)
/// sends `2025-03-26` inside a session that negotiated `2025-11-25`: any
/// supported legacy-era version is accepted unless pinning is switched on.
#[tokio::test]
async fn any_legacy_version_is_accepted_in_a_session_unless_pinned() {
    for mode in both_modes() {
        let mode_name = mode_of(&mode);
        let stack = stack(mode);
        let id = open_session(&stack, "alice").await;
        for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
            let headers = [
                ("x-test-user", "alice"),
                ("mcp-session-id", id.as_str()),
                ("mcp-protocol-version", version),
            ];
            let reply = send(&stack, Method::POST, &headers, LIST).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{mode_name:?} {version}: {}",
                reply.body
            );
        }
    }

    let pinned = SessionGuardLayer::builder(Mode::Issue, MemorySessionStore::new())
        .pin_protocol_version(true)
        .build()
        .unwrap();
    let stack = stack(pinned);
    let id = open_session(&stack, "alice").await;
    let headers = [
        ("x-test-user", "alice"),
        ("mcp-session-id", id.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let reply = send(&stack, Method::POST, &headers, LIST).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("pins") && reply.body.contains("2025-11-25"),
        "{}",
        reply.body
    );
    assert_eq!(reply.id(), serde_json::json!(1), "{}", reply.body);
}

/// Every refusal of a parsed request names it: 400 (no session id), 404
/// (unknown session) and 429 (cap) carry the request's JSON-RPC id.
#[tokio::test]
async fn refusals_carry_the_request_id() {
    let stack = stack(SessionGuardLayer::issue());
    let without_id = send(
        &stack,
        Method::POST,
        &[
            ("x-test-user", "alice"),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        LIST,
    )
    .await;
    assert_eq!(without_id.status, StatusCode::BAD_REQUEST);
    assert_eq!(without_id.id(), serde_json::json!(1), "{}", without_id.body);

    let unknown = list_tools(&stack, "alice", "no-such-session-0123456789abcdef").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.id(), serde_json::json!(1), "{}", unknown.body);

    let capped = SessionGuardLayer::builder(Mode::Issue, MemorySessionStore::new())
        .max_sessions(10, 1)
        .build()
        .unwrap();
    let stack = self::stack(capped);
    open_session(&stack, "alice").await;
    let refused = initialize_as(&stack, "alice").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.id(), serde_json::json!(0), "{}", refused.body);
}

/// The session layer alone (no protocol guard in front): a handler that mints
/// an `Mcp-Session-Id` for a stateless-era request (rmcp does, for an
/// `initialize` labelled 2026-07-28) does not get to hand it out.
#[tokio::test]
async fn a_stateless_era_answer_never_carries_a_session_id() {
    let layer = SessionGuardLayer::issue();
    let store = layer.store().unwrap().clone();
    let minting_handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
        let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
        response.headers_mut().insert(
            "mcp-session-id",
            http::HeaderValue::from_static("minted-anyway"),
        );
        Ok::<_, Infallible>(response)
    });
    let service = layer.layer(minting_handler);
    let request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .body(Full::from(INITIALIZE))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("mcp-session-id").is_none());
    assert_eq!(store.live_sessions().await, 0);
}

#[tokio::test]
async fn a_principal_without_issuer_or_subject_is_refused_or_bound_as_configured() {
    let stack = stack(SessionGuardLayer::issue());
    let reply = send(
        &stack,
        Method::POST,
        &[("x-test-incomplete", "1")],
        INITIALIZE,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply.body.contains("no issuer or no subject"),
        "{}",
        reply.body
    );

    let lenient = SessionGuardLayer::builder(Mode::Issue, MemorySessionStore::new())
        .incomplete_principal(IncompletePrincipal::BindToPresent)
        .build()
        .unwrap();
    let stack = self::stack(lenient);
    let reply = send(
        &stack,
        Method::POST,
        &[("x-test-incomplete", "1")],
        INITIALIZE,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let id = reply.session_id().unwrap();
    let headers = [
        ("x-test-incomplete", "1"),
        ("mcp-session-id", id.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    assert_eq!(
        send(&stack, Method::POST, &headers, LIST).await.status,
        StatusCode::OK
    );
    // Bound to the client id: a user of the same client with a full identity is someone else.
    let headers = in_session("alice", &id);
    assert_eq!(
        send(&stack, Method::POST, &headers, LIST).await.status,
        StatusCode::NOT_FOUND
    );

    // A token that names nobody has nothing to bind to: bound "to what is
    // present" it would be anonymous, free of the per-principal cap and
    // sharing sessions with callers that sent no token.
    let nameless = send(
        &stack,
        Method::POST,
        &[("x-test-nameless", "1")],
        INITIALIZE,
    )
    .await;
    assert_eq!(nameless.status, StatusCode::FORBIDDEN, "{}", nameless.body);
    assert!(nameless.session_id().is_none());
}

#[tokio::test]
async fn stateless_era_traffic_passes_untouched() {
    let layer = SessionGuardLayer::issue();
    let store = layer.store().unwrap().clone();
    let stack = stack(layer);
    let body = r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}}"#;
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
        ("mcp-session-id", "ignored-in-this-era"),
    ];
    let reply = send(&stack, Method::POST, &headers, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("list_notes"), "{}", reply.body);
    assert!(reply.session_id().is_none(), "no id is minted or echoed");
    assert_eq!(store.live_sessions().await, 0);
}

#[tokio::test]
async fn handler_state_survives_between_requests() {
    // A handler of our own that counts its calls in the session state.
    let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
        let body = match Session::from_extensions(request.extensions()) {
            Some(session) => {
                let calls: u32 = session.get("calls").unwrap_or(0) + 1;
                session.set("calls", &calls).unwrap();
                format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"calls":{calls}}}}}"#)
            }
            None => INITIALIZE_RESULT.to_owned(),
        };
        let response = Response::builder()
            .header("content-type", "application/json")
            .body(Full::from(body));
        Ok::<_, Infallible>(response.unwrap())
    });
    let service = ServiceBuilder::new()
        .layer(SessionGuardLayer::issue())
        .service(handler);
    let response = service
        .clone()
        .oneshot(request(Method::POST, None, INITIALIZE))
        .await
        .unwrap();
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut last = String::new();
    for _ in 0..3 {
        let response = service
            .clone()
            .oneshot(request(Method::POST, Some(&id), LIST))
            .await
            .unwrap();
        last = String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
    }
    assert!(last.contains(r#""calls":3"#), "{last}");
}

/// An `initialize` that carries someone else's `Mcp-Session-Id` opens a new
/// session of its own: the id it presents never reaches the handler (in track
/// mode rmcp would run the second initialize inside the victim's session), and
/// the answer does not tell the sender whether that id is live.
#[tokio::test]
async fn an_initialize_with_a_session_id_never_reaches_that_session() {
    for layer in both_modes() {
        let mode = mode_of(&layer);
        let stack = stack(layer);
        let victims = open_session(&stack, "alice").await;
        for presented in [victims.as_str(), "no-such-session-0123456789abcdef"] {
            let reply = send(
                &stack,
                Method::POST,
                &[("x-test-user", "mallory"), ("mcp-session-id", presented)],
                INITIALIZE,
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{mode:?}: {}", reply.body);
            let new = reply.session_id().expect("a new session");
            assert_ne!(
                new, victims,
                "{mode:?}: the initialize joined alice's session"
            );
        }
        assert_eq!(
            list_tools(&stack, "alice", &victims).await.status,
            StatusCode::OK,
            "{mode:?}: alice's session is untouched"
        );
    }
}
