//! RFC 7662 token introspection, for opaque access tokens.

use std::collections::BTreeSet;
use std::time::Duration;

use mcp_guard_core::Principal;
use serde_json::{Map, Value};

use crate::resource::{audience_matches, canonical_resource_uri};
use crate::verifier::{TokenVerifier, VerifyError, check_validity_window};

/// Asks the authorization server's introspection endpoint whether a token is
/// active (RFC 7662), authenticating with HTTP Basic client credentials. An
/// active answer is cached briefly (default 30 s, never past `exp`) by the
/// layer; an endpoint that cannot answer means `503`, never a guess.
///
/// `active: true` alone is not enough. The answer must also say the token was
/// issued for this server: its `aud` must include the resource URI (compared
/// canonically), and an answer naming no audience is refused unless
/// [`require_audience(false)`](Self::require_audience) says otherwise — an
/// authorization server serving several resource servers answers `active`
/// for their tokens too, and accepting those is the token passthrough MCP
/// forbids. With [`issuer`](Self::issuer) set, `iss` must be that issuer.
/// `nbf` and `exp` are honoured (integers or floats, with a
/// [`leeway`](Self::leeway)), in case the endpoint calls a token active
/// outside its validity window.
///
/// ```
/// use mcp_bearer_auth::IntrospectionVerifier;
///
/// let verifier = IntrospectionVerifier::new(
///     "https://auth.example.com/oauth/introspect",
///     "mcp-server",
///     "client secret",
///     "https://mcp.example.com/mcp",
/// )
/// .issuer("https://auth.example.com");
/// # let _ = verifier;
/// ```
#[derive(Debug, Clone)]
pub struct IntrospectionVerifier {
    endpoint: String,
    client_id: String,
    client_secret: String,
    resource: String,
    positive_cache: Duration,
    require_audience: bool,
    issuer: Option<String>,
    leeway: Duration,
    client: reqwest::Client,
}

impl IntrospectionVerifier {
    /// Introspects at `endpoint` as client `client_id`; active tokens must be
    /// meant for `resource` (their `aud` includes it).
    pub fn new(endpoint: &str, client_id: &str, client_secret: &str, resource: &str) -> Self {
        IntrospectionVerifier {
            endpoint: endpoint.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            resource: canonical_resource_uri(resource).unwrap_or_else(|| resource.to_owned()),
            positive_cache: Duration::from_secs(30),
            require_audience: true,
            issuer: None,
            leeway: Duration::from_secs(30),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// How long an active answer is reused (default 30 s).
    pub fn positive_cache(mut self, ttl: Duration) -> Self {
        self.positive_cache = ttl;
        self
    }

    /// Whether an active answer must name an audience (default `true`).
    ///
    /// An answer without `aud` does not say whom the token is for, so by
    /// default it is refused. Turn this off only when your authorization
    /// server never puts `aud` in introspection answers *and* issues tokens
    /// for this server alone; an answer that names audiences must still
    /// include this server.
    pub fn require_audience(mut self, required: bool) -> Self {
        self.require_audience = required;
        self
    }

    /// The issuer active answers must name in `iss` (exactly). Unset (the
    /// default), `iss` is not checked: the endpoint is the issuer's own.
    /// Set, an answer without `iss` is refused too.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Clock skew allowed on `exp` and `nbf` (default 30 s, as for JWTs).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    async fn introspect(&self, token: &str) -> Result<Map<String, Value>, VerifyError> {
        let unavailable = |reason: String| VerifyError::Unavailable {
            reason,
            retry_after: Duration::from_secs(5),
        };
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let response = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| unavailable(format!("POST {}: {error}", self.endpoint)))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "POST {}: {}",
                self.endpoint,
                response.status()
            )));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|_| {
            unavailable(format!(
                "{} answered something other than JSON",
                self.endpoint
            ))
        })
    }

    /// Refuses an answer whose `aud` does not include this server, or that
    /// names none while one is required.
    fn check_audience(&self, answer: &Map<String, Value>) -> Result<(), VerifyError> {
        let audiences: Vec<&str> = match answer.get("aud") {
            None | Some(Value::Null) if self.require_audience => {
                return Err(VerifyError::Invalid(format!(
                    "it names no audience, so it may be meant for another server; \
                     this server accepts only tokens issued for it ({})",
                    self.resource
                )));
            }
            None | Some(Value::Null) => return Ok(()),
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            // Neither a string nor a list: it matches nothing.
            Some(_) => Vec::new(),
        };
        if audiences
            .iter()
            .any(|audience| audience_matches(audience, &self.resource))
        {
            Ok(())
        } else {
            Err(VerifyError::Invalid(format!(
                "the token's audience does not include this server ({})",
                self.resource
            )))
        }
    }

    /// Refuses an answer whose `iss` is not the configured issuer.
    fn check_issuer(&self, answer: &Map<String, Value>) -> Result<(), VerifyError> {
        let Some(expected) = &self.issuer else {
            return Ok(());
        };
        match answer.get("iss").and_then(Value::as_str) {
            Some(issuer) if issuer == expected => Ok(()),
            Some(_) => Err(VerifyError::Invalid(
                "it was issued by another issuer".into(),
            )),
            None => {
                // Every token fails this way when the endpoint omits iss:
                // the operator's setting, not the client's token, is wrong.
                tracing::warn!(
                    endpoint = %self.endpoint,
                    "introspection answer has no iss while an issuer is configured; unset IntrospectionVerifier::issuer if this server omits it"
                );
                Err(VerifyError::Invalid(format!(
                    "its introspection answer names no issuer (expected {expected})"
                )))
            }
        }
    }
}

impl TokenVerifier for IntrospectionVerifier {
    async fn verify(&self, token: &str) -> Result<Principal, VerifyError> {
        let answer = self.introspect(token).await?;
        if answer.get("active").and_then(Value::as_bool) != Some(true) {
            return Err(VerifyError::Invalid(
                "it is not active (revoked, expired or unknown)".into(),
            ));
        }
        self.check_audience(&answer)?;
        self.check_issuer(&answer)?;
        let expires_at = check_validity_window(&answer, self.leeway)?;
        let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
        let scopes: BTreeSet<String> = text("scope")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut principal = Principal::new().with_scopes(scopes);
        if let Some(issuer) = text("iss") {
            principal = principal.with_issuer(issuer);
        }
        if let Some(subject) = text("sub") {
            principal = principal.with_subject(subject);
        }
        if let Some(client) = text("client_id") {
            principal = principal.with_client_id(client);
        }
        if let Some(expires_at) = expires_at {
            principal = principal.with_expires_at(expires_at);
        }
        Ok(principal.with_claims(answer))
    }

    fn max_cache_ttl(&self) -> Option<Duration> {
        Some(self.positive_cache)
    }
}
