//! RFC 8414 authorization server metadata and the JWKS: public JSON GETs.
//!
//! The official SDKs look in different places. The Python SDK (`mcp` 2.3.0)
//! tries `/.well-known/oauth-authorization-server/dev-issuer` first; the
//! TypeScript SDK (1.32.2) tries that, then `/.well-known/openid-configuration/dev-issuer`
//! and `/dev-issuer/.well-known/openid-configuration`, and parses the OpenID
//! ones with a schema that requires `jwks_uri`, `subject_types_supported` and
//! `id_token_signing_alg_values_supported`. So all three paths answer, the
//! OpenID ones with those two fields added (this issuer never issues ID
//! tokens: `openid` is not among its scopes).

use axum::Router;
use axum::response::Json;
use axum::routing::get;
use serde_json::{Value, json};

use super::store::{AuthMethod, GrantType};
use crate::ALL_SCOPES;

/// The document RFC 8414 describes, for `issuer`.
fn oauth_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "scopes_supported": ALL_SCOPES.split(' ').collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
        "token_endpoint_auth_methods_supported": AuthMethod::ALL.map(AuthMethod::as_str),
        "code_challenge_methods_supported": ["S256"],
        // RFC 9207: the authorization response carries `iss` (mix-up defence).
        "authorization_response_iss_parameter_supported": true,
    })
}

/// The metadata and JWKS routes.
pub(super) fn routes<S: Clone + Send + Sync + 'static>(issuer: &str, jwk: &Value) -> Router<S> {
    let oauth = oauth_metadata(issuer);
    let mut openid = oauth.clone();
    if let Some(fields) = openid.as_object_mut() {
        fields.insert("subject_types_supported".to_owned(), json!(["public"]));
        fields.insert(
            "id_token_signing_alg_values_supported".to_owned(),
            json!(["ES256"]),
        );
    }
    let jwks = json!({ "keys": [jwk] });
    let serve = |document: Value| move || std::future::ready(Json(document.clone()));
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server/dev-issuer",
            get(serve(oauth)),
        )
        .route(
            "/.well-known/openid-configuration/dev-issuer",
            get(serve(openid.clone())),
        )
        .route(
            "/dev-issuer/.well-known/openid-configuration",
            get(serve(openid)),
        )
        .route("/dev-issuer/jwks.json", get(serve(jwks)))
}
