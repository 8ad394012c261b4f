//! `McpError::log_refusal`: one log line per refusal, at the level its
//! severity says, naming the guard, reason and method.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use http::{Method, StatusCode};
use mcp_guard_core::{McpError, Severity, error_code, guard};

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `run` logs, one line per event.
fn logged(run: impl FnOnce()) -> Vec<String> {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, run);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    text.lines().map(str::to_owned).collect()
}

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
        let lines = logged(|| refusal(severity).log_refusal(&Method::POST));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with(level), "{severity:?}: {}", lines[0]);
    }
}

#[test]
fn the_line_names_the_guard_reason_status_method_and_message() {
    let lines = logged(|| {
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
    let lines = logged(|| {
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
    let lines = logged(|| {
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
