//! What the bearer-auth tests share: the clock, token minting (HS256 and the
//! test keys in `tests/keys`), an authorization server of the test's own
//! (RFC 8414 metadata and a JWKS over real HTTP on loopback), an RFC 7662
//! introspection endpoint, a layer served over HTTP, a call through the layer
//! that reports the principal's subject, and log capture. Every test binary
//! compiles all of it and uses a part, hence `dead_code` allowed here.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // each test uses a part

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_bearer_auth::{BearerAuthLayer, TokenVerifier};
use mcp_guard_core::{GuardBody, Principal};
use mcp_guard_test_support::jwt::unix_now;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

/// The MCP server's canonical resource URI, the audience of every token.
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
/// The issuer of the tokens the tests mint without an authorization server.
pub const ISSUER: &str = "https://auth.example.com";

pub const RSA_1: &[u8] = include_bytes!("../keys/rsa-1.pem");
pub const RSA_2: &[u8] = include_bytes!("../keys/rsa-2.pem");
pub const RSA_1_PUBLIC: &[u8] = include_bytes!("../keys/rsa-1.pub.pem");
pub const EC: &[u8] = include_bytes!("../keys/ec.pem");
pub const EC_PUBLIC: &[u8] = include_bytes!("../keys/ec.pub.pem");
pub const ED: &[u8] = include_bytes!("../keys/ed.pem");
pub const ED_PUBLIC: &[u8] = include_bytes!("../keys/ed.pub.pem");

/// A `tools/list` request body.
pub const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

/// Seconds since 1970, with the fraction.
pub fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `base` changed by `overrides`: each member set, or removed when `null`.
pub fn with(mut base: Value, overrides: Value) -> Value {
    for (name, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            base.as_object_mut().unwrap().remove(name);
        } else {
            base[name] = value.clone();
        }
    }
    base
}

/// The signing key of `alg`: `key` is a PEM private key, or the secret for HS256.
pub fn encoding_key(key: &[u8], alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(key),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(key),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => EncodingKey::from_secret(key),
        _ => EncodingKey::from_rsa_pem(key),
    }
    .unwrap()
}

/// `claims` signed with `header`'s algorithm and `key` (see [`encoding_key`]).
pub fn sign(header: &Header, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &encoding_key(key, header.alg)).unwrap()
}

/// The public JWK of `pem`, named `kid`.
pub fn jwk(pem: &[u8], alg: Algorithm, kid: &str) -> Jwk {
    if alg == Algorithm::EdDSA {
        return ed25519_jwk(kid);
    }
    let mut jwk = Jwk::from_encoding_key(&encoding_key(pem, alg), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

/// jsonwebtoken cannot derive an OKP JWK, so build it from the public key:
/// the last 32 bytes of the Ed25519 SubjectPublicKeyInfo.
fn ed25519_jwk(kid: &str) -> Jwk {
    use base64::Engine;
    let pem = std::str::from_utf8(ED_PUBLIC).unwrap();
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der[der.len() - 32..]);
    serde_json::from_value(
        json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}),
    )
    .unwrap()
}

/// An authorization server of the test's own: RFC 8414 metadata and a JWKS
/// that can rotate or go down, every request counted.
pub struct AuthServer {
    pub issuer: String,
    pub jwks: Arc<Mutex<JwkSet>>,
    /// JWKS requests.
    pub fetches: Arc<AtomicUsize>,
    /// Metadata requests.
    pub metadata_reads: Arc<AtomicUsize>,
    /// While set, the JWKS answers `503`.
    pub down: Arc<AtomicBool>,
    /// The JWKS response's `Cache-Control: max-age`, in seconds.
    pub max_age: Arc<AtomicUsize>,
}

