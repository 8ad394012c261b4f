//! The example's embedded DEVELOPMENT authorization server (remote preset, no
//! `--issuer`), driven over real HTTP as an OAuth client would: RFC 8414
//! metadata at the OAuth and both OpenID paths, RFC 7591 registration, the
//! authorization code flow with PKCE S256 (the 302 followed by hand), rotating
//! refresh tokens, client credentials with HTTP Basic and with the form, and
//! the RFC 6749 error answer of every bad request. Tokens are checked against
//! the issuer's JWKS and accepted by the MCP endpoint; the example refuses to
//! serve the issuer on a public address unless told to.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use support::{ExampleServer, mcp_http};

/// The redirect URI the test clients register (nothing listens there: the
/// test reads the 302 itself).
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// The example under the remote preset, with a client that never follows redirects.
struct Issuer {
    server: ExampleServer,
    http: reqwest::Client,
}

/// A token endpoint answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    /// Asserts an RFC 6749 error answer and returns its description.
    #[track_caller]
    fn assert_error(&self, status: u16, error: &str) -> String {
        assert_eq!(
            (self.status.as_u16(), self.body["error"].as_str()),
            (status, Some(error)),
            "{}",
            self.body
        );
        assert_eq!(self.headers["cache-control"], "no-store", "{}", self.body);
        self.body["error_description"].as_str().unwrap().to_owned()
    }

    #[track_caller]
    fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(self.headers["cache-control"], "no-store");
        &self.body
    }
}

/// `pairs` form-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://form.invalid/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// The JWT's header and claims, decoded without verification.
fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (decode(), decode())
}

impl Issuer {
    fn start() -> Issuer {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Issuer {
        let mut args = vec!["--preset", "remote"];
        args.extend_from_slice(extra);
        Issuer {
            server: ExampleServer::start(&args),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn issuer(&self) -> String {
        self.server.issuer()
    }

    /// The MCP endpoint's canonical URI: the only resource, every token's audience.
    fn resource(&self) -> &str {
        &self.server.url
    }

    async fn register(&self, metadata: Value) -> Answer {
        self.post_register("application/json", metadata.to_string())
            .await
    }

    async fn post_register(&self, content_type: &str, body: String) -> Answer {
        let response = self
            .http
            .post(format!("{}/register", self.issuer()))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// A registered client's id and secret (if any).
    async fn client(&self, metadata: Value) -> (String, Option<String>) {
        let registered = self.register(metadata).await;
        assert_eq!(registered.status, 201, "{}", registered.body);
        let body = registered.body;
        (
            body["client_id"].as_str().unwrap().to_owned(),
            body["client_secret"].as_str().map(str::to_owned),
        )
    }

    /// A public client for the authorization code flow with refresh tokens.
    async fn public_client(&self) -> String {
        self.client(json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .await
        .0
    }

    /// A confidential client-credentials client authenticating with `method`.
    async fn machine_client(&self, method: &str) -> (String, String) {
        let (id, secret) = self
            .client(json!({
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": method,
                "scope": "mcp",
            }))
            .await;
        (id, secret.unwrap())
    }

    async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        let mut url = Url::parse(&format!("{}/authorize", self.issuer())).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        self.http.get(url).send().await.unwrap()
    }

    /// The authorization request of `client_id` with the S256 `challenge`,
    /// plus `extra` parameters.
    async fn authorize_with(
        &self,
        client_id: &str,
        challenge: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "the-state"),
            ("resource", self.resource()),
        ];
        params.extend_from_slice(extra);
        self.authorize(&params).await
    }

    /// Follows a successful authorization request's 302 by hand: the code.
    async fn code(&self, client_id: &str, challenge: &str, scope: &str) -> String {
        let response = self
            .authorize_with(client_id, challenge, &[("scope", scope)])
            .await;
        let redirect = redirected(&response);
        assert!(!redirect.contains_key("error"), "{redirect:?}");
        redirect["code"].clone()
    }

    async fn token(&self, params: &[(&str, &str)], basic: Option<(&str, &str)>) -> Answer {
        self.post_token("application/x-www-form-urlencoded", form(params), basic)
            .await
    }

    async fn post_token(
        &self,
        content_type: &str,
        body: String,
        basic: Option<(&str, &str)>,
    ) -> Answer {
        let mut request = self
            .http
            .post(format!("{}/token", self.issuer()))
            .header("content-type", content_type)
            .body(body);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        answer(request.send().await.unwrap()).await
    }

    /// A code of `client_id` exchanged (public client): the token answer.
    async fn code_flow(&self, client_id: &str, scope: &str) -> Value {
        let (verifier, challenge) = pkce();
        let code = self.code(client_id, &challenge, scope).await;
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", client_id),
                ("code_verifier", &verifier),
                ("resource", self.resource()),
            ],
            None,
        )
        .await
        .assert_ok()
        .clone()
    }

