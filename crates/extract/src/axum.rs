//! `Authenticated` as an axum extractor.

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE};
use mcp_guard_core::{McpError, Principal, error_code};

use crate::{Authenticated, NO_PRINCIPAL};

/// The rejection of [`Authenticated`] in an axum handler: the request carries
/// no [`Principal`]. Answered `401` with `WWW-Authenticate: Bearer` and a
/// JSON-RPC error (with the request's id when an envelope peek read it).
///
/// The challenge names no `resource_metadata`: the extractor does not know
/// the server's RFC 9728 document. It is a backstop for a misconfigured
/// stack; with bearer auth in front, an anonymous request never gets here
/// (bearer auth's own `401` carries the metadata URL clients discover with).
#[derive(Debug)]
pub struct MissingPrincipal {
    error: McpError,
}

impl IntoResponse for MissingPrincipal {
    fn into_response(self) -> Response {
        self.error.into_response_with(Body::from)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = MissingPrincipal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(principal) => Ok(Authenticated(principal.clone())),
            None => Err(MissingPrincipal {
                error: McpError::new(
                    StatusCode::UNAUTHORIZED,
                    error_code::INVALID_REQUEST,
                    NO_PRINCIPAL,
                )
                .with_id_from(&parts.extensions)
                .with_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
            }),
        }
    }
}

/// `Option<Authenticated>`: `None` for an anonymous request, never a rejection.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Authenticated))
    }
}
