use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use serde::Serialize;

use crate::{GuardBody, Rejection, RpcEnvelope, RpcId};

/// JSON-RPC error codes used in rejections.
pub mod error_code {
    /// The body is not valid JSON.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON is not a valid JSON-RPC request.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// An internal error of the server.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// Implementation-defined server error: what the transport-level guards use
    /// when no more specific code applies (the official SDKs do the same).
    pub const SERVER_ERROR: i32 = -32000;
    /// The session the request names does not exist (unknown, expired, ended,
    /// or another caller's): initialize a new one. The code the TypeScript SDK
    /// uses for the same answer.
    pub const SESSION_NOT_FOUND: i32 = -32001;
    /// 2026-07-28: a routing header (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`) is
    /// missing, malformed, or disagrees with the body.
    pub const HEADER_MISMATCH: i32 = -32020;
    /// 2026-07-28: the request names a protocol version the server does not
    /// support; `error.data` is `{"supported": [...], "requested": "..."}`.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
}

/// A rejection: an HTTP status plus a JSON-RPC error object, the one shape every
/// mcp-guard layer answers with.
///
/// The body is `{"jsonrpc":"2.0","error":{"code":…,"message":…},"id":null}` (or the
/// request's id when known), served as `application/json`. The message should tell
/// the caller what to fix; never put a secret in it.
///
/// A guard names itself and its reason ([`rejected_by`](McpError::rejected_by),
/// [`with_reason`](McpError::with_reason)), and the response carries them as a
/// [`Rejection`] extension, for metrics and trace layers.
///
/// ```
/// use http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE};
/// use mcp_guard_core::{McpError, RpcId, error_code};
///
/// let error = McpError::new(StatusCode::BAD_REQUEST, error_code::INVALID_REQUEST, "missing Mcp-Session-Id")
///     .with_id(RpcId::Number(7.into()))
///     .with_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
///     .with_reason("missing_session_id")
///     .rejected_by(mcp_guard_core::guard::SESSION);
/// assert_eq!(
///     error.body_bytes(),
///     r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"missing Mcp-Session-Id"},"id":7}"#
/// );
/// let response = error.into_response::<http_body_util::Empty<bytes::Bytes>>();
/// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.headers()["www-authenticate"], "Bearer");
/// let rejection = response.extensions().get::<mcp_guard_core::Rejection>().unwrap();
/// assert_eq!((rejection.guard, rejection.reason), ("session", "missing_session_id"));
/// ```
#[derive(Debug, Clone)]
pub struct McpError {
    // Boxed: rejections are the cold path, and a small error keeps every
    // `Result<_, McpError>` on the hot path small.
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    status: StatusCode,
    code: i32,
    message: Cow<'static, str>,
    data: Option<serde_json::Value>,
    id: Option<RpcId>,
    headers: HeaderMap,
    guard: Option<&'static str>,
    reason: Option<&'static str>,
    severity: Severity,
}

/// How loudly a refusal is logged by [`McpError::log_refusal`]: an expected
/// refusal is the client's business, an operator problem is the operator's.
///
/// ```
/// use http::StatusCode;
/// use mcp_guard_core::{McpError, Severity, error_code};
///
/// let error = McpError::new(StatusCode::UNAUTHORIZED, error_code::SERVER_ERROR, "send a token");
/// assert_eq!(error.severity(), Severity::Expected);
/// assert_eq!(error.with_severity(Severity::Routine).severity(), Severity::Routine);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Severity {
    /// What every well-behaved client meets (the first `401` of every OAuth
    /// client, which has no token yet): logged at `debug`.
    Routine,
    /// A client's mistake, a probe, an expired session: expected, nothing for
    /// the operator to do; logged at `info`. The default.
    #[default]
    Expected,
    /// Something an operator must act on (a store down, an issuer
    /// unreachable, a misconfiguration): logged at `warn`.
    Operator,
}

#[derive(Serialize)]
struct ErrorDocument<'a> {
    jsonrpc: &'static str,
    error: ErrorObject<'a>,
    id: Option<&'a RpcId>,
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    code: i32,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a serde_json::Value>,
}

impl McpError {
    /// A rejection with `status`, JSON-RPC error `code` (see [`error_code`]) and a
    /// message telling the caller what to fix.
    pub fn new(status: StatusCode, code: i32, message: impl Into<Cow<'static, str>>) -> Self {
        McpError {
            inner: Box::new(Inner {
                status,
                code,
                message: message.into(),
                data: None,
                id: None,
                headers: HeaderMap::new(),
                guard: None,
                reason: None,
                severity: Severity::Expected,
            }),
        }
    }

