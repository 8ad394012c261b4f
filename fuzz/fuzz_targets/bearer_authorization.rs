//! `Authorization` parsing, token verification and the `WWW-Authenticate`
//! challenges (bearer-auth `token.rs`, `challenge.rs`, `jwt.rs`), driven
//! through the public `BearerAuthLayer` with `tower::ServiceExt::oneshot`.
//!
//! Input: a request in the format of `mcp_guard_fuzz::FuzzedRequest`, plus
//! directives that add an `Authorization: Bearer` header the fuzzer could not
//! forge alone: `@jwt: <claims JSON>` (HS256 with the server's secret),
//! `@jwt-wrong-key: <claims JSON>`, `@raw: <header JSON>|<claims JSON>|<signature>`
//! (each part Base64url-encoded as written: `alg: none`, `alg` confusion, …).
//! Checked:
//! - nothing panics; the answer is 200, 400, 401 or 403;
//! - every 400/401/403 is a JSON-RPC error with exactly one
//!   `WWW-Authenticate: Bearer` challenge that parses as RFC 9110
//!   auth-params, names the metadata URL, and carries `error` where it must;
//! - the handler is reached only with a token signed by the server's key, a
//!   `Principal` from the configured issuer with the required scope, and no
//!   `Authorization` header left in the request;
//! - a token made by a directive (a JWT; free-form header values could
//!   quote the server's own messages) never appears in the response.
#![no_main]

use std::convert::Infallible;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata, ScopePolicy};
use mcp_guard_core::{GuardBody, Principal};
use mcp_guard_fuzz::{FuzzedRequest, RUNTIME, assert_json_rpc_error, collect};
use tower::{Layer, ServiceExt};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a fuzzing secret that is 32+ bytes long";
const METADATA_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

static AUTH: LazyLock<BearerAuthLayer<JwtVerifier>> = LazyLock::new(|| {
    let verifier = JwtVerifier::builder(ISSUER, RESOURCE)
        .hs256_secret(SECRET)
        .build()
        .expect("a valid verifier");
    BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(RESOURCE, [ISSUER]))
        .policy(
            ScopePolicy::new()
                .require(["mcp"])
                .require_for_tool("admin", ["mcp:admin"]),
        )
        .max_token_bytes(4096)
        .build()
});

fuzz_target!(|data: &[u8]| {
    let fuzzed = FuzzedRequest::parse(data);
    let mut request = fuzzed.to_request();
    let mut sent_tokens: Vec<Vec<u8>> = Vec::new();
    if let Some(claims) = fuzzed.directive("jwt") {
        let token = sign(claims, SECRET);
        add_token(&mut request, &token);
        sent_tokens.push(token.into_bytes());
    }
    if let Some(claims) = fuzzed.directive("jwt-wrong-key") {
        let token = sign(claims, b"another secret, not the server's one!!");
        add_token(&mut request, &token);
        sent_tokens.push(token.into_bytes());
    }
    if let Some(raw) = fuzzed.directive("raw") {
        let mut parts = raw.splitn(3, |byte| *byte == b'|');
        let header = URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
        let claims = URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
        let signature = URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
        let token = format!("{header}.{claims}.{signature}");
        add_token(&mut request, &token);
        sent_tokens.push(token.into_bytes());
    }
    let tokens: Vec<String> = request
        .headers()
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| {
            value
                .split_once(' ')
                .map(|(_, token)| token.trim_start().to_owned())
        })
        .collect();
    // Public metadata reads (RFC 9728, RFC 8414, OIDC in every form, e.g.
    // `/tenant/.well-known/openid-configuration`) pass without a token. The
    // forms are listed here, not asked of the crate's own classifier, so a
    // bug in that classifier shows as a bypass.
    let metadata_read = matches!(request.method().as_str(), "GET" | "HEAD")
        && is_public_metadata_path(request.uri().path());

    RUNTIME.block_on(async move {
        let service = AUTH.layer(tower::service_fn(handler));
        let response = service.oneshot(request).await.expect("infallible");
        let (parts, body) = collect(response).await;
        for token in &sent_tokens {
            assert!(
                !contains(&body, token)
                    && parts
                        .headers
                        .values()
                        .all(|value| !contains(value.as_bytes(), token)),
                "the token is echoed in the response"
            );
        }
        match parts.status {
            StatusCode::OK => {
                if !metadata_read {
                    assert!(
                        tokens.iter().any(|token| signed_by_server(token)),
                        "the handler was reached without a token signed by the server's key"
                    );
                }
            }
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                assert_json_rpc_error(&parts, &body);
                let challenges: Vec<_> = parts.headers.get_all(WWW_AUTHENTICATE).iter().collect();
                assert_eq!(challenges.len(), 1, "one challenge");
                let params = parse_challenge(challenges[0].as_bytes());
                let param = |name: &str| {
                    params
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.as_str())
                };
                assert_eq!(param("resource_metadata"), Some(METADATA_URL));
                let expected_error = match parts.status {
                    StatusCode::BAD_REQUEST => Some("invalid_request"),
                    StatusCode::FORBIDDEN => Some("insufficient_scope"),
                    _ if tokens.is_empty() => None,
                    _ => Some("invalid_token"),
                };
                assert_eq!(param("error"), expected_error, "{params:?}");
                if parts.status == StatusCode::FORBIDDEN {
                    // Step-up names every scope the call needs: always `mcp`.
                    let scope = param("scope").unwrap_or_default();
                    assert!(scope.split(' ').any(|scope| scope == "mcp"), "{params:?}");
                }
            }
            other => panic!("unexpected status {other}"),
        }
    });
});

