//! RFC 6750 challenges: what a client is told when it must (re)authenticate
//! or step up, always with where to discover how.

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, StatusCode};
use mcp_guard_core::{McpError, Severity, error_code};

/// The `WWW-Authenticate: Bearer …` value. Parameter values are quoted; quotes
/// and backslashes in them are escaped.
pub(crate) fn bearer_challenge(
    resource_metadata: &str,
    scopes: &[String],
    error: Option<(&str, &str)>,
) -> HeaderValue {
    let mut parts = vec![format!(
        "resource_metadata=\"{}\"",
        escape(resource_metadata)
    )];
    if !scopes.is_empty() {
        parts.push(format!("scope=\"{}\"", escape(&scopes.join(" "))));
    }
    if let Some((code, description)) = error {
        parts.push(format!("error=\"{code}\""));
        parts.push(format!("error_description=\"{}\"", escape(description)));
    }
    let value = format!("Bearer {}", parts.join(", "));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

fn escape(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            other => vec![other],
        })
        .collect()
}

/// The [`Rejection`](mcp_guard_core::Rejection) reason of a `401` without a
/// token: the first answer every OAuth client gets.
const MISSING_TOKEN: &str = "missing_token";

/// The [`Rejection`](mcp_guard_core::Rejection) reason of a `401` for a token
/// that is not valid.
const INVALID_TOKEN: &str = "invalid_token";

/// `401`: no token, or one that is not valid. Without a token it is every
/// OAuth client's first answer, so it logs at `debug` (routine); an invalid
/// token logs at `info`.
pub(crate) fn unauthorized(
    resource_metadata: &str,
    scopes: &[String],
    invalid: Option<&str>,
) -> McpError {
    let (message, error, token, severity) = match invalid {
        Some(reason) => (format!("the access token is not valid: {reason}; obtain a new one"), Some(("invalid_token", reason)), INVALID_TOKEN, Severity::Expected),
        None => (
            "this server requires an access token: send Authorization: Bearer <token> (see the resource_metadata URL in WWW-Authenticate)".to_owned(),
            None,
            MISSING_TOKEN,
            Severity::Routine,
        ),
    };
    McpError::new(StatusCode::UNAUTHORIZED, error_code::SERVER_ERROR, message)
        .with_header(
            WWW_AUTHENTICATE,
            bearer_challenge(resource_metadata, scopes, error),
        )
        .with_reason(token)
        .with_severity(severity)
}

/// `403`: a valid token without the scopes this call needs (step-up). The
/// challenge's `scope` is `challenge` (see the service's `step_up_scopes`); the
/// message names what the call `needed`.
pub(crate) fn insufficient_scope(
    resource_metadata: &str,
    challenge: &[String],
    needed: &[String],
) -> McpError {
    let description = format!("this call needs the scopes: {}", needed.join(" "));
    McpError::new(
        StatusCode::FORBIDDEN,
        error_code::SERVER_ERROR,
        format!("{description}; ask the authorization server for a token with them"),
    )
    .with_header(
        WWW_AUTHENTICATE,
        bearer_challenge(
            resource_metadata,
            challenge,
            Some(("insufficient_scope", &description)),
        ),
    )
    .with_reason("insufficient_scope")
}

/// `400`: credentials sent the wrong way.
pub(crate) fn invalid_request(resource_metadata: &str, description: &str) -> McpError {
    McpError::new(
        StatusCode::BAD_REQUEST,
        error_code::INVALID_REQUEST,
        description.to_owned(),
    )
    .with_header(
        WWW_AUTHENTICATE,
        bearer_challenge(
            resource_metadata,
            &[],
            Some(("invalid_request", description)),
        ),
    )
    .with_reason("invalid_request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_carry_metadata_scope_and_error() {
        let value = bearer_challenge(
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            &["files:read".into(), "files:write".into()],
            Some(("insufficient_scope", "needs \"files:write\"")),
        );
        assert_eq!(
            value,
            r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="files:read files:write", error="insufficient_scope", error_description="needs \"files:write\"""#
        );
    }
}