    /// Answers with the id of the request being rejected instead of `null`
    /// (`None` keeps the id as it is).
    pub fn with_id(mut self, id: impl Into<Option<RpcId>>) -> Self {
        if let Some(id) = id.into() {
            self.inner.id = Some(id);
        }
        self
    }

    /// Answers with the id of the request whose parsed envelope is in
    /// `extensions` (put there by [`EnvelopeLimits`](crate::EnvelopeLimits)), when
    /// it is one message with an id; otherwise the answer keeps `null`.
    ///
    /// Every guard calls this on its rejections, so a client can match the
    /// error to its request whichever guard refused it.
    ///
    /// ```
    /// use http::StatusCode;
    /// use mcp_guard_core::{McpError, RpcEnvelope, error_code};
    ///
    /// let mut extensions = http::Extensions::new();
    /// extensions.insert(RpcEnvelope::parse(br#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#));
    /// let error = McpError::new(StatusCode::NOT_FOUND, error_code::SESSION_NOT_FOUND, "gone")
    ///     .with_id_from(&extensions);
    /// assert!(error.body_bytes().ends_with(br#""id":"a"}"#));
    /// ```
    pub fn with_id_from(mut self, extensions: &http::Extensions) -> Self {
        if self.inner.id.is_none() {
            self.inner.id = extensions
                .get::<RpcEnvelope>()
                .and_then(RpcEnvelope::request_id)
                .cloned();
        }
        self
    }

    /// The id the answer carries, if any.
    pub fn id(&self) -> Option<&RpcId> {
        self.inner.id.as_ref()
    }

    /// Adds structured detail as the error object's `data` member.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.inner.data = Some(data);
        self
    }

    /// Adds a response header (e.g. `WWW-Authenticate`, `Retry-After`, `Allow`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.inner.headers.append(name, value);
        self
    }

    /// Says why the request is refused, as a short stable snake_case token
    /// (`host_not_allowed`, `invalid_token`, …) that metrics can count: the
    /// `reason` of the response's [`Rejection`]. A later call replaces it.
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.inner.reason = Some(reason);
        self
    }

    /// Names the guard that refuses (one of [`guard`](crate::guard)): the
    /// response then carries a [`Rejection`] extension with this guard and
    /// the [reason](McpError::with_reason). A guard calls it where its
    /// refusals become responses, so a refusal made by a shared helper (the
    /// [`EnvelopeLimits`](crate::EnvelopeLimits), a [`StoreError`](crate::StoreError))
    /// names the guard that used it.
    pub fn rejected_by(mut self, guard: &'static str) -> Self {
        self.inner.guard = Some(guard);
        self
    }

    /// Sets how loudly [`log_refusal`](McpError::log_refusal) logs this
    /// refusal (default [`Severity::Expected`], `info`).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.inner.severity = severity;
        self
    }

    /// How loudly this refusal is logged.
    pub fn severity(&self) -> Severity {
        self.inner.severity
    }

    /// Logs this refusal of a `method` request, the one way every guard logs
    /// its refusals: at the level its [`Severity`] says, with the guard's
    /// name in the message (`"origin guard rejected a request"`), and the
    /// status, JSON-RPC code, method, [`Rejection`] reason and message as
    /// fields. The message is what the client is told, so it holds no secret.
    ///
    /// Name the guard first ([`rejected_by`](McpError::rejected_by)).
    pub fn log_refusal(&self, method: &http::Method) {
        let rejection = self.rejection();
        let guard = rejection.map_or("an unnamed guard", |rejection| guard_label(rejection.guard));
        let reason = rejection.map_or(Rejection::UNSPECIFIED, |rejection| rejection.reason);
        let (status, code, message) = (self.status().as_u16(), self.code(), self.message());
        match self.inner.severity {
            Severity::Routine => {
                tracing::debug!(status, code, %method, reason, message, "{guard} rejected a request")
            }
            Severity::Expected => {
                tracing::info!(status, code, %method, reason, message, "{guard} rejected a request")
            }
            Severity::Operator => {
                tracing::warn!(status, code, %method, reason, message, "{guard} rejected a request")
            }
        }
    }

    /// [Logs](McpError::log_refusal) this refusal of a `method` request and
    /// turns it into the response (see [`into_response`](McpError::into_response)).
    ///
    /// ```
    /// use http::{Method, StatusCode};
    /// use mcp_guard_core::{McpError, Rejection, error_code, guard};
    ///
    /// let response = McpError::new(StatusCode::FORBIDDEN, error_code::SERVER_ERROR, "Host \"evil.example\" is not allowed")
    ///     .with_reason("host_not_allowed")
    ///     .rejected_by(guard::ORIGIN_GUARD)
    ///     .into_logged_response::<http_body_util::Empty<bytes::Bytes>>(&Method::POST);
    /// assert_eq!(response.status(), StatusCode::FORBIDDEN);
    /// assert_eq!(response.extensions().get::<Rejection>().unwrap().reason, "host_not_allowed");
    /// ```
    pub fn into_logged_response<B>(self, method: &http::Method) -> Response<GuardBody<B>> {
        self.log_refusal(method);
        self.into_response()
    }

    /// [Logs](McpError::log_refusal) this refusal of a `method` request and
    /// turns it into an answer for [`GuardFuture`](crate::GuardFuture) and
    /// [`Verdict`](crate::Verdict) (the body as plain bytes).
    pub fn into_logged_answer(self, method: &http::Method) -> Response<Bytes> {
        self.log_refusal(method);
        self.into_response_with(|bytes| bytes)
    }

    /// The guard and reason the response will carry, once a guard is named
    /// (the reason is [`Rejection::UNSPECIFIED`] when none was given).
    pub fn rejection(&self) -> Option<Rejection> {
        Some(Rejection {
            guard: self.inner.guard?,
            reason: self.inner.reason.unwrap_or(Rejection::UNSPECIFIED),
        })
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        self.inner.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The extra response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The serialized JSON-RPC error document.
    pub fn body_bytes(&self) -> Bytes {
        let document = ErrorDocument {
            jsonrpc: "2.0",
            error: ErrorObject {
                code: self.inner.code,
                message: &self.inner.message,
                data: self.inner.data.as_ref(),
            },
            id: self.inner.id.as_ref(),
        };
        // Serializing strings, integers and a `Value` into a Vec cannot fail.
        Bytes::from(serde_json::to_vec(&document).unwrap_or_default())
    }

    /// The HTTP response, with a body type that fits in front of the handler's
    /// body `B`.
    pub fn into_response<B>(self) -> Response<GuardBody<B>> {
        self.into_response_with(GuardBody::full)
    }

    /// The HTTP response, with the JSON-RPC document in a body of the
    /// caller's making (for a layer whose own body type is not
    /// [`GuardBody`]).
    pub fn into_response_with<T>(self, body: impl FnOnce(Bytes) -> T) -> Response<T> {
        let mut response = Response::new(body(self.body_bytes()));
        *response.status_mut() = self.inner.status;
        if let Some(rejection) = self.rejection() {
            response.extensions_mut().insert(rejection);
        }
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.extend(self.inner.headers);
        response
    }
}