    /// The token's claims, its signature checked with the issuer's JWKS (found
    /// through the RFC 8414 metadata) and its issuer and audience with them.
    async fn verified_claims(&self, token: &str) -> Value {
        let metadata = self.server.issuer_metadata(&self.http).await;
        let jwks: jsonwebtoken::jwk::JwkSet =
            mcp_http::json_of(self.http.get(metadata["jwks_uri"].as_str().unwrap())).await;
        let (header, _) = jwt_parts(token);
        let jwk = jwks.find(header["kid"].as_str().unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_issuer(&[self.issuer()]);
        validation.set_audience(&[self.resource()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Value>(
            token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &validation,
        )
        .unwrap()
        .claims
    }

    /// POSTs a JSON-RPC message to /mcp with `token` (legacy era).
    async fn mcp(&self, token: &str, session: Option<&str>, message: Value) -> reqwest::Response {
        mcp_http::post(&self.http, &self.server.url, &message, session)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `initialize`, then `whoami`, with `token`: the principal the MCP server saw.
    async fn whoami(&self, token: &str) -> Value {
        let initialized = self
            .mcp(
                token,
                None,
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "oauth-test", "version": "1"}}}),
            )
            .await;
        assert_eq!(
            initialized.status(),
            200,
            "the MCP endpoint refused the token"
        );
        let session = initialized.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let notified = self
            .mcp(
                token,
                Some(&session),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(notified.status(), 202);
        let called = self
            .mcp(
                token,
                Some(&session),
                json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "whoami", "arguments": {}}}),
            )
            .await;
        assert_eq!(called.status(), 200);
        let body = called.text().await.unwrap();
        // A JSON answer, or SSE whose data line holds it.
        let message: Value = body
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .chain([body.as_str()])
            .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
            .find(|message| message["id"] == 2)
            .unwrap_or_else(|| panic!("no JSON-RPC answer in {body:?}"));
        let text = message["result"]["content"][0]["text"].as_str().unwrap();
        serde_json::from_str(text).unwrap()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{status}: not JSON: {:?}", String::from_utf8_lossy(&bytes)));
    Answer {
        status,
        headers,
        body,
    }
}

/// The query of a 302 to the registered redirect URI.
#[track_caller]
fn redirected(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), 302, "expected a redirect");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?")),
        "redirected to {location}, not to the registered {REDIRECT}"
    );
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// An authorization error sent back by redirect: its `error`, with `state`
/// and `iss` checked.
#[track_caller]
fn redirected_error(issuer: &Issuer, response: &reqwest::Response) -> String {
    let query = redirected(response);
    assert!(!query.contains_key("code"), "{query:?}");
    assert_eq!(query.get("state").map(String::as_str), Some("the-state"));
    assert_eq!(query["iss"], issuer.issuer());
    query["error"].clone()
}

