//! The embedded DEVELOPMENT authorization server of the remote preset (see
//! `main`): a small OAuth 2.1 server under `/dev-issuer/` so the remote preset
//! can be tried with real OAuth clients and no authorization server of one's own.
//!
//! - RFC 8414 metadata at `/.well-known/oauth-authorization-server/dev-issuer`,
//!   and the same document at both OpenID discovery paths (`metadata`);
//! - RFC 7591 dynamic registration at `/dev-issuer/register` (`registration`);
//! - the authorization endpoint `/dev-issuer/authorize`: PKCE S256 only, and it
//!   APPROVES EVERY REQUEST, with no login page (`authorize`);
//! - the token endpoint `/dev-issuer/token`: authorization code, rotating
//!   refresh tokens, client credentials for confidential clients (`token`,
//!   `client_auth`);
//! - a fresh ES256 key per start and its JWKS at `/dev-issuer/jwks.json`.
//!
//! Tokens are `at+jwt` JWTs whose `aud` is the MCP server's canonical URI: the
//! only resource (RFC 8707) this issuer serves.

mod authorize;
mod client_auth;
mod errors;
mod metadata;
mod params;
mod registration;
mod store;
mod token;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};

use self::errors::{OAuthError, shown};
use self::store::Store;
use crate::ALL_SCOPES;

/// The key id in every token's header and in the JWKS.
const DEV_KEY_ID: &str = "dev-issuer-es256";
/// How long an access token lives.
const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// The subject the authorization code flow's auto-approval speaks for.
pub(crate) const DEV_USER: &str = "dev-user";
/// The registration JSON and the token forms are small; a larger body is refused.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The embedded DEVELOPMENT issuer: its issuer URL and a fresh ES256 key.
#[derive(Clone)]
pub(crate) struct DevIssuer {
    pub(crate) issuer: String,
    encoding_key: jsonwebtoken::EncodingKey,
    jwk: Value,
}

/// How the routes behave.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The canonical URI of the MCP server: every token's `aud`, and the only
    /// `resource` accepted.
    pub(crate) audience: String,
    /// How long an authorization code may wait for its token request.
    pub(crate) code_lifetime: Duration,
}

/// What every endpoint shares.
struct Shared {
    issuer: DevIssuer,
    settings: Settings,
    store: Mutex<Store>,
}

impl Shared {
    /// The store; a panic elsewhere while it was held leaves it usable
    /// (each update is a single insert or remove).
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// RFC 8707: every `resource` given must be this server's canonical URI
    /// (compared canonically); none given means this server, the only one.
    fn check_resources<'a>(
        &self,
        mut resources: impl Iterator<Item = &'a str>,
    ) -> Result<(), OAuthError> {
        let ours = &self.settings.audience;
        let canonical_ours = mcp_guard::bearer_auth::canonical_resource_uri(ours);
        match resources.find(|resource| {
            let canonical = mcp_guard::bearer_auth::canonical_resource_uri(resource);
            // RFC 8707 §2: an absolute URI without a fragment.
            resource.contains('#')
                || !(resource == ours || (canonical.is_some() && canonical == canonical_ours))
        }) {
            Some(resource) => Err(OAuthError::invalid_target(format!(
                "this issuer only issues tokens for {ours}, not for resource {}",
                shown(resource)
            ))),
            None => Ok(()),
        }
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    scope: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

impl DevIssuer {
    pub(crate) fn generate(issuer: String) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .expect("the system RNG generates a P-256 key");
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("a freshly generated key parses");
        // The uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = key_pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": DEV_KEY_ID,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        DevIssuer {
            issuer,
            encoding_key: jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }

    /// A one-hour RFC 9068 access token (`typ: at+jwt`) for `audience`.
    pub(crate) fn token(
        &self,
        audience: &str,
        scope: &str,
        subject: &str,
        client_id: &str,
    ) -> Result<String, String> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the clock is before 1970".to_owned())?
            .as_secs();
        let claims = Claims {
            iss: &self.issuer,
            sub: subject,
            aud: audience,
            client_id,
            scope,
            iat,
            exp: iat + ACCESS_TOKEN_LIFETIME.as_secs(),
            jti: random_token(16)?,
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(DEV_KEY_ID.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key)
            .map_err(|error| format!("cannot sign the token: {error}"))
    }

    /// Every endpoint, under `/dev-issuer/` and the well-known paths.
    pub(crate) fn routes(self, settings: Settings) -> Router {
        let shared = Arc::new(Shared {
            issuer: self,
            settings,
            store: Mutex::new(Store::new()),
        });
        let refuse = |allowed: &'static str| {
            move || std::future::ready(OAuthError::method_not_allowed(allowed))
        };
        metadata::routes(&shared.issuer.issuer, &shared.issuer.jwk)
            .route(
                "/dev-issuer/register",
                post(registration::register).fallback(refuse("POST")),
            )
            .route(
                "/dev-issuer/authorize",
                get(authorize::authorize).fallback(refuse("GET")),
            )
            .route(
                "/dev-issuer/token",
                post(token::token).fallback(refuse("POST")),
            )
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(shared)
    }
}

/// `bytes` random bytes from the system RNG, base64url: client ids, secrets,
/// codes, refresh tokens, token ids.
fn random_token(bytes: usize) -> Result<String, String> {
    let mut buffer = vec![0; bytes];
    aws_lc_rs::rand::fill(&mut buffer).map_err(|_| "the system RNG failed".to_owned())?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// The scopes in `requested` (space-separated), in the issuer's order, or
/// `invalid_scope` naming the first one it does not know.
fn known_scopes(requested: &str) -> Result<Vec<&'static str>, OAuthError> {
    let mut asked = Vec::new();
    for scope in requested.split(' ').filter(|scope| !scope.is_empty()) {
        if !ALL_SCOPES.split(' ').any(|known| known == scope) {
            return Err(OAuthError::invalid_scope(format!(
                "unknown scope {}; this issuer knows `{ALL_SCOPES}`",
                shown(scope)
            )));
        }
        asked.push(scope);
    }
    if asked.is_empty() {
        return Err(OAuthError::invalid_scope("the scope is empty"));
    }
    Ok(ALL_SCOPES
        .split(' ')
        .filter(|known| asked.contains(known))
        .collect())
}

/// SHA-256, for PKCE challenges and client secrets.
fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}
