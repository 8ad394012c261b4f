//! The authorization endpoint: `GET /dev-issuer/authorize`. It APPROVES EVERY
//! VALID REQUEST for the development user, with no login page, and redirects
//! back with a code (RFC 6749 §4.1.2, with RFC 9207's `iss`).
//!
//! Until the client and its redirect URI are known good, errors are answered
//! here as JSON: redirecting to an unregistered URI would hand an attacker the
//! answer (RFC 6749 §4.1.2.1). After that, errors go back by redirect.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::errors::{OAuthError, shown};
use super::params::{Params, encode};
use super::store::{CodeGrant, GrantType};
use super::{DEV_USER, Shared, known_scopes, random_token};

/// The length of an S256 code challenge: base64url of 32 bytes, unpadded.
const S256_CHALLENGE_LENGTH: usize = 43;

pub(super) async fn authorize(
    State(shared): State<Arc<Shared>>,
    query: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    match checked_redirect(&shared, query) {
        Err(error) => error.into_response(),
        Ok((params, redirect_uri, given)) => {
            let state = params.get("state");
            let answer = match grant(&shared, &params, &redirect_uri, given) {
                Ok(code) => vec![("code", code)],
                Err(error) => vec![
                    ("error", error.error.to_owned()),
                    ("error_description", error.description),
                ],
            };
            redirect(&shared.issuer.issuer, &redirect_uri, answer, state)
        }
    }
}

/// The parameters, and the redirect URI they may be answered at: one the
/// client registered, exactly. `given` says whether the request named it.
fn checked_redirect(
    shared: &Shared,
    query: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<(Params, String, bool), OAuthError> {
    let params = Params::parse(query)?;
    let client_id = params.require("client_id")?;
    let registered = shared
        .store()
        .clients
        .get(client_id)
        .map(|client| client.redirect_uris.clone())
        .ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "unknown client_id {}; register the client first",
                shown(client_id)
            ))
        })?;
    let (redirect_uri, given) = match params.get("redirect_uri") {
        Some(uri) if registered.iter().any(|known| known == uri) => (uri.to_owned(), true),
        Some(uri) => {
            return Err(OAuthError::invalid_request(format!(
                "redirect_uri {} is not one the client registered (they are compared exactly)",
                shown(uri)
            )));
        }
        // OAuth 2.1 §4.1.1: it may be left out when only one is registered.
        None => match registered.as_slice() {
            [only] => (only.clone(), false),
            _ => {
                return Err(OAuthError::invalid_request(
                    "the parameter `redirect_uri` is missing",
                ));
            }
        },
    };
    Ok((params, redirect_uri, given))
}

/// Checks the rest of the request and issues a code (the auto-approval).
fn grant(
    shared: &Shared,
    params: &Params,
    redirect_uri: &str,
    redirect_uri_given: bool,
) -> Result<String, OAuthError> {
    match params.require("response_type")? {
        "code" => {}
        other => {
            return Err(OAuthError::unsupported_response_type(format!(
                "response_type {} is not supported; use `code`",
                shown(other)
            )));
        }
    }
    match params.get("code_challenge_method") {
        Some("S256") => {}
        Some("plain") => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method plain is refused; use S256",
            ));
        }
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "code_challenge_method {} is not supported; use S256",
                shown(other)
            )));
        }
        // Absent means plain (RFC 7636 §4.3), which is refused.
        None => {
            return Err(OAuthError::invalid_request(
                "PKCE is required: send code_challenge and code_challenge_method=S256",
            ));
        }
    }
    let challenge = params.require("code_challenge")?;
    if challenge.len() != S256_CHALLENGE_LENGTH
        || !challenge
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
    {
        return Err(OAuthError::invalid_request(
            "code_challenge is not an S256 challenge (43 base64url characters)",
        ));
    }
    shared.check_resources(params.resources())?;
    let client_id = params.require("client_id")?;
    let client = shared.store().clients.get(client_id).cloned();
    let Some(client) = client else {
        return Err(OAuthError::invalid_request(
            "the client was forgotten meanwhile",
        ));
    };
    if !client.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(OAuthError::unauthorized_client(
            "the client did not register the authorization_code grant",
        ));
    }
    let scope = match params.get("scope").or(client.scope.as_deref()) {
        Some(scope) => known_scopes(scope)?.join(" "),
        None => crate::ALL_SCOPES.to_owned(),
    };
    let code = random_token(32).map_err(OAuthError::server_error)?;
    let grant = CodeGrant {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        redirect_uri_given,
        code_challenge: challenge.to_owned(),
        scope,
        subject: DEV_USER.to_owned(),
        expires: Instant::now() + shared.settings.code_lifetime,
    };
    shared.store().codes.insert(code.clone(), grant);
    tracing::info!(client_id = %client_id, "dev issuer: authorization auto-approved");
    Ok(code)
}

/// A 302 to the registered `redirect_uri` with `answer`, `state` and `iss`
/// added to its query.
fn redirect(
    issuer: &str,
    redirect_uri: &str,
    answer: Vec<(&str, String)>,
    state: Option<&str>,
) -> Response {
    let mut location = redirect_uri.to_owned();
    let mut separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state = state.map(|state| ("state", state.to_owned()));
    for (name, value) in answer
        .into_iter()
        .chain(state)
        .chain([("iss", issuer.to_owned())])
    {
        location.push(separator);
        location.push_str(name);
        location.push('=');
        location.push_str(&encode(&value));
        separator = '&';
    }
    // Registration admitted only printable ASCII, and the rest is encoded.
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => {
            OAuthError::server_error("the redirect URI cannot be a Location header").into_response()
        }
    }
}
