//! Client authentication at the token endpoint (RFC 6749 §2.3): each client
//! must authenticate the way it registered — HTTP Basic, the secret in the
//! form, or (a public client) its `client_id` alone — and with one method only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, header};

use super::errors::{OAuthError, shown};
use super::params::{Params, decode};
use super::store::{AuthMethod, Client};
use super::{Shared, sha256};

/// The client a token request comes from, authenticated.
#[derive(Debug)]
pub(super) struct Authenticated {
    pub(super) client_id: String,
    pub(super) client: Client,
}

/// Who is asking, checked against the registration.
pub(super) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Authenticated, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(basic_credentials(value)?),
        None => None,
    };
    let basic_tried = basic.is_some();
    let form_id = params.get("client_id");
    let form_secret = params.get("client_secret");
    let (client_id, secret, method) = match (basic, form_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "the client authenticated twice (HTTP Basic and client_secret); use one method",
            ));
        }
        (Some((id, secret)), None) => {
            if form_id.is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::invalid_client(
                    "client_id in the form differs from the one in HTTP Basic",
                    true,
                ));
            }
            (id, Some(secret), AuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => {
            let id = form_id.ok_or_else(|| {
                OAuthError::invalid_client("client_secret without client_id", false)
            })?;
            (
                id.to_owned(),
                Some(secret.to_owned()),
                AuthMethod::ClientSecretPost,
            )
        }
        (None, None) => match form_id {
            Some(id) => (id.to_owned(), None, AuthMethod::None),
            None => {
                return Err(OAuthError::invalid_client(
                    "no client authentication: send client_id (public client), client_id and \
                     client_secret, or HTTP Basic",
                    false,
                ));
            }
        },
    };
    let client = shared
        .store()
        .clients
        .get(&client_id)
        .cloned()
        .ok_or_else(|| {
            OAuthError::invalid_client(
                format!("unknown client {}; register it first", shown(&client_id)),
                basic_tried,
            )
        })?;
    if client.auth_method != method {
        return Err(OAuthError::invalid_client(
            format!(
                "the client registered token_endpoint_auth_method {} but used {}",
                client.auth_method.as_str(),
                method.as_str()
            ),
            basic_tried,
        ));
    }
    if let (Some(expected), Some(secret)) = (&client.secret_digest, secret) {
        // Compares digests in constant time: nothing to learn from timing.
        if aws_lc_rs::constant_time::verify_slices_are_equal(expected, &sha256(secret.as_bytes()))
            .is_err()
        {
            return Err(OAuthError::invalid_client(
                "wrong client secret",
                basic_tried,
            ));
        }
    }
    Ok(Authenticated { client_id, client })
}

/// The id and secret of `Authorization: Basic …`, each form-decoded
/// (RFC 6749 §2.3.1); any other Authorization is refused with a Basic challenge.
fn basic_credentials(value: &http::HeaderValue) -> Result<(String, String), OAuthError> {
    let malformed = |why: &str| OAuthError::invalid_client(format!("Authorization: {why}"), true);
    let value = value.to_str().map_err(|_| malformed("not ASCII"))?;
    let (scheme, encoded) = value
        .split_once(' ')
        .ok_or_else(|| malformed("expected `Basic <base64(id:secret)>`"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed(
            "only the Basic scheme authenticates clients here",
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed("the Basic credentials are not base64"))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| malformed("the Basic credentials are not UTF-8"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| malformed("the Basic credentials have no `:`"))?;
    match (decode(id), decode(secret)) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(malformed("the Basic credentials are not form-encoded")),
    }
}
