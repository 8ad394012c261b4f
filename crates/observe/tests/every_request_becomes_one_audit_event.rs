//! A real rmcp server (legacy SSE answers and stateless JSON answers) behind
//! the observe layer and real guards: one event per request, with the
//! method, the tool, the caller, the outcome — the handler's result or
//! JSON-RPC error, or the refusing guard and its reason — and never the token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::time::Duration;

use mcp_guard_test_support::logs::Logs;
use mcp_observe::{ObserveLayer, Outcome};
use serde_json::json;
use support::{Era, open_session, post, send, stack, token, tool_call};

#[tokio::test]
async fn an_ok_call_is_one_event_with_method_tool_caller_duration_and_bytes() {
    for era in [Era::StatelessJson, Era::LegacySse] {
        let (stack, events) = stack(era, ObserveLayer::new());
        let token = token("alice");
        let session = match era {
            Era::LegacySse => Some(open_session(&stack, &token).await),
            Era::StatelessJson => None,
        };
        if let Some(session) = &session {
            // The session id of `initialize` comes from its response.
            let handshake = events.take();
            let methods: Vec<_> = handshake
                .iter()
                .map(|event| event.method.as_deref())
                .collect();
            assert_eq!(
                methods,
                [Some("initialize"), Some("notifications/initialized")]
            );
            assert_eq!(handshake[0].session_id.as_ref(), Some(session));
            assert_eq!(handshake[0].outcome, Outcome::Ok);
            assert_eq!(handshake[1].status, 202);
            assert_eq!(handshake[1].outcome, Outcome::Accepted);
        }
        events.take();
        let response = send(
            &stack,
            post(
                Some(&token),
                session.as_deref(),
                &tool_call(7, "echo", json!({"text": "hi"})),
            ),
        )
        .await;
        assert_eq!(response.status(), 200, "{era:?}");
        let body = String::from_utf8_lossy(response.body()).into_owned();
        let events = events.take();
        assert_eq!(events.len(), 1, "{era:?}: {events:?}");
        let event = &events[0];
        assert_eq!(event.method.as_deref(), Some("tools/call"), "{era:?}");
        assert_eq!(event.target.as_deref(), Some("echo"));
        assert_eq!(event.request_id.as_deref(), Some("7"));
        assert_eq!(event.outcome, Outcome::Ok, "{era:?}: {body}");
        assert_eq!(event.status, 200);
        assert!(event.duration > Duration::ZERO);
        assert!(event.request_bytes > 0);
        assert_eq!(
            event.response_bytes,
            response.body().len() as u64,
            "{era:?}"
        );
        assert_eq!(event.session_id, session, "{era:?}");
        assert_eq!(event.protocol_version.as_deref(), Some("2025-06-18"));
        let caller = event
            .caller
            .as_ref()
            .expect("bearer auth verified a caller");
        assert_eq!(caller.subject.as_deref(), Some("alice"));
        assert_eq!(caller.issuer.as_deref(), Some(support::ISSUER));
        assert_eq!(caller.client_id.as_deref(), Some("test-client"));
        assert!(
            event.arguments.is_none(),
            "arguments are not logged by default"
        );
        if era == Era::LegacySse {
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/event-stream"),
                "the legacy answer is an SSE stream"
            );
        }
    }
}

#[tokio::test]
async fn a_json_rpc_error_answer_carries_its_code() {
    for era in [Era::StatelessJson, Era::LegacySse] {
        let (stack, events) = stack(era, ObserveLayer::new());
        let token = token("alice");
        let session = match era {
            Era::LegacySse => Some(open_session(&stack, &token).await),
            Era::StatelessJson => None,
        };
        events.take();
        let response = send(
            &stack,
            post(
                Some(&token),
                session.as_deref(),
                &tool_call(3, "broken", json!({})),
            ),
        )
        .await;
        let body = String::from_utf8_lossy(response.body()).into_owned();
        assert!(body.contains("-32603"), "{era:?}: {body}");
        let events = events.take();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].outcome,
            Outcome::RpcError { code: -32603 },
            "{era:?}"
        );
        assert_eq!(events[0].target.as_deref(), Some("broken"));
    }
}

