//! RFC 7591 dynamic client registration: `POST /dev-issuer/register` with the
//! client's metadata as JSON; answers 201 with a client id (and a secret for
//! a confidential client). Only the metadata the issuer uses is kept and
//! echoed; other members are ignored, as RFC 7591 §2 allows.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use super::errors::{OAuthError, shown};
use super::store::{AuthMethod, Client, GrantType};
use super::{Shared, known_scopes, random_token, sha256};

/// Redirect URIs one client may register.
const MAX_REDIRECT_URIS: usize = 10;
/// The length of one redirect URI.
const MAX_URI_LENGTH: usize = 2048;
/// Entries in `grant_types` or `response_types`.
const MAX_LIST: usize = 10;
/// The length of `client_name`.
const MAX_NAME_LENGTH: usize = 200;

pub(super) async fn register(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    registration(&shared, body).unwrap_or_else(IntoResponse::into_response)
}

fn registration(
    shared: &Shared,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, OAuthError> {
    let Json(body) = body.map_err(|rejection| {
        OAuthError::invalid_request(format!(
            "the registration must be a JSON object sent as application/json ({})",
            rejection.body_text()
        ))
    })?;
    let fields = body
        .as_object()
        .ok_or_else(|| OAuthError::invalid_request("the registration must be a JSON object"))?;

    // RFC 7591 §2: without `token_endpoint_auth_method` the client asks for
    // client_secret_basic, and without `grant_types` for authorization_code.
    let auth_method = match string(fields, "token_endpoint_auth_method")? {
        None => AuthMethod::ClientSecretBasic,
        Some(name) => AuthMethod::parse(name).ok_or_else(|| {
            OAuthError::invalid_client_metadata(format!(
                "token_endpoint_auth_method {} is not one of none, client_secret_basic, client_secret_post",
                shown(name)
            ))
        })?,
    };
    let mut grant_types = Vec::new();
    for name in strings(fields, "grant_types", MAX_LIST)?.unwrap_or(vec!["authorization_code"]) {
        let grant = GrantType::parse(name).ok_or_else(|| {
            OAuthError::invalid_client_metadata(format!(
                "grant type {} is not one of authorization_code, refresh_token, client_credentials",
                shown(name)
            ))
        })?;
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
    if grant_types.is_empty() {
        return Err(OAuthError::invalid_client_metadata("grant_types is empty"));
    }
    let response_types = strings(fields, "response_types", MAX_LIST)?.unwrap_or(vec!["code"]);
    if let Some(other) = response_types.iter().find(|kind| **kind != "code") {
        return Err(OAuthError::invalid_client_metadata(format!(
            "response type {} is not supported; only `code` is",
            shown(other)
        )));
    }
    let redirect_uris = strings(fields, "redirect_uris", MAX_REDIRECT_URIS)?.unwrap_or_default();
    for uri in &redirect_uris {
        check_redirect_uri(uri).map_err(|why| {
            OAuthError::invalid_redirect_uri(format!("redirect URI {}: {why}", shown(uri)))
        })?;
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(OAuthError::invalid_redirect_uri(
            "the authorization_code grant needs at least one redirect URI in redirect_uris",
        ));
    }
    if grant_types.contains(&GrantType::ClientCredentials) && auth_method == AuthMethod::None {
        return Err(OAuthError::invalid_client_metadata(
            "client_credentials needs a confidential client: token_endpoint_auth_method \
             client_secret_basic or client_secret_post",
        ));
    }
    let scope = match string(fields, "scope")? {
        Some(scope) => Some(
            known_scopes(scope)
                .map_err(|error| OAuthError::invalid_client_metadata(error.description))?
                .join(" "),
        ),
        None => None,
    };
    let client_name = string(fields, "client_name")?;
    if client_name.is_some_and(|name| name.chars().count() > MAX_NAME_LENGTH) {
        return Err(OAuthError::invalid_client_metadata(format!(
            "client_name is longer than {MAX_NAME_LENGTH} characters"
        )));
    }

    let client_id = format!(
        "dev-client-{}",
        random_token(16).map_err(OAuthError::server_error)?
    );
    let secret = match auth_method {
        AuthMethod::None => None,
        _ => Some(random_token(32).map_err(OAuthError::server_error)?),
    };
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": SystemTime::now().duration_since(UNIX_EPOCH).map(|now| now.as_secs()).unwrap_or(0),
        "token_endpoint_auth_method": auth_method.as_str(),
        "grant_types": grant_types.iter().map(|grant| grant.as_str()).collect::<Vec<_>>(),
        "response_types": response_types,
        // Always present, even empty: the TypeScript SDK's schema requires it.
        "redirect_uris": redirect_uris,
    });
    if let Some(fields) = answer.as_object_mut() {
        if let Some(secret) = &secret {
            fields.insert("client_secret".to_owned(), json!(secret));
            // RFC 7591 §3.2.1: 0 means the secret does not expire.
            fields.insert("client_secret_expires_at".to_owned(), json!(0));
        }
        if let Some(scope) = &scope {
            fields.insert("scope".to_owned(), json!(scope));
        }
        if let Some(name) = client_name {
            fields.insert("client_name".to_owned(), json!(name));
        }
    }
    let client = Client {
        secret_digest: secret.as_deref().map(|secret| sha256(secret.as_bytes())),
        auth_method,
        redirect_uris: redirect_uris.iter().map(|uri| (*uri).to_owned()).collect(),
        grant_types,
        scope,
    };
    shared.store().clients.insert(client_id.clone(), client);
    tracing::info!(client_id = %client_id, auth_method = auth_method.as_str(), "dev issuer: client registered");
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    // The answer holds the client's secret.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A string member, absent when missing or `null`.
fn string<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, OAuthError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(OAuthError::invalid_client_metadata(format!(
            "`{name}` must be a string"
        ))),
    }
}

/// An array-of-strings member of at most `max` entries, absent when missing or `null`.
fn strings<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<Vec<&'a str>>, OAuthError> {
    let wrong =
        || OAuthError::invalid_client_metadata(format!("`{name}` must be an array of strings"));
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(values)) if values.len() > max => Err(
            OAuthError::invalid_client_metadata(format!("`{name}` has more than {max} entries")),
        ),
        Some(Value::Array(values)) => values
            .iter()
            .map(|value| value.as_str().ok_or_else(wrong))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(wrong()),
    }
}

/// RFC 6749 §3.1.2 and OAuth 2.1 §2.3: an absolute URL without a fragment;
/// `https`, or `http` only to a loopback host (a native client's local
/// listener, RFC 8252 §7.3), so a code is never sent in clear over a network.
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.len() > MAX_URI_LENGTH {
        return Err("too long");
    }
    if !uri.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("must be ASCII without spaces or control characters");
    }
    if uri.contains('#') {
        return Err("must not have a fragment");
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err("must be an absolute http(s) URL");
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err("must not carry user information");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or("has an unclosed IPv6 literal")?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b':'))
    {
        return Err("has no valid host");
    }
    if port.is_some_and(|port| port.parse::<u16>().is_err()) {
        return Err("has an invalid port");
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => {
            Err("http is only allowed to a loopback host (127.0.0.1, [::1], localhost); use https")
        }
        _ => Err("must be an http(s) URL"),
    }
}
