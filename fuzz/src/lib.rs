//! Helpers shared by the fuzz targets: a tokio runtime, a tiny text format for
//! fuzzed HTTP requests (easy to write seeds in), and the checks every guard's
//! rejection must pass.

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};

/// One current-thread runtime for the whole fuzzing process.
pub static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
});

/// A fuzzed request in a small text format:
///
/// ```text
/// POST /mcp?query          <- method and target (defaults: POST /mcp)
/// name: value              <- headers, raw bytes after ": " (repeatable)
///                          <- a blank line
/// body bytes ...           <- the rest, byte for byte
/// ```
///
/// Lines whose header name or value `http` refuses are dropped, as a server
/// would never see them. `directives` are header lines whose name starts with
/// `@`: the targets read them as instructions instead of headers.
#[derive(Debug, Default)]
pub struct FuzzedRequest {
    /// The request line's method.
    pub method: http::Method,
    /// The request target.
    pub target: String,
    /// The headers, in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `@name: value` lines.
    pub directives: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl FuzzedRequest {
    /// Reads the format above; never fails.
    pub fn parse(data: &[u8]) -> FuzzedRequest {
        let (head, body) = match find(data, b"\n\n") {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &[][..]),
        };
        let mut lines = head.split(|byte| *byte == b'\n');
        let mut request = FuzzedRequest {
            method: http::Method::POST,
            target: "/mcp".into(),
            body: body.to_vec(),
            ..FuzzedRequest::default()
        };
        if let Some(first) = lines.next() {
            let text = String::from_utf8_lossy(first);
            let mut parts = text.splitn(2, ' ');
            if let Some(method) = parts
                .next()
                .and_then(|m| http::Method::from_bytes(m.as_bytes()).ok())
            {
                request.method = method;
            }
            if let Some(target) = parts.next()
                && target.parse::<http::Uri>().is_ok()
            {
                request.target = target.to_owned();
            }
        }
        for line in lines {
            let Some(colon) = line.iter().position(|byte| *byte == b':') else {
                continue;
            };
            let name = &line[..colon];
            let value = line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]);
            if let Some(directive) = name.strip_prefix(b"@") {
                request.directives.push((
                    String::from_utf8_lossy(directive).into_owned(),
                    value.to_vec(),
                ));
                continue;
            }
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            {
                request.headers.push((name, value));
            }
        }
        request
    }

    /// The first directive called `name`.
    pub fn directive(&self, name: &str) -> Option<&[u8]> {
        self.directives
            .iter()
            .find(|(directive, _)| directive == name)
            .map(|(_, value)| value.as_slice())
    }

    /// The `http::Request` with the body in one frame.
    pub fn to_request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(Bytes::from(self.body.clone())));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self
            .target
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static("/mcp"));
        for (name, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        request
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Collects a response body (every guard's own bodies are small and finite).
pub async fn collect<B>(response: Response<B>) -> (http::response::Parts, Bytes)
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .expect("a guard's body never fails")
        .to_bytes();
    (parts, bytes)
}

/// Asserts the shape every guard rejection has (DESIGN.md, `McpError`): a
/// JSON content type and a JSON-RPC 2.0 error object with an integer code and
/// a non-empty message.
pub fn assert_json_rpc_error(parts: &http::response::Parts, body: &[u8]) {
    assert_eq!(
        parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(HeaderValue::as_bytes),
        Some(&b"application/json"[..]),
        "a rejection ({}) is JSON",
        parts.status
    );
    let value: serde_json::Value =
        serde_json::from_slice(body).expect("a rejection's body is valid JSON");
    assert_eq!(value["jsonrpc"], "2.0", "{value}");
    assert!(value["error"]["code"].is_i64(), "{value}");
    assert!(
        value["error"]["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{value}"
    );
    assert!(
        value.get("id").is_some(),
        "the id is present (null when unknown): {value}"
    );
}
