//! The embedded DEVELOPMENT issuer of the remote preset (see `main`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ALL_SCOPES;

/// The embedded DEVELOPMENT issuer: a fresh ES256 key, its JWKS, RFC 8414
/// metadata and a client-credentials token endpoint under `/dev-issuer/`. It
/// trusts every caller; it exists so the remote preset can be tried without an
/// authorization server.
#[derive(Clone)]
pub(crate) struct DevIssuer {
    pub(crate) issuer: String,
    encoding_key: jsonwebtoken::EncodingKey,
    jwk: Value,
}

const DEV_KEY_ID: &str = "dev-issuer-es256";

impl DevIssuer {
    pub(crate) fn generate(issuer: String) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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

    /// A one-hour token for `audience` with `scope`.
    pub(crate) fn token(&self, audience: &str, scope: &str, subject: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs();
        let claims = json!({
            "iss": self.issuer, "aud": audience, "sub": subject, "client_id": "mcp-guard-dev",
            "scope": scope, "iat": now, "exp": now + 3600,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(DEV_KEY_ID.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key).expect("ES256 signing works")
    }

    pub(crate) fn routes(self, audience: String) -> Router {
        let metadata = json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks.json", self.issuer),
            "token_endpoint": format!("{}/token", self.issuer),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ALL_SCOPES.split(' ').collect::<Vec<_>>(),
            "response_types_supported": ["token"],
        });
        let jwks = json!({ "keys": [self.jwk.clone()] });
        Router::new()
            .route(
                "/.well-known/oauth-authorization-server/dev-issuer",
                get(move || std::future::ready(Json(metadata))),
            )
            .route(
                "/dev-issuer/jwks.json",
                get(move || std::future::ready(Json(jwks))),
            )
            .route("/dev-issuer/token", post(issue_token))
            .with_state(Arc::new((self, audience)))
    }
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: String,
    scope: Option<String>,
    client_id: Option<String>,
}

/// RFC 6749 client credentials, without client authentication (development
/// only): a token with the scopes asked for, among those the issuer knows.
async fn issue_token(
    State(state): State<Arc<(DevIssuer, String)>>,
    Form(request): Form<TokenRequest>,
) -> axum::response::Response {
    let (issuer, audience) = &*state;
    if request.grant_type != "client_credentials" {
        let error = json!({"error": "unsupported_grant_type", "error_description": "the development issuer only does client_credentials"});
        return (http::StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    let asked = request.scope.unwrap_or_else(|| ALL_SCOPES.to_owned());
    let granted: Vec<&str> = asked
        .split(' ')
        .filter(|scope| ALL_SCOPES.split(' ').any(|known| known == *scope))
        .collect();
    let subject = request.client_id.unwrap_or_else(|| "dev-user".to_owned());
    let token = issuer.token(audience, &granted.join(" "), &subject);
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": granted.join(" ")}))
        .into_response()
}
