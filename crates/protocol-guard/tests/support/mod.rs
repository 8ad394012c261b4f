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
