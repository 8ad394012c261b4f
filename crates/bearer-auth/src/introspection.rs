//! RFC 7662 token introspection, for opaque access tokens.

use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

use mcp_guard_core::Principal;
use serde_json::{Map, Value};

use crate::resource::{audience_matches, canonical_resource_uri};
use crate::verifier::{TokenVerifier, VerifyError};

/// Asks the authorization server's introspection endpoint whether a token is
/// active (RFC 7662), authenticating with HTTP Basic client credentials. An
/// active answer is cached briefly (default 30 s, never past `exp`) by the
/// layer; an endpoint that cannot answer means `503`, never a guess.
///
/// ```
/// use mcp_bearer_auth::IntrospectionVerifier;
///
/// let verifier = IntrospectionVerifier::new(
///     "https://auth.example.com/oauth/introspect",
///     "mcp-server",
///     "client secret",
///     "https://mcp.example.com/mcp",
/// );
/// # let _ = verifier;
/// ```
#[derive(Debug, Clone)]
pub struct IntrospectionVerifier {
    endpoint: String,
    client_id: String,
    client_secret: String,
    resource: String,
    positive_cache: Duration,
    client: reqwest::Client,
}

impl IntrospectionVerifier {
    /// Introspects at `endpoint` as client `client_id`; active tokens must be
    /// meant for `resource` when they name an audience.
    pub fn new(endpoint: &str, client_id: &str, client_secret: &str, resource: &str) -> Self {
        IntrospectionVerifier {
            endpoint: endpoint.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            resource: canonical_resource_uri(resource).unwrap_or_else(|| resource.to_owned()),
            positive_cache: Duration::from_secs(30),
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
}

impl TokenVerifier for IntrospectionVerifier {
    async fn verify(&self, token: &str) -> Result<Principal, VerifyError> {
        let answer = self.introspect(token).await?;
        if answer.get("active").and_then(Value::as_bool) != Some(true) {
            return Err(VerifyError::Invalid(
                "it is not active (revoked, expired or unknown)".into(),
            ));
        }
        let audiences: Vec<&str> = match answer.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.is_empty()
            && !audiences
                .iter()
                .any(|audience| audience_matches(audience, &self.resource))
        {
            return Err(VerifyError::Invalid(format!(
                "the token's audience does not include this server ({})",
                self.resource
            )));
        }
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
        if let Some(exp) = answer.get("exp").and_then(Value::as_u64) {
            // An `exp` past what SystemTime can hold is "never" in practice;
            // adding it would overflow (a panic, found by fuzzing).
            if let Some(expires_at) = UNIX_EPOCH.checked_add(Duration::from_secs(exp)) {
                principal = principal.with_expires_at(expires_at);
            }
        }
        Ok(principal.with_claims(answer))
    }

    fn max_cache_ttl(&self) -> Option<Duration> {
        Some(self.positive_cache)
    }
}
