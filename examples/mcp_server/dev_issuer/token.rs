//! The token endpoint: `POST /dev-issuer/token` (form). Three grants:
//!
//! - `authorization_code`: the code once only, its redirect URI repeated,
//!   the PKCE verifier matching the S256 challenge;
//! - `refresh_token`: rotating — each refresh token works once and is
//!   replaced; the scope may narrow, never widen;
//! - `client_credentials`: for confidential clients; the token's subject is
//!   the client itself.
//!
//! The client authenticates first (`client_auth`), then the grant is checked.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Json, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, header};
use serde_json::json;

use super::client_auth::{Authenticated, authenticate};
use super::errors::{OAuthError, shown};
use super::params::Params;
use super::store::{AuthMethod, GrantType, REFRESH_LIFETIME, RefreshGrant};
use super::{ACCESS_TOKEN_LIFETIME, Shared, known_scopes, random_token, sha256};

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    exchange(&shared, &headers, form).unwrap_or_else(IntoResponse::into_response)
}

/// What a grant yields: the access token's subject and scope, and whether
/// (with which grant) a refresh token comes along.
struct Issued {
    subject: String,
    scope: String,
    refresh: Option<RefreshGrant>,
}

fn exchange(
    shared: &Shared,
    headers: &HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, OAuthError> {
    let params = Params::parse(form)?;
    let grant_type = params.require("grant_type")?;
    let caller = authenticate(shared, headers, &params)?;
    let grant = GrantType::parse(grant_type).ok_or_else(|| {
        OAuthError::unsupported_grant_type(format!(
            "grant_type {} is not one of authorization_code, refresh_token, client_credentials",
            shown(grant_type)
        ))
    })?;
    if !caller.client.grant_types.contains(&grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "the client did not register the {} grant",
            grant.as_str()
        )));
    }
    shared.check_resources(params.resources())?;
    let issued = match grant {
        GrantType::AuthorizationCode => authorization_code(shared, &params, &caller)?,
        GrantType::RefreshToken => refresh_token(shared, &params, &caller)?,
        GrantType::ClientCredentials => client_credentials(&params, &caller)?,
    };
    let access_token = shared
        .issuer
        .token(
            &shared.settings.audience,
            &issued.scope,
            &issued.subject,
            &caller.client_id,
        )
        .map_err(OAuthError::server_error)?;
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
        "scope": issued.scope,
    });
    if let Some(refresh) = issued.refresh {
        let refresh_token = random_token(32).map_err(OAuthError::server_error)?;
        answer["refresh_token"] = json!(refresh_token);
        shared.store().refresh_tokens.insert(refresh_token, refresh);
    }
    let mut response = Json(answer).into_response();
    // RFC 6749 §5.1: tokens must not be cached.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// A refresh grant for what was just granted, if the client may refresh.
fn refresh_for(caller: &Authenticated, subject: &str, scope: &str) -> Option<RefreshGrant> {
    caller
        .client
        .grant_types
        .contains(&GrantType::RefreshToken)
        .then(|| RefreshGrant {
            client_id: caller.client_id.clone(),
            scope: scope.to_owned(),
            subject: subject.to_owned(),
            expires: Instant::now() + REFRESH_LIFETIME,
        })
}

fn authorization_code(
    shared: &Shared,
    params: &Params,
    caller: &Authenticated,
) -> Result<Issued, OAuthError> {
    let code = params.require("code")?;
    let verifier = params.require("code_verifier")?;
    // RFC 7636 §4.1: 43 to 128 unreserved characters.
    if !(43..=128).contains(&verifier.len())
        || !verifier
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 unreserved characters (RFC 7636)",
        ));
    }
    // Removed at first presentation, whatever follows: a code works once,
    // and a wrong verifier cannot be retried against it.
    let grant = shared
        .store()
        .codes
        .remove(code)
        .ok_or_else(|| OAuthError::invalid_grant("the code is unknown, used or expired"))?;
    if grant.expires <= Instant::now() {
        return Err(OAuthError::invalid_grant(
            "the code is unknown, used or expired",
        ));
    }
    if grant.client_id != caller.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    match params.get("redirect_uri") {
        Some(uri) if uri == grant.redirect_uri => {}
        None if !grant.redirect_uri_given => {}
        _ => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
    }
    if URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes())) != grant.code_challenge {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge (S256)",
        ));
    }
    Ok(Issued {
        refresh: refresh_for(caller, &grant.subject, &grant.scope),
        subject: grant.subject,
        scope: grant.scope,
    })
}

fn refresh_token(
    shared: &Shared,
    params: &Params,
    caller: &Authenticated,
) -> Result<Issued, OAuthError> {
    let token = params.require("refresh_token")?;
    let asked = params.get("scope").map(known_scopes).transpose()?;
    let mut store = shared.store();
    let unknown = || OAuthError::invalid_grant("the refresh token is unknown, used or expired");
    let grant = store.refresh_tokens.get(token).ok_or_else(unknown)?;
    if grant.client_id != caller.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let granted: Vec<&str> = grant.scope.split(' ').collect();
    let scope = match asked {
        // RFC 6749 §6: a refresh may ask for less than was granted, never more.
        Some(asked) => match asked.iter().find(|scope| !granted.contains(scope)) {
            Some(wider) => {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {wider} was not granted to this refresh token (granted: {})",
                    grant.scope
                )));
            }
            None => asked.join(" "),
        },
        None => grant.scope.clone(),
    };
    // Rotation: this refresh token is spent; the answer carries its successor
    // with the original grant's scope.
    let grant = store.refresh_tokens.remove(token).ok_or_else(unknown)?;
    if grant.expires <= Instant::now() {
        return Err(unknown());
    }
    Ok(Issued {
        subject: grant.subject.clone(),
        scope,
        refresh: Some(RefreshGrant {
            expires: Instant::now() + REFRESH_LIFETIME,
            ..grant
        }),
    })
}

fn client_credentials(params: &Params, caller: &Authenticated) -> Result<Issued, OAuthError> {
    // Registration refuses client_credentials to public clients; this keeps
    // the rule where the token is issued.
    if caller.client.auth_method == AuthMethod::None {
        return Err(OAuthError::unauthorized_client(
            "client_credentials is for confidential clients",
        ));
    }
    let scope = match params.get("scope").or(caller.client.scope.as_deref()) {
        Some(scope) => known_scopes(scope)?.join(" "),
        None => crate::ALL_SCOPES.to_owned(),
    };
    Ok(Issued {
        subject: caller.client_id.clone(),
        scope,
        refresh: None,
    })
}