#[tokio::test]
async fn a_guard_refusal_names_the_guard_and_reason() {
    let (stack, events) = stack(Era::StatelessJson, ObserveLayer::new());
    let mut rebinding = post(
        Some(&token("alice")),
        None,
        &tool_call(1, "echo", json!({"text": "x"})),
    );
    rebinding
        .headers_mut()
        .insert("host", "evil.example".parse().unwrap());
    let response = send(&stack, rebinding).await;
    assert_eq!(response.status(), 403);
    let refused = events.take();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0].outcome,
        Outcome::Refused {
            guard: "origin-guard",
            reason: "host_not_allowed"
        }
    );
    // The origin guard refused before the body was read: no method known.
    assert_eq!(refused[0].method, None);

    let response = send(
        &stack,
        post(None, None, &tool_call(2, "echo", json!({"text": "x"}))),
    )
    .await;
    assert_eq!(response.status(), 401);
    let events = events.take();
    assert_eq!(events.len(), 1);
    assert!(
        matches!(
            events[0].outcome,
            Outcome::Refused {
                guard: "bearer-auth",
                ..
            }
        ),
        "{:?}",
        events[0].outcome
    );
    // Bearer auth runs after the envelope peek: the call is known, the caller is not.
    assert_eq!(events[0].method.as_deref(), Some("tools/call"));
    assert_eq!(events[0].target.as_deref(), Some("echo"));
    assert!(events[0].caller.is_none());
}

#[tokio::test]
async fn arguments_are_recorded_only_for_the_tools_opted_in() {
    let (stack, events) = stack(
        Era::StatelessJson,
        ObserveLayer::new().log_arguments_of(["echo"]),
    );
    let token = token("alice");
    send(
        &stack,
        post(
            Some(&token),
            None,
            &tool_call(1, "echo", json!({"text": "opted in"})),
        ),
    )
    .await;
    send(
        &stack,
        post(
            Some(&token),
            None,
            &tool_call(2, "broken", json!({"secret": "not opted in"})),
        ),
    )
    .await;
    let events = events.take();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]
            .arguments
            .as_ref()
            .map(|arguments| arguments.get()),
        Some(r#"{"text":"opted in"}"#)
    );
    assert!(events[1].arguments.is_none());
}

#[tokio::test]
async fn the_tracing_audit_event_has_the_caller_and_never_the_token() {
    let logs = Logs::default();
    let token = token("alice");
    {
        let _capture = logs.capture();
        let (stack, _events) = stack(
            Era::StatelessJson,
            ObserveLayer::new().log_arguments_of(["echo"]),
        );
        let response = send(
            &stack,
            post(
                Some(&token),
                None,
                &tool_call(9, "echo", json!({"text": "hi"})),
            ),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    let audit: Vec<_> = logs
        .at(" INFO")
        .into_iter()
        .filter(|line| line.contains("mcp_observe::audit"))
        .collect();
    assert_eq!(audit.len(), 1, "{}", logs.text());
    let line = &audit[0];
    for field in [
        "mcp.method.name=\"tools/call\"",
        "gen_ai.tool.name=\"echo\"",
        "jsonrpc.request.id=\"9\"",
        "mcp_guard.outcome=\"ok\"",
        "enduser.id=\"alice\"",
        "http.response.status_code=200",
        // The span the event is in, named after the MCP conventions.
        "otel.name=\"tools/call\"",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    let text = logs.text();
    let signature = token.rsplit('.').next().unwrap();
    assert!(!text.contains(&token), "the token leaked: {text}");
    assert!(
        !text.contains(signature),
        "the token's signature leaked: {text}"
    );
}
