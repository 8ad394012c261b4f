//! What the protocol guard's tests share: the headers of both eras, a request
//! with a list of headers, the stateless era's `_meta`, and a log capture.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use http::{Method, Request};
use serde_json::{Value, json};

/// `Content-Type` of a POST.
pub(crate) const JSON: &str = "application/json";
/// The `Accept` a POST must send.
pub(crate) const BOTH: &str = "application/json, text/event-stream";
/// The stateless era's revision.
pub(crate) const V_NEW: &str = "2026-07-28";

/// A request to `uri` carrying `headers` in order (a name may repeat).
pub(crate) fn request_with(
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
) -> http::request::Builder {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
}

/// The `_meta` every stateless-era request needs: its revision and the
/// client's capabilities.
pub(crate) fn stateless_meta() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": V_NEW,
           "io.modelcontextprotocol/clientCapabilities": {}})
}

/// Every log line written while it is the thread's default subscriber
/// (`#[tokio::test]` runs on one thread), at every level.
#[derive(Clone, Default)]
pub(crate) struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Starts capturing; capture ends when the returned guard drops.
    pub(crate) fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}