impl AuthServer {
    /// Serves `keys` on a free loopback port.
    pub async fn start(keys: Vec<Jwk>) -> AuthServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        AuthServer::serve(listener, keys)
    }

    /// Serves the RSA, EC and Ed25519 test keys (`rsa-1`, `ec`, `ed`).
    pub async fn start_with_every_key_type() -> AuthServer {
        AuthServer::start(vec![
            jwk(RSA_1, Algorithm::RS256, "rsa-1"),
            jwk(EC, Algorithm::ES256, "ec"),
            jwk(ED, Algorithm::EdDSA, "ed"),
        ])
        .await
    }

    /// Serves `keys` on `addr` (a port the test held free).
    pub async fn start_on(addr: SocketAddr, keys: Vec<Jwk>) -> AuthServer {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("the port is still free");
        AuthServer::serve(listener, keys)
    }

    fn serve(listener: tokio::net::TcpListener, keys: Vec<Jwk>) -> AuthServer {
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let server = AuthServer {
            jwks: Arc::new(Mutex::new(JwkSet { keys })),
            fetches: Arc::default(),
            metadata_reads: Arc::default(),
            down: Arc::default(),
            max_age: Arc::new(AtomicUsize::new(600)),
            issuer,
        };
        let app = server.routes();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        server
    }

    fn routes(&self) -> Router {
        let issuer = &self.issuer;
        let metadata = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks"),
            "authorization_endpoint": format!("{issuer}/authorize"), "token_endpoint": format!("{issuer}/token")});
        let reads = self.metadata_reads.clone();
        let (set, count, outage, age) = (
            self.jwks.clone(),
            self.fetches.clone(),
            self.down.clone(),
            self.max_age.clone(),
        );
        Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(move || async move {
                    reads.fetch_add(1, Ordering::SeqCst);
                    axum::Json(metadata)
                }),
            )
            .route(
                "/jwks",
                get(move || {
                    let (set, count, outage, age) =
                        (set.clone(), count.clone(), outage.clone(), age.clone());
                    async move {
                        count.fetch_add(1, Ordering::SeqCst);
                        if outage.load(Ordering::SeqCst) {
                            return Err(StatusCode::SERVICE_UNAVAILABLE);
                        }
                        let body = serde_json::to_value(&*set.lock().unwrap()).unwrap();
                        let cache_control = format!("max-age={}", age.load(Ordering::SeqCst));
                        Ok(([("cache-control", cache_control)], axum::Json(body)))
                    }
                }),
            )
    }

    /// Every request it answered: metadata and JWKS.
    pub fn requests(&self) -> usize {
        self.metadata_reads.load(Ordering::SeqCst) + self.fetches.load(Ordering::SeqCst)
    }

    /// Signs claims (defaults: this issuer, this audience, valid for an
    /// hour; `overrides` as in [`with`]) with `pem` under `kid`.
    pub fn token(&self, pem: &[u8], alg: Algorithm, kid: &str, overrides: Value) -> String {
        let claims = json!({"iss": self.issuer, "aud": RESOURCE, "sub": "alice", "client_id": "inspector",
            "exp": unix_now() + 3600, "iat": unix_now(), "scope": "mcp files:read"});
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        sign(&header, pem, &with(claims, overrides))
    }

    /// `Authorization: Bearer …` with a token signed by `rsa-1`.
    pub fn bearer(&self, overrides: Value) -> String {
        format!(
            "Bearer {}",
            self.token(RSA_1, Algorithm::RS256, "rsa-1", overrides)
        )
    }
}

/// Serves `service` over HTTP on a free loopback port; its base URL.
pub async fn serve<S>(service: S) -> String
where
    S: tower::Service<Request<axum::body::Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback_service(service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The status of a `tools/list` with `token` through `layer` (its clones
/// share one verified-token cache), and the body: the principal's subject
/// when the handler was reached, the error otherwise.
pub async fn subject_through<V: TokenVerifier>(
    layer: &BearerAuthLayer<V>,
    token: &str,
) -> (StatusCode, String) {
    let handler = tower::service_fn(|request: Request<GuardBody<Full<Bytes>>>| async move {
        let subject = request
            .extensions()
            .get::<Principal>()
            .and_then(Principal::subject)
            .unwrap_or("")
            .to_owned();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(subject))))
    });
    let request = Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::from(TOOLS_LIST))
        .unwrap();
    let response = layer.clone().layer(handler).oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// An RFC 7662 introspection endpoint: answers each token with what
/// [`answer`](Self::answer) set for it (`{"active": false}` for any other),
/// to the client `mcp-server:s3cret` only (`401` otherwise), and counts the
/// calls.
pub struct IntrospectionEndpoint {
    pub url: String,
    answers: Arc<Mutex<HashMap<String, Value>>>,
    pub calls: Arc<AtomicUsize>,
}

/// The client credentials the [`IntrospectionEndpoint`] accepts.
pub const CLIENT_ID: &str = "mcp-server";
pub const CLIENT_SECRET: &str = "s3cret";

impl IntrospectionEndpoint {
    pub async fn start() -> IntrospectionEndpoint {
        let answers = Arc::new(Mutex::new(HashMap::<String, Value>::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (known, counted) = (answers.clone(), calls.clone());
        let app = Router::new().route(
            "/introspect",
            post(
                move |headers: HeaderMap, axum::Form(form): axum::Form<HashMap<String, String>>| {
                    let (known, counted) = (known.clone(), counted.clone());
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        if !is_this_client(&headers) {
                            return Err(StatusCode::UNAUTHORIZED);
                        }
                        let token = form.get("token").cloned().unwrap_or_default();
                        let answer = known.lock().unwrap().get(&token).cloned();
                        Ok(axum::Json(
                            answer.unwrap_or_else(|| json!({"active": false})),
                        ))
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/introspect", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        IntrospectionEndpoint {
            url,
            answers,
            calls,
        }
    }

    /// From now on, `token` is answered with `answer`.
    pub fn answer(&self, token: &str, answer: Value) {
        self.answers
            .lock()
            .unwrap()
            .insert(token.to_owned(), answer);
    }

    /// A verifier asking this endpoint as the client it accepts.
    #[cfg(feature = "introspection")]
    pub fn verifier(&self) -> mcp_bearer_auth::IntrospectionVerifierBuilder {
        mcp_bearer_auth::IntrospectionVerifier::builder(
            &self.url,
            CLIENT_ID,
            CLIENT_SECRET,
            RESOURCE,
        )
    }
}

/// HTTP Basic with `mcp-server:s3cret`.
fn is_this_client(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(expected.as_str())
}
