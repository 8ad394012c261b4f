//! RFC 7662 token introspection, for opaque access tokens.

use std::collections::BTreeSet;
use std::fmt;
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
/// [`require_audience(false)`](IntrospectionVerifierBuilder::require_audience)
/// says otherwise — an authorization server serving several resource servers
/// answers `active` for their tokens too, and accepting those is the token
/// passthrough MCP forbids. With [`issuer`](IntrospectionVerifierBuilder::issuer)
/// set, `iss` must be that issuer. `nbf` and `exp` are honoured (integers or
/// floats, with a [`leeway`](IntrospectionVerifierBuilder::leeway)), in case
/// the endpoint calls a token active outside its validity window.
///
/// ```
/// use mcp_bearer_auth::IntrospectionVerifier;
///
/// let verifier = IntrospectionVerifier::builder(
///     "https://auth.example.com/oauth/introspect",
///     "mcp-server",
///     "client secret",
///     "https://mcp.example.com/mcp",
/// )
/// .issuer("https://auth.example.com")
/// .build()?;
/// # let _ = verifier;
///
/// // A setting that cannot work is refused when built, naming the setting.
/// let error = IntrospectionVerifier::builder("ftp://auth.example.com/introspect", "mcp-server", "secret", "https://mcp.example.com/mcp")
///     .build()
///     .unwrap_err();
/// assert!(error.to_string().starts_with("endpoint:"));
/// # Ok::<_, mcp_bearer_auth::IntrospectionVerifierConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct IntrospectionVerifier {
    config: Config,
    client: reqwest::Client,
}

/// What an [`IntrospectionVerifierBuilder`] collects and a built
/// [`IntrospectionVerifier`] checks against.
#[derive(Clone)]
struct Config {
    endpoint: String,
    client_id: String,
    client_secret: String,
    resource: String,
    positive_cache: Duration,
    require_audience: bool,
    issuer: Option<String>,
    leeway: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client secret is left out: Debug output ends up in logs.
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("resource", &self.resource)
            .field("positive_cache", &self.positive_cache)
            .field("require_audience", &self.require_audience)
            .field("issuer", &self.issuer)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// How long one introspection request may take before the verifier answers
/// `503`: a hung endpoint must not hold requests forever.
const INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// An [`IntrospectionVerifier`] setting that cannot work; the message starts
/// with the setting's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionVerifierConfigError(String);

impl fmt::Display for IntrospectionVerifierConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IntrospectionVerifierConfigError {}

/// Configures an [`IntrospectionVerifier`]; start with
/// [`IntrospectionVerifier::builder`].
#[derive(Debug, Clone)]
#[must_use = "call .build() to get the verifier"]
pub struct IntrospectionVerifierBuilder {
    config: Config,
}

impl IntrospectionVerifier {
    /// Introspects at `endpoint` (an http(s) URL) as client `client_id`
    /// with `client_secret`; active tokens must be meant for `resource`
    /// (their `aud` includes it).
    pub fn builder(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        resource: impl Into<String>,
    ) -> IntrospectionVerifierBuilder {
        IntrospectionVerifierBuilder {
            config: Config {
                endpoint: endpoint.into(),
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                resource: resource.into(),
                positive_cache: Duration::from_secs(30),
                require_audience: true,
                issuer: None,
                leeway: Duration::from_secs(30),
            },
        }
    }
}

impl IntrospectionVerifierBuilder {
    /// How long an active answer is reused (default 30 s).
    pub fn positive_cache(mut self, ttl: Duration) -> Self {
        self.config.positive_cache = ttl;
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
        self.config.require_audience = required;
        self
    }

    /// The issuer active answers must name in `iss` (exactly). Unset (the
    /// default), `iss` is not checked: the endpoint is the issuer's own.
    /// Set, an answer without `iss` is refused too.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.config.issuer = Some(issuer.into());
        self
    }

    /// Clock skew allowed on `exp` and `nbf` (default 30 s, as for JWTs).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.config.leeway = leeway;
        self
    }

    /// Checks the settings and builds the verifier. Refused, naming the
    /// setting: an `endpoint` that is not an absolute http(s) URL, an empty
    /// `client_id` or `client_secret` (RFC 7662 endpoints authenticate their
    /// callers), a `resource` that is not an absolute http(s) URI, an empty
    /// `issuer`.
    pub fn build(self) -> Result<IntrospectionVerifier, IntrospectionVerifierConfigError> {
        let refuse = |message: String| Err(IntrospectionVerifierConfigError(message));
        if !is_http_url(&self.config.endpoint) {
            return refuse(format!(
                "endpoint: {:?} is not an absolute http(s) URL",
                self.config.endpoint
            ));
        }
        if self.config.client_id.is_empty() {
            return refuse("client_id: must not be empty".into());
        }
        if self.config.client_secret.is_empty() {
            return refuse(
                "client_secret: must not be empty (the introspection endpoint authenticates this server)"
                    .into(),
            );
        }
        let Some(resource) = canonical_resource_uri(&self.config.resource) else {
            return refuse(format!(
                "resource: {:?} is not an absolute http(s) URI",
                self.config.resource
            ));
        };
        if self.config.issuer.as_deref() == Some("") {
            return refuse("issuer: must not be empty (leave it unset not to check iss)".into());
        }
        let client = match reqwest::Client::builder()
            .timeout(INTROSPECTION_TIMEOUT)
            .build()
        {
            Ok(client) => client,
            Err(error) => return refuse(format!("client: the HTTP client cannot start: {error}")),
        };
        Ok(IntrospectionVerifier {
            config: Config {
                resource,
                ..self.config
            },
            client,
        })
    }
}

/// An absolute http(s) URL with a host: what reqwest can POST to.
fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
}

impl IntrospectionVerifier {
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
            .post(&self.config.endpoint)
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| unavailable(format!("POST {}: {error}", self.config.endpoint)))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "POST {}: {}",
                self.config.endpoint,
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
                self.config.endpoint
            ))
        })
    }

    /// Refuses an answer whose `aud` does not include this server, or that
    /// names none while one is required.
    fn check_audience(&self, answer: &Map<String, Value>) -> Result<(), VerifyError> {
        let audiences: Vec<&str> = match answer.get("aud") {
            None | Some(Value::Null) if self.config.require_audience => {
                return Err(VerifyError::Invalid(format!(
                    "it names no audience, so it may be meant for another server; \
                     this server accepts only tokens issued for it ({})",
                    self.config.resource
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
            .any(|audience| audience_matches(audience, &self.config.resource))
        {
            Ok(())
        } else {
            Err(VerifyError::Invalid(format!(
                "the token's audience does not include this server ({})",
                self.config.resource
            )))
        }
    }

    /// Refuses an answer whose `iss` is not the configured issuer.
    fn check_issuer(&self, answer: &Map<String, Value>) -> Result<(), VerifyError> {
        let Some(expected) = &self.config.issuer else {
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
                    endpoint = %self.config.endpoint,
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
        let expires_at = check_validity_window(&answer, self.config.leeway)?;
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
        Some(self.config.positive_cache)
    }
}
