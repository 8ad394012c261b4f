//! RFC 6749 §5.2 (and RFC 7591 §3.2.2) error answers: a status, an `error`
//! code and a description that tells the caller what to fix. Every refusal of
//! the development issuer goes through here, so none becomes a 500 or a panic.

use axum::response::{IntoResponse, Json, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// One refusal, answered as `{"error": …, "error_description": …}`.
#[derive(Debug)]
pub(super) struct OAuthError {
    pub(super) status: StatusCode,
    pub(super) error: &'static str,
    pub(super) description: String,
    /// The client tried HTTP Basic: RFC 6749 §5.2 then requires a 401 with
    /// `WWW-Authenticate` naming the scheme it should use.
    basic_challenge: bool,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub(super) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub(super) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// Client authentication failed: always 401 (RFC 6749 allows 400 when
    /// Basic was not tried; one status is simpler for clients to handle).
    pub(super) fn invalid_client(description: impl Into<String>, basic_tried: bool) -> Self {
        OAuthError {
            basic_challenge: basic_tried,
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    pub(super) fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub(super) fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    pub(super) fn unsupported_response_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            description,
        )
    }

    pub(super) fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    /// RFC 8707 §2: the `resource` is not one this server issues tokens for.
    pub(super) fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_target", description)
    }

    /// RFC 7591 §3.2.2.
    pub(super) fn invalid_redirect_uri(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_redirect_uri", description)
    }

    /// RFC 7591 §3.2.2.
    pub(super) fn invalid_client_metadata(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            description,
        )
    }

    /// The issuer itself failed (the system RNG, signing): not the caller's
    /// fault, and not reachable by anything a caller sends.
    pub(super) fn server_error(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }

    /// A method the endpoint does not serve.
    pub(super) fn method_not_allowed(allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            format!("this endpoint only answers {allowed}"),
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        // Error answers of the token endpoint must not be cached either (RFC 6749 §5.2).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"dev-issuer\""),
            );
        }
        response
    }
}

/// A caller-supplied value in a description: bounded, so a huge parameter is
/// not echoed back whole.
pub(super) fn shown(value: &str) -> String {
    const MAX: usize = 80;
    match value.char_indices().nth(MAX) {
        Some((end, _)) => format!("{:?}…", &value[..end]),
        None => format!("{value:?}"),
    }
}
