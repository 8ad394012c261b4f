//! `McpError::log_refusal`: one log line per refusal, at the level its
//! severity says, naming the guard, reason and method.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::{Method, StatusCode};
use mcp_guard_core::{McpError, Severity, error_code, guard};
use mcp_guard_test_support::logs::Logs;

fn refusal(severity: Severity) -> McpError {
    McpError::new(
        StatusCode::FORBIDDEN,
        error_code::SERVER_ERROR,
        "Host \"attacker.example\" is not allowed",
    )
    .with_reason("host_not_allowed")
    .rejected_by(guard::ORIGIN_GUARD)
    .with_severity(severity)
}

#[test]
fn each_severity_logs_at_its_level() {
    for (severity, level) in [
        (Severity::Routine, "DEBUG"),
        (Severity::Expected, " INFO"),
        (Severity::Operator, " WARN"),
    ] {
        let lines = Logs::of(|| refusal(severity).log_refusal(&Method::POST));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with(level), "{severity:?}: {}", lines[0]);
    }
}

#[test]
fn the_line_names_the_guard_reason_status_method_and_message() {
    let lines = Logs::of(|| {
        let _response = refusal(Severity::default())
            .into_logged_response::<http_body_util::Empty<bytes::Bytes>>(&Method::DELETE);
    });
    let line = &lines[0];
    for expected in [
        "origin guard rejected a request",
        "status=403",
        "code=-32000",
        "method=DELETE",
        "reason=\"host_not_allowed\"",
        "attacker.example",
    ] {
        assert!(line.contains(expected), "{expected} missing: {line}");
    }
}

#[test]
fn the_answer_for_the_kit_future_is_logged_too() {
    let lines = Logs::of(|| {
        let answer = McpError::new(StatusCode::NOT_FOUND, error_code::SESSION_NOT_FOUND, "gone")
            .with_reason("unknown_session")
            .rejected_by(guard::SESSION)
            .into_logged_answer(&Method::GET);
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
        assert!(answer.body().starts_with(b"{\"jsonrpc\":\"2.0\""));
    });
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("session layer rejected a request"),
        "{}",
        lines[0]
    );
}

#[test]
fn an_unnamed_guard_still_logs_with_an_unspecified_reason() {
    let lines = Logs::of(|| {
        McpError::new(StatusCode::BAD_REQUEST, error_code::INVALID_REQUEST, "bad")
            .log_refusal(&Method::POST);
    });
    assert!(
        lines[0].contains("an unnamed guard rejected a request"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("reason=\"unspecified\""), "{}", lines[0]);
}