/// How a log line names a guard: its [`guard`](crate::guard) name in words.
fn guard_label(guard: &'static str) -> &'static str {
    use crate::guard::*;
    match guard {
        ORIGIN_GUARD => "origin guard",
        CORS => "CORS",
        ENVELOPE_PEEK => "envelope peek",
        PROTOCOL_GUARD => "protocol guard",
        BEARER_AUTH => "bearer auth",
        RATE_LIMIT => "rate limit",
        SESSION => "session layer",
        SSE_RESUME => "SSE resume",
        RESPONSE_TIMEOUT => "response timeout",
        other => other,
    }
}

impl fmt::Display for McpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status(), self.code(), self.message())
    }
}

impl std::error::Error for McpError {}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Empty};

    #[test]
    fn body_is_a_json_rpc_error_with_a_null_id() {
        let error = McpError::new(
            StatusCode::FORBIDDEN,
            error_code::SERVER_ERROR,
            "no \"quotes\" break it",
        );
        let parsed: serde_json::Value = serde_json::from_slice(&error.body_bytes()).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "jsonrpc": "2.0",
                "error": {"code": -32000, "message": "no \"quotes\" break it"},
                "id": null
            })
        );
    }

    #[test]
    fn string_ids_and_data_are_carried() {
        let error = McpError::new(StatusCode::BAD_REQUEST, error_code::HEADER_MISMATCH, "m")
            .with_id(RpcId::String("abc".into()))
            .with_data(serde_json::json!({"header": "mcp-method"}));
        let parsed: serde_json::Value = serde_json::from_slice(&error.body_bytes()).unwrap();
        assert_eq!(parsed["id"], "abc");
        assert_eq!(parsed["error"]["data"]["header"], "mcp-method");
        assert_eq!(parsed["error"]["code"], -32020);
    }

    #[tokio::test]
    async fn response_carries_status_content_type_headers_and_body() {
        let error = McpError::new(
            StatusCode::MISDIRECTED_REQUEST,
            error_code::SERVER_ERROR,
            "wrong host",
        )
        .with_header(http::header::VARY, HeaderValue::from_static("origin"));
        let expected = error.body_bytes();
        let response = error.into_response::<Empty<Bytes>>();
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[http::header::VARY], "origin");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, expected);
    }
}
