//! RFC 9068 access tokens: a verifier may require the `typ` header `at+jwt`,
//! so an ID token (or any other JWT the issuer signs) is not taken for an
//! access token; and a JWKS key published for encryption (`use: "enc"`) never
//! verifies a signature. The keys come from a JWKS served over real HTTP on
//! loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail loudly by design.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use jsonwebtoken::jwk::{Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, Header};
use mcp_bearer_auth::{
    BearerAuthLayer, JwtVerifier, JwtVerifierBuilder, ProtectedResourceMetadata,
};
use mcp_guard_core::GuardBody;
use mcp_guard_test_support::jwt::unix_now;
use serde_json::json;
use support::{AuthServer, EC, RESOURCE, RSA_1, RSA_2, TOOLS_LIST, sign};
use tower::{Layer, ServiceExt};

/// The public JWK of `pem`, named `kid`, declared for `usage` (no `alg`, as
/// many JWKS publish them: only `use` says what the key is for).
fn jwk(pem: &[u8], alg: Algorithm, kid: &str, usage: Option<PublicKeyUse>) -> Jwk {
    let mut jwk = support::jwk(pem, alg, kid);
    jwk.common.key_algorithm = None;
    jwk.common.public_key_use = usage;
    jwk
}

/// Serves `keys` as a JWKS; returns the issuer (its base URL).
async fn start_jwks(keys: Vec<Jwk>) -> String {
    AuthServer::start(keys).await.issuer
}

fn builder(issuer: &str) -> JwtVerifierBuilder {
    JwtVerifier::builder(issuer, RESOURCE)
        .jwks_url(format!("{issuer}/jwks"))
        .jwks_min_refresh_interval(Duration::ZERO)
}

/// A token for this server, signed by `pem` and naming `kid` (if any), with
/// the header `typ` given (`None`: no `typ`).
fn token(issuer: &str, pem: &[u8], alg: Algorithm, kid: Option<&str>, typ: Option<&str>) -> String {
    let claims = json!({"iss": issuer, "aud": RESOURCE, "sub": "alice", "scope": "mcp",
                        "exp": unix_now() + 600});
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header.typ = typ.map(str::to_owned);
    sign(&header, pem, &claims)
}

/// The status and body of a `tools/list` with `token`, through the layer.
async fn call(verifier: &JwtVerifier, token: &str) -> (StatusCode, String) {
    let service = BearerAuthLayer::new(
        verifier.clone(),
        ProtectedResourceMetadata::new(RESOURCE, ["https://auth.example.com"]),
    )
    .layer(tower::service_fn(
        |_request: Request<GuardBody<Full<Bytes>>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
        },
    ));
    let request = Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::from(TOOLS_LIST))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        format!("{challenge} {}", String::from_utf8_lossy(&body)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_that_is_not_an_access_token_is_refused_when_at_jwt_is_required() {
    let issuer = start_jwks(vec![jwk(RSA_1, Algorithm::RS256, "rsa-1", None)]).await;
    let signed = |typ: Option<&str>| token(&issuer, RSA_1, Algorithm::RS256, Some("rsa-1"), typ);
    let strict = builder(&issuer)
        .require_access_token_type(true)
        .build()
        .unwrap();

    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+JWT",
    ] {
        let (status, body) = call(&strict, &signed(Some(typ))).await;
        assert_eq!(status, StatusCode::OK, "{typ}: {body}");
    }
    for (case, typ) in [
        ("an ID token's typ", Some("JWT")),
        ("no typ", None),
        ("another media type", Some("application/jwt")),
        ("at+jwt with a suffix", Some("at+jwt2")),
    ] {
        let (status, body) = call(&strict, &signed(typ)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
        assert!(body.contains("error=\"invalid_token\""), "{case}: {body}");
        assert!(
            body.contains("at+jwt"),
            "{case}: the reason names what to send: {body}"
        );
    }

    // Off by default: many issuers sign access tokens with `typ: JWT` or none.
    let default = builder(&issuer).build().unwrap();
    for typ in [Some("JWT"), None, Some("at+jwt")] {
        let (status, body) = call(&default, &signed(typ)).await;
        assert_eq!(status, StatusCode::OK, "{typ:?}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_key_published_for_encryption_never_verifies_a_signature() {
    // RSA_1 twice: for encryption by `use`, and by RFC 7517 `key_ops`.
    let mut encrypt_ops = jwk(RSA_1, Algorithm::RS256, "encrypt-ops", None);
    encrypt_ops.common.key_operations = Some(vec![KeyOperations::Encrypt]);
    let enc_only = jwk(
        RSA_1,
        Algorithm::RS256,
        "enc-only",
        Some(PublicKeyUse::Encryption),
    );
    let signing = jwk(
        RSA_2,
        Algorithm::RS256,
        "signing",
        Some(PublicKeyUse::Signature),
    );
    let no_use = jwk(EC, Algorithm::ES256, "no-use", None);
    let issuer = start_jwks(vec![enc_only, encrypt_ops, signing, no_use]).await;
    let verifier = builder(&issuer).build().unwrap();

    let signing = token(&issuer, RSA_2, Algorithm::RS256, Some("signing"), None);
    assert_eq!(
        call(&verifier, &signing).await.0,
        StatusCode::OK,
        "use: sig"
    );
    let no_use = token(&issuer, EC, Algorithm::ES256, Some("no-use"), None);
    assert_eq!(call(&verifier, &no_use).await.0, StatusCode::OK, "no use");

    for kid in ["enc-only", "encrypt-ops"] {
        let signed = token(&issuer, RSA_1, Algorithm::RS256, Some(kid), None);
        let (status, body) = call(&verifier, &signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{kid}: {body}");
        assert!(
            body.contains("does not know"),
            "{kid}: a kid with only an encryption key is unknown: {body}"
        );
    }
    let (status, body) = call(
        &verifier,
        &token(&issuer, RSA_1, Algorithm::RS256, None, None),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no kid: the encryption key is not tried either: {body}"
    );
}

#[test]
fn a_static_jwk_for_encryption_does_not_build() {
    let enc = jwk(
        RSA_1,
        Algorithm::RS256,
        "enc",
        Some(PublicKeyUse::Encryption),
    );
    let error = JwtVerifier::builder("https://auth.example.com", RESOURCE)
        .jwk(&serde_json::to_string(&enc).unwrap())
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("jwk:"), "{error}");
    assert!(error.contains("enc"), "{error}");
}