async fn handler(
    request: Request<GuardBody<Full<Bytes>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    assert!(
        request.headers().get(AUTHORIZATION).is_none(),
        "the token is not passed through to the handler"
    );
    if mcp_guard_core::well_known::is_metadata_read(&request) {
        // A public metadata document other than the layer's own: read without
        // a token (found by this target once such reads passed through).
        return Ok(Response::new(Full::default()));
    }
    let principal = request
        .extensions()
        .get::<Principal>()
        .expect("a request that got through carries a Principal");
    assert_eq!(principal.issuer(), Some(ISSUER));
    assert!(principal.scopes().iter().any(|scope| scope == "mcp"));
    Ok(Response::new(Full::default()))
}

fn add_token(request: &mut Request<Full<Bytes>>, token: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
        request.headers_mut().append(AUTHORIZATION, value);
    }
}

fn sign(claims: &[u8], key: &[u8]) -> String {
    let claims: serde_json::Value = serde_json::from_slice(claims).unwrap_or_default();
    // An empty key is no HMAC key (jsonwebtoken 12 refuses it): no token.
    let Ok(key) = jsonwebtoken::EncodingKey::from_secret(key) else {
        return String::new();
    };
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap_or_default()
}

/// Whether `token` is an HS256 JWT signed with the server's secret (nothing
/// else checked: the guard's own claim checks are stricter).
fn signed_by_server(token: &str) -> bool {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET).unwrap(),
        &validation,
    )
    .is_ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Parses `Bearer name="value", name=token, …` (RFC 9110 §11.6.1): panics on
/// anything a client's parser could read differently.
fn parse_challenge(value: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(value).expect("a challenge is ASCII");
    let rest = text.strip_prefix("Bearer").expect("a Bearer challenge");
    let mut rest = rest.trim_start_matches(' ');
    let mut params = Vec::new();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').expect("name=value");
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_'),
            "a parameter name {name:?} in {text:?}"
        );
        let after = after.strip_prefix('"').expect("values are quoted");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closing quote") {
                (_, '\\') => value.push(chars.next().expect("an escaped char").1),
                (at, '"') => break at,
                (_, c) => {
                    assert!(c == '\t' || (' '..='~').contains(&c), "{c:?} in {text:?}");
                    value.push(c);
                }
            }
        };
        params.push((name.to_owned(), value));
        rest = &after[end + 1..];
        if !rest.is_empty() {
            rest = rest.strip_prefix(", ").expect("`, ` between parameters");
        }
    }
    params
}

/// The metadata documents RFC 9728, RFC 8414 and OpenID Connect Discovery
/// define, in their root, path-inserted and (OIDC) path-appended forms.
fn is_public_metadata_path(path: &str) -> bool {
    let at_or_under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    at_or_under("/.well-known/oauth-protected-resource")
        || at_or_under("/.well-known/oauth-authorization-server")
        || at_or_under("/.well-known/openid-configuration")
        || path.ends_with("/.well-known/openid-configuration")
}
