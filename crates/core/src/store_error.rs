use std::fmt;
use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};

use crate::{McpError, error_code};

/// A store that could not answer: a session or event store whose backend (a
/// Redis server, say) is down. Layers answer `503` with `Retry-After` and a
/// JSON-RPC error ([`StoreError::rejection`]): never a `500`, never a silent
/// fallback.
///
/// ```
/// use std::time::Duration;
/// use mcp_guard_core::StoreError;
///
/// let error = StoreError::new("connection refused", Duration::from_secs(7));
/// let rejection = error.rejection("session store");
/// assert_eq!(rejection.status().as_u16(), 503);
/// assert_eq!(rejection.headers()["retry-after"], "7");
/// assert!(!rejection.message().contains("connection refused"), "details stay in the logs");
/// ```
#[derive(Debug, Clone)]
pub struct StoreError {
    message: String,
    retry_after: Duration,
}

impl StoreError {
    /// A failure; clients are told to retry after `retry_after`.
    pub fn new(message: impl Into<String>, retry_after: Duration) -> Self {
        StoreError {
            message: message.into(),
            retry_after,
        }
    }

    /// What went wrong (logged, never sent to the client).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How long clients should wait before retrying.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// The `503` answer naming `which` store (e.g. "session store"), with
    /// `Retry-After` in whole seconds (at least one), and the
    /// [`Rejection`](crate::Rejection) reason `store_unavailable`.
    pub fn rejection(&self, which: &str) -> McpError {
        let seconds = self.retry_after.as_secs().max(1);
        McpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            error_code::SERVER_ERROR,
            format!("the {which} is unavailable; retry after the Retry-After interval"),
        )
        .with_header(RETRY_AFTER, HeaderValue::from(seconds))
        .with_reason("store_unavailable")
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store unavailable: {}", self.message)
    }
}

impl std::error::Error for StoreError {}