/// An authorization error answered without redirecting anywhere.
async fn refused_here(response: reqwest::Response) -> String {
    assert!(
        response.headers().get(LOCATION).is_none(),
        "redirected to {:?}",
        response.headers()[LOCATION]
    );
    let answer = answer(response).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    answer.body["error"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_answers_at_the_oauth_path_and_both_openid_paths() {
    let issuer = Issuer::start();
    let origin = issuer.server.origin();
    let base = issuer.issuer();
    for (path, openid) in [
        ("/.well-known/oauth-authorization-server/dev-issuer", false),
        ("/.well-known/openid-configuration/dev-issuer", true),
        ("/dev-issuer/.well-known/openid-configuration", true),
    ] {
        // The Python SDK sends MCP-Protocol-Version on discovery GETs.
        let response = issuer
            .http
            .get(format!("{origin}{path}"))
            .header("mcp-protocol-version", "2026-07-28")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["issuer"], base, "{path}");
        assert_eq!(
            document["authorization_endpoint"],
            format!("{base}/authorize")
        );
        assert_eq!(document["token_endpoint"], format!("{base}/token"));
        assert_eq!(
            document["registration_endpoint"],
            format!("{base}/register")
        );
        assert_eq!(document["jwks_uri"], format!("{base}/jwks.json"));
        assert_eq!(document["response_types_supported"], json!(["code"]));
        assert_eq!(
            document["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            document["code_challenge_methods_supported"],
            json!(["S256"])
        );
        assert_eq!(
            document["token_endpoint_auth_methods_supported"],
            json!(["none", "client_secret_basic", "client_secret_post"])
        );
        assert_eq!(document["scopes_supported"], json!(["mcp", "mcp:admin"]));
        assert_eq!(
            document["authorization_response_iss_parameter_supported"],
            true
        );
        // The TypeScript SDK's OpenID schema requires these two.
        assert_eq!(
            document.get("subject_types_supported").is_some(),
            openid,
            "{path}"
        );
        assert_eq!(
            document
                .get("id_token_signing_alg_values_supported")
                .is_some(),
            openid,
            "{path}"
        );
    }
    let jwks: Value = issuer
        .http
        .get(format!("{base}/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "dev-issuer-es256");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_returns_a_client_and_refuses_bad_metadata() {
    let issuer = Issuer::start();

    // A public client: no secret.
    let public = issuer
        .register(json!({
            "client_name": "public", "redirect_uris": [REDIRECT, "http://localhost:3030/cb", "http://[::1]:8/cb"],
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "scope": "mcp", "application_type": "native",
        }))
        .await;
    assert_eq!(public.status, 201, "{}", public.body);
    assert_eq!(public.headers["cache-control"], "no-store");
    let body = &public.body;
    assert!(
        body["client_id"]
            .as_str()
            .unwrap()
            .starts_with("dev-client-")
    );
    assert!(body.get("client_secret").is_none(), "{body}");
    assert!(body["client_id_issued_at"].as_u64().unwrap() > 0);
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["redirect_uris"][0], REDIRECT);
    assert_eq!(body["scope"], "mcp");
    assert_eq!(body["client_name"], "public");

    // RFC 7591 defaults: client_secret_basic, authorization_code; https anywhere.
    let defaults = issuer
        .register(json!({"redirect_uris": ["https://app.example/cb"]}))
        .await;
    assert_eq!(defaults.status, 201, "{}", defaults.body);
    assert_eq!(
        defaults.body["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(defaults.body["grant_types"], json!(["authorization_code"]));
    assert!(defaults.body["client_secret"].as_str().unwrap().len() >= 32);
    assert_eq!(defaults.body["client_secret_expires_at"], 0);

    // A client-credentials client needs no redirect URI; the list is still there.
    let machine = issuer
        .register(json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}))
        .await;
    assert_eq!(machine.status, 201, "{}", machine.body);
    assert_eq!(machine.body["redirect_uris"], json!([]));
    assert_ne!(machine.body["client_id"], defaults.body["client_id"]);

    let too_many: Vec<String> = (0..11)
        .map(|n| format!("https://app.example/{n}"))
        .collect();
    for (metadata, error) in [
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1.evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["/callback"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#fragment"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://user@app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/a b"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": too_many}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": REDIRECT}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "scope": "mcp root"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "client_name": 7}),
            "invalid_client_metadata",
        ),
    ] {
        let refused = issuer.register(metadata.clone()).await;
        assert_eq!(
            (refused.status.as_u16(), refused.body["error"].as_str()),
            (400, Some(error)),
            "{metadata}: {}",
            refused.body
        );
    }

    // Malformed bodies.
    for (content_type, body) in [
        ("application/json", "{".to_owned()),
        ("application/json", "[]".to_owned()),
        ("application/json", String::new()),
        (
            "application/x-www-form-urlencoded",
            "redirect_uris=x".to_owned(),
        ),
        (
            "application/json",
            json!({"redirect_uris": [REDIRECT], "client_name": "x".repeat(20_000)}).to_string(),
        ),
    ] {
        let refused = issuer.post_register(content_type, body.clone()).await;
        assert_eq!(
            (refused.status.as_u16(), refused.body["error"].as_str()),
            (400, Some("invalid_request")),
            "{content_type} {:.40}: {}",
            body,
            refused.body
        );
    }
    let get = issuer
        .http
        .get(format!("{}/register", issuer.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(answer(get).await.body["error"], "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_clients_are_bounded_and_the_oldest_is_forgotten() {
    let issuer = Issuer::start();
    let (first, first_secret) = issuer.machine_client("client_secret_post").await;
    let mut last = None;
    for _ in 0..1000 {
        last = Some(issuer.machine_client("client_secret_post").await);
    }
    let cc = |id: &str, secret: &str| {
        form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
    };
    let (last, last_secret) = last.unwrap();
    issuer
        .post_token(
            "application/x-www-form-urlencoded",
            cc(&last, &last_secret),
            None,
        )
        .await
        .assert_ok();
    issuer
        .post_token(
            "application/x-www-form-urlencoded",
            cc(&first, &first_secret),
            None,
        )
        .await
        .assert_error(401, "invalid_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_code_flow_with_pkce_gives_a_token_the_mcp_endpoint_accepts() {
    let issuer = Issuer::start();
    let client_id = issuer.public_client().await;
    let (verifier, challenge) = pkce();

    // The authorization request is approved at once: a 302 to the registered
    // URI with the code, the state and RFC 9207's iss.
    let response = issuer
        .authorize_with(&client_id, &challenge, &[("scope", "mcp")])
        .await;
    let redirect = redirected(&response);
    assert_eq!(redirect["state"], "the-state");
    assert_eq!(redirect["iss"], issuer.issuer());
    let code = &redirect["code"];
    assert!(code.len() >= 43, "{code}");

    let tokens = issuer
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", &client_id),
                ("code_verifier", &verifier),
                ("resource", issuer.resource()),
            ],
            None,
        )
        .await;
    let body = tokens.assert_ok();
    assert_eq!(tokens.headers["pragma"], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "mcp");
    assert!(body["refresh_token"].as_str().is_some(), "{body}");
    let access_token = body["access_token"].as_str().unwrap();

    let (header, _) = jwt_parts(access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "dev-issuer-es256");
    let claims = issuer.verified_claims(access_token).await;
    assert_eq!(claims["iss"], issuer.issuer());
    assert_eq!(claims["sub"], "dev-user");
    assert_eq!(claims["aud"], issuer.resource());
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["scope"], "mcp");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
    assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() >= 16));

    // The MCP endpoint takes it, and sees the user through this client.
    let whoami = issuer.whoami(access_token).await;
    assert_eq!(whoami["subject"], "dev-user");
    assert_eq!(whoami["client_id"], client_id);
    assert_eq!(whoami["scopes"], json!(["mcp"]));

    // Another token: another jti.
    let again = issuer.code_flow(&client_id, "mcp mcp:admin").await;
    let (_, other) = jwt_parts(again["access_token"].as_str().unwrap());
    assert_ne!(other["jti"], claims["jti"]);
    assert_eq!(other["scope"], "mcp mcp:admin");

    // A confidential client does the same flow, authenticating with HTTP Basic.
    let (id, secret) = issuer
        .client(json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}))
        .await;
    let secret = secret.unwrap();
    let (verifier, challenge) = pkce();
    let code = issuer.code(&id, &challenge, "mcp").await;
    let tokens = issuer
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
            Some((&id, &secret)),
        )
        .await;
    let body = tokens.assert_ok();
    // It did not register refresh_token: no refresh token.
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(
        issuer.whoami(body["access_token"].as_str().unwrap()).await["client_id"],
        id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_work_once_and_only_narrow_the_scope() {
    let issuer = Issuer::start();
    let client_id = issuer.public_client().await;
    let first = issuer.code_flow(&client_id, "mcp mcp:admin").await;
    let refresh = |token: String, scope: Option<&'static str>| {
        let client_id = client_id.clone();
        let issuer = &issuer;
        async move {
            let mut params = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", client_id.as_str()),
            ];
            if let Some(scope) = scope {
                params.push(("scope", scope));
            }
            issuer.token(&params, None).await
        }
    };
    let first_refresh = first["refresh_token"].as_str().unwrap().to_owned();

    // Narrowed: a token with mcp only, and a new refresh token.
    let narrowed = refresh(first_refresh.clone(), Some("mcp")).await;
    let body = narrowed.assert_ok().clone();
    assert_eq!(body["scope"], "mcp");
    let claims = issuer
        .verified_claims(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (claims["scope"].as_str(), claims["sub"].as_str()),
        (Some("mcp"), Some("dev-user"))
    );
    let second_refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);

    // The used refresh token is refused.
    refresh(first_refresh, None)
        .await
        .assert_error(400, "invalid_grant");

    // The successor still holds the whole original grant.
    let whole = refresh(second_refresh, Some("mcp:admin mcp")).await;
    assert_eq!(whole.assert_ok()["scope"], "mcp mcp:admin");
    let third_refresh = whole.body["refresh_token"].as_str().unwrap().to_owned();

    // Refused, not spent: a wider scope, another resource, another client.
    let narrow_grant = issuer.code_flow(&client_id, "mcp").await;
    let narrow_refresh = narrow_grant["refresh_token"].as_str().unwrap().to_owned();
    refresh(narrow_refresh.clone(), Some("mcp mcp:admin"))
        .await
        .assert_error(400, "invalid_scope");
    refresh(narrow_refresh.clone(), Some("mcp root"))
        .await
        .assert_error(400, "invalid_scope");
    issuer
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &narrow_refresh),
                ("client_id", &client_id),
                ("resource", "https://other.example/mcp"),
            ],
            None,
        )
        .await
        .assert_error(400, "invalid_target");
    let stranger = issuer.public_client().await;
    issuer
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &third_refresh),
                ("client_id", &stranger),
            ],
            None,
        )
        .await
        .assert_error(400, "invalid_grant");
    refresh(narrow_refresh, None).await.assert_ok();
    refresh(third_refresh, None).await.assert_ok();
    refresh("not-a-refresh-token".to_owned(), None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_work_with_basic_and_with_post_for_registered_clients() {
    let issuer = Issuer::start();
    let cc = [("grant_type", "client_credentials")];

    let (basic_id, basic_secret) = issuer.machine_client("client_secret_basic").await;
    let basic = issuer.token(&cc, Some((&basic_id, &basic_secret))).await;
    let body = basic.assert_ok();
    // The registered scope is the default; no refresh token for this grant.
    assert_eq!(body["scope"], "mcp");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let token = body["access_token"].as_str().unwrap();
    let claims = issuer.verified_claims(token).await;
    assert_eq!(claims["sub"], basic_id);
    assert_eq!(claims["client_id"], basic_id);
    assert_eq!(jwt_parts(token).0["typ"], "at+jwt");
    let whoami = issuer.whoami(token).await;
    assert_eq!(whoami["subject"], basic_id);

    let (post_id, post_secret) = issuer.machine_client("client_secret_post").await;
    let post = issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &post_id),
                ("client_secret", &post_secret),
                ("scope", "mcp mcp:admin"),
                ("resource", issuer.resource()),
            ],
            None,
        )
        .await;
    assert_eq!(post.assert_ok()["scope"], "mcp mcp:admin");

    // Each client authenticates the way it registered, and only that way.
    issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &basic_id),
                ("client_secret", &basic_secret),
            ],
            None,
        )
        .await
        .assert_error(401, "invalid_client");
    let wrong_way = issuer.token(&cc, Some((&post_id, &post_secret))).await;
    wrong_way.assert_error(401, "invalid_client");
    assert_eq!(
        wrong_way.headers["www-authenticate"],
        "Basic realm=\"dev-issuer\""
    );

    // A public client, a client without the grant, and the old anonymous
    // request of the development issuer.
    let public = issuer.public_client().await;
    issuer
        .token(
            &[("grant_type", "client_credentials"), ("client_id", &public)],
            None,
        )
        .await
        .assert_error(400, "unauthorized_client");
    let (code_only, code_secret) = issuer
        .client(json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}))
        .await;
    issuer
        .token(&cc, Some((&code_only, &code_secret.unwrap())))
        .await
        .assert_error(400, "unauthorized_client");
    issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "mcp"),
                ("client_id", "mallory"),
            ],
            None,
        )
        .await
        .assert_error(401, "invalid_client");
    issuer
        .token(&[("grant_type", "client_credentials")], None)
        .await
        .assert_error(401, "invalid_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_authorization_requests_are_refused_and_never_sent_to_an_unregistered_uri() {
    let issuer = Issuer::start();
    let client_id = issuer.public_client().await;
    let (_, challenge) = pkce();
    let resource = issuer.resource().to_owned();

    // Answered here, as JSON: nothing is sent to a URI the client did not register.
    let base = |redirect_uri: &'static str| {
        vec![
            ("response_type", "code"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("redirect_uri", redirect_uri),
        ]
    };
    for redirect_uri in [
        "https://attacker.example/callback",
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/callback?x=1",
        "http://127.0.0.1:10/callback",
        "HTTP://127.0.0.1:9/callback",
    ] {
        let mut params = base(redirect_uri);
        params.push(("client_id", &client_id));
        let error = refused_here(issuer.authorize(&params).await).await;
        assert_eq!(error, "invalid_request", "{redirect_uri}");
    }
    let mut unknown = base(REDIRECT);
    unknown.push(("client_id", "dev-client-unknown"));
    assert_eq!(
        refused_here(issuer.authorize(&unknown).await).await,
        "invalid_request"
    );
    assert_eq!(
        refused_here(issuer.authorize(&base(REDIRECT)).await).await,
        "invalid_request"
    );
    let mut twice = base(REDIRECT);
    twice.extend([
        ("client_id", client_id.as_str()),
        ("client_id", client_id.as_str()),
    ]);
    assert_eq!(
        refused_here(issuer.authorize(&twice).await).await,
        "invalid_request"
    );
    let mut two_redirects = base(REDIRECT);
    two_redirects.extend([
        ("client_id", client_id.as_str()),
        ("redirect_uri", "https://attacker.example/"),
    ]);
    assert_eq!(
        refused_here(issuer.authorize(&two_redirects).await).await,
        "invalid_request"
    );
    let (two_uris, _) = issuer
        .client(json!({"redirect_uris": [REDIRECT, "http://localhost:9/cb"], "token_endpoint_auth_method": "none"}))
        .await;
    let mut unnamed = base(REDIRECT);
    unnamed.retain(|(name, _)| *name != "redirect_uri");
    unnamed.push(("client_id", &two_uris));
    assert_eq!(
        refused_here(issuer.authorize(&unnamed).await).await,
        "invalid_request"
    );

    // After the redirect URI is known good, errors go back to it (an empty
    // value counts as a missing parameter, RFC 6749 §3.1).
    let fragment = format!("{resource}#fragment");
    let cases: [(&str, &str, &str); 11] = [
        ("code_challenge_method", "plain", "invalid_request"),
        ("code_challenge_method", "", "invalid_request"),
        ("code_challenge", "", "invalid_request"),
        ("code_challenge", "too-short", "invalid_request"),
        ("response_type", "token", "unsupported_response_type"),
        ("response_type", "", "invalid_request"),
        ("scope", "mcp root", "invalid_scope"),
        ("scope", "MCP", "invalid_scope"),
        ("resource", "https://other.example/mcp", "invalid_target"),
        ("resource", &fragment, "invalid_target"),
        ("resource", "urn:not-this-server", "invalid_target"),
    ];
    for (name, value, error) in cases {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", "the-state"),
            ("resource", resource.as_str()),
        ];
        params.retain(|(key, _)| *key != name);
        params.push((name, value));
        let response = issuer.authorize(&params).await;
        assert_eq!(
            redirected_error(&issuer, &response),
            error,
            "{name}={value}"
        );
    }
    // A client that did not register the code grant.
    let (machine, _) = issuer
        .client(json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}))
        .await;
    let response = issuer.authorize_with(&machine, &challenge, &[]).await;
    assert_eq!(redirected_error(&issuer, &response), "unauthorized_client");

    // With one registered redirect URI it may be left out, then the token
    // request may leave it out too.
    let (verifier, challenge) = pkce();
    let response = issuer
        .authorize(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .await;
    let code = redirected(&response)["code"].clone();
    issuer
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &client_id),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await
        .assert_ok();

    let post = issuer
        .http
        .post(format!("{}/authorize", issuer.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_token_requests_get_the_rfc_6749_error() {
    let issuer = Issuer::start();
    let client_id = issuer.public_client().await;
    let exchange = |code: String, verifier: String, extra: Vec<(&'static str, String)>| {
        let client_id = client_id.clone();
        let issuer = &issuer;
        async move {
            let mut params = vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code),
                ("redirect_uri", REDIRECT.to_owned()),
                ("client_id", client_id),
                ("code_verifier", verifier),
            ];
            for (name, value) in extra {
                params.retain(|(key, _)| *key != name);
                params.push((name, value));
            }
            let params: Vec<(&str, &str)> = params
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            issuer.token(&params, None).await
        }
    };

    // A wrong verifier is refused, and spends the code.
    let (verifier, challenge) = pkce();
    let (wrong, _) = pkce();
    let code = issuer.code(&client_id, &challenge, "mcp").await;
    exchange(code.clone(), wrong, vec![])
        .await
        .assert_error(400, "invalid_grant");
    exchange(code, verifier, vec![])
        .await
        .assert_error(400, "invalid_grant");

    // A code works once.
    let (verifier, challenge) = pkce();
    let code = issuer.code(&client_id, &challenge, "mcp").await;
    exchange(code.clone(), verifier.clone(), vec![])
        .await
        .assert_ok();
    exchange(code, verifier, vec![])
        .await
        .assert_error(400, "invalid_grant");

    // A different redirect URI, another client's code, another resource.
    let (verifier, challenge) = pkce();
    let code = issuer.code(&client_id, &challenge, "mcp").await;
    exchange(
        code,
        verifier,
        vec![("redirect_uri", "http://127.0.0.1:9/other".to_owned())],
    )
    .await
    .assert_error(400, "invalid_grant");
    let (verifier, challenge) = pkce();
    let code = issuer.code(&client_id, &challenge, "mcp").await;
    let stranger = issuer.public_client().await;
    exchange(code, verifier, vec![("client_id", stranger)])
        .await
        .assert_error(400, "invalid_grant");
    let (verifier, challenge) = pkce();
    let code = issuer.code(&client_id, &challenge, "mcp").await;
    exchange(
        code.clone(),
        verifier.clone(),
        vec![("resource", "https://other.example/mcp".to_owned())],
    )
    .await
    .assert_error(400, "invalid_target");
    // (A malformed request does not spend the code.)
    exchange(code.clone(), "short".to_owned(), vec![])
        .await
        .assert_error(400, "invalid_request");
    exchange(code, verifier, vec![]).await.assert_ok();
    exchange("unknown-code".to_owned(), pkce().0, vec![])
        .await
        .assert_error(400, "invalid_grant");
    let (_, challenge) = pkce();
    let code = issuer.code(&client_id, &challenge, "mcp").await;
    issuer
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &client_id),
            ],
            None,
        )
        .await
        .assert_error(400, "invalid_request");

    // Client authentication.
    let (id, secret) = issuer.machine_client("client_secret_basic").await;
    let cc = [("grant_type", "client_credentials")];
    let unknown = issuer
        .token(&cc, Some(("dev-client-unknown", "secret")))
        .await;
    unknown.assert_error(401, "invalid_client");
    assert_eq!(
        unknown.headers["www-authenticate"],
        "Basic realm=\"dev-issuer\""
    );
    let wrong_secret = issuer.token(&cc, Some((&id, "not-the-secret"))).await;
    wrong_secret.assert_error(401, "invalid_client");
    assert_eq!(
        wrong_secret.headers["www-authenticate"],
        "Basic realm=\"dev-issuer\""
    );
    let (post_id, _) = issuer.machine_client("client_secret_post").await;
    let wrong_post = issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &post_id),
                ("client_secret", "nope"),
            ],
            None,
        )
        .await;
    wrong_post.assert_error(401, "invalid_client");
    assert!(wrong_post.headers.get("www-authenticate").is_none());
    issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "dev-client-unknown"),
            ],
            None,
        )
        .await
        .assert_error(401, "invalid_client");
    issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", &secret),
            ],
            Some((&id, &secret)),
        )
        .await
        .assert_error(400, "invalid_request");
    let bearer = issuer
        .http
        .post(format!("{}/token", issuer.issuer()))
        .header("content-type", "application/x-www-form-urlencoded")
        .bearer_auth("a-token")
        .body(form(&cc))
        .send()
        .await
        .unwrap();
    let bearer = answer(bearer).await;
    bearer.assert_error(401, "invalid_client");
    assert_eq!(
        bearer.headers["www-authenticate"],
        "Basic realm=\"dev-issuer\""
    );

    // Grant type, scope, resource.
    let basic = Some((id.as_str(), secret.as_str()));
    issuer
        .token(
            &[
                ("grant_type", "password"),
                ("username", "u"),
                ("password", "p"),
            ],
            basic,
        )
        .await
        .assert_error(400, "unsupported_grant_type");
    issuer
        .token(&[("scope", "mcp")], basic)
        .await
        .assert_error(400, "invalid_request");
    issuer
        .token(
            &[("grant_type", "client_credentials"), ("scope", "mcp root")],
            basic,
        )
        .await
        .assert_error(400, "invalid_scope");
    issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://other.example/mcp"),
            ],
            basic,
        )
        .await
        .assert_error(400, "invalid_target");
    issuer
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("resource", issuer.resource()),
                ("resource", "https://other.example/mcp"),
            ],
            basic,
        )
        .await
        .assert_error(400, "invalid_target");
    // The canonical comparison: an uppercase scheme and host name this server.
    let upper = issuer.resource().replacen("http://", "HTTP://", 1);
    issuer
        .token(
            &[("grant_type", "client_credentials"), ("resource", &upper)],
            basic,
        )
        .await
        .assert_ok();

    // Malformed bodies.
    let long = "x".repeat(20_000);
    for (content_type, body) in [
        (
            "application/json",
            json!({"grant_type": "client_credentials"}).to_string(),
        ),
        ("text/plain", "grant_type=client_credentials".to_owned()),
        (
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&grant_type=password".to_owned(),
        ),
        (
            "application/x-www-form-urlencoded",
            "\u{0}\u{ff}garbage%zz".to_owned(),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("grant_type=client_credentials&scope={long}"),
        ),
        ("application/x-www-form-urlencoded", "a=1&".repeat(100)),
    ] {
        let refused = issuer.post_token(content_type, body.clone(), basic).await;
        refused.assert_error(400, "invalid_request");
    }
    let get = issuer
        .http
        .get(format!("{}/token", issuer.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(answer(get).await.body["error"], "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_is_refused() {
    // The code lifetime is 60 s; a hidden flag shortens it for this test.
    let issuer = Issuer::start_with(&["--dev-issuer-code-lifetime-seconds", "1"]);
    let client_id = issuer.public_client().await;
    let (verifier, challenge) = pkce();
    let code = issuer.code(&client_id, &challenge, "mcp").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    issuer
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &client_id),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_out_file_still_holds_an_every_scope_token_for_the_dev_user() {
    let issuer = Issuer::start();
    let token = issuer.server.token.clone().unwrap();
    assert_eq!(jwt_parts(&token).0["typ"], "at+jwt");
    let claims = issuer.verified_claims(&token).await;
    assert_eq!(claims["sub"], "dev-user");
    assert_eq!(claims["scope"], "mcp mcp:admin");
    assert!(claims["jti"].is_string());
    assert_eq!(issuer.whoami(&token).await["subject"], "dev-user");
}

#[test]
fn the_development_issuer_refuses_a_public_address_without_the_flag() {
    let binary = support::example_binary();
    // The port is taken: an example that bound before refusing would fail
    // with "cannot listen" (exit 1) instead.
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let refused = std::process::Command::new(&binary)
        .args(["--addr", &addr, "--preset", "remote"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--dev-issuer-on-public-address"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot listen"), "{stderr}");
    assert!(refused.stdout.is_empty(), "no endpoint line");

    // With the flag it goes on, to the taken port.
    let meant = std::process::Command::new(&binary)
        .args([
            "--addr",
            &addr,
            "--preset",
            "remote",
            "--dev-issuer-on-public-address",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&meant.stderr);
    assert_eq!(meant.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );

    // A real issuer, or another preset, has no development issuer to refuse.
    let local = std::process::Command::new(&binary)
        .args(["--addr", &addr, "--preset", "local"])
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&local.stderr).contains("cannot listen"));
    drop(taken);
}
