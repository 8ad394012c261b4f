//! What the preset configures, and the combinations it refuses to build.

use std::fmt;
use std::time::Duration;

use http::header::WWW_AUTHENTICATE;
use http::{HeaderName, Method};
use mcp_guard_core::headers::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use mcp_origin_guard::Allowlist;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

use crate::layer::McpCorsLayer;
use crate::request_headers::RequestHeaderPolicy;

/// How long a browser may cache a preflight answer by default: two hours,
/// Chromium's own upper bound (Firefox allows a day, Safari less).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// The methods of the Streamable HTTP transport: `POST` messages, the `GET`
/// stream, `DELETE` to end a session, and `OPTIONS` itself.
pub(crate) const MCP_METHODS: [Method; 4] =
    [Method::GET, Method::POST, Method::DELETE, Method::OPTIONS];

/// The response headers a browser client must be able to read: the session id
/// it sends back, the negotiated version, and the auth challenge that tells it
/// where to get a token.
const EXPOSED_HEADERS: [HeaderName; 3] = [MCP_SESSION_ID, MCP_PROTOCOL_VERSION, WWW_AUTHENTICATE];

/// Configures an [`McpCorsLayer`]; start with [`McpCorsLayer::builder`].
///
/// [`build`](Self::build) refuses what browsers would refuse: credentials with
/// a wildcard origin or wildcard headers, and header names that are not names.
#[derive(Debug, Clone)]
#[must_use = "call .build() to get the layer"]
pub struct McpCorsLayerBuilder {
    allowlist: Allowlist,
    allow_credentials: bool,
    max_age: Duration,
    allow_private_network: bool,
    extra_request_headers: Vec<String>,
    any_request_header: bool,
    extra_exposed_headers: Vec<String>,
}

impl McpCorsLayerBuilder {
    pub(crate) fn new(allowlist: Allowlist) -> Self {
        McpCorsLayerBuilder {
            allowlist,
            allow_credentials: false,
            max_age: DEFAULT_MAX_AGE,
            allow_private_network: false,
            extra_request_headers: Vec::new(),
            any_request_header: false,
            extra_exposed_headers: Vec::new(),
        }
    }

    /// Answers `Access-Control-Allow-Credentials: true`, so pages may send
    /// cookies or TLS client certificates. Off by default: an MCP client sends
    /// its bearer token in `Authorization`, which is a request header, not a
    /// CORS credential.
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.allow_credentials = allow;
        self
    }

    /// How long browsers may cache a preflight answer ([`DEFAULT_MAX_AGE`] by
    /// default; `Duration::ZERO` asks for a preflight before every request).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Answers Chromium's Private Network Access preflights
    /// (`Access-Control-Request-Private-Network: true`) with a grant, so a page
    /// on a public origin in the allowlist may call a server on a private
    /// address. Off by default.
    pub fn allow_private_network(mut self, allow: bool) -> Self {
        self.allow_private_network = allow;
        self
    }

    /// Also grants these request headers (e.g. `traceparent`, `x-api-key`), on
    /// top of the MCP ones.
    pub fn allow_request_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_request_headers
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Grants every request header a preflight from an allowed origin asks for.
    /// The grant mirrors the requested names rather than answering `*`, because
    /// `*` does not cover `Authorization`. Refused with credentials.
    pub fn allow_any_request_header(mut self, allow: bool) -> Self {
        self.any_request_header = allow;
        self
    }

    /// Also exposes these response headers to scripts, on top of
    /// `mcp-session-id`, `mcp-protocol-version` and `www-authenticate`.
    pub fn expose_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_exposed_headers
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Checks the configuration and builds the layer.
    pub fn build(self) -> Result<McpCorsLayer, McpCorsConfigError> {
        if self.allow_credentials && self.allowlist.allows_any_origin() {
            return Err(McpCorsConfigError::CredentialsWithAnyOrigin);
        }
        if self.allow_credentials && self.any_request_header {
            return Err(McpCorsConfigError::CredentialsWithAnyRequestHeader);
        }
        let extra_request = parse_names(
            &self.extra_request_headers,
            McpCorsSetting::AllowRequestHeaders,
        )?;
        let extra_exposed =
            parse_names(&self.extra_exposed_headers, McpCorsSetting::ExposeHeaders)?;

        let policy = RequestHeaderPolicy::new(
            self.allowlist.clone(),
            extra_request,
            self.any_request_header,
        );
        let mcp = self.mcp_endpoint_policy(extra_exposed);
        let metadata = metadata_document_policy(self.max_age);
        Ok(McpCorsLayer::from_parts(mcp, metadata, policy))
    }

    fn mcp_endpoint_policy(&self, extra_exposed: Vec<HeaderName>) -> CorsLayer {
        let origins = if self.allowlist.allows_any_origin() {
            AllowOrigin::any()
        } else {
            let allowlist = self.allowlist.clone();
            AllowOrigin::predicate(move |origin, _| allowlist.allows_origin_value(origin))
        };
        let exposed: Vec<HeaderName> = EXPOSED_HEADERS.into_iter().chain(extra_exposed).collect();
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods(MCP_METHODS)
            // The request-header grant mirrors the preflight's list AFTER
            // `RequestHeaderPolicy` has cut it down to what is allowed: CORS cannot
            // express the `mcp-param-*` prefix any other way.
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(ExposeHeaders::list(exposed))
            .max_age(self.max_age)
            .allow_credentials(self.allow_credentials)
            .allow_private_network(self.allow_private_network)
    }
}

/// The RFC 9728 metadata document is public: any origin, `GET` only, no
/// credentials. `MCP-Protocol-Version` is granted because the TypeScript SDK
/// sends it on discovery requests.
fn metadata_document_policy(max_age: Duration) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET])
        .allow_headers([MCP_PROTOCOL_VERSION])
        .max_age(max_age)
}

fn parse_names(
    names: &[String],
    setting: McpCorsSetting,
) -> Result<Vec<HeaderName>, McpCorsConfigError> {
    names
        .iter()
        .map(|name| {
            let invalid = |reason| McpCorsConfigError::InvalidHeaderName {
                setting,
                name: name.clone(),
                reason,
            };
            if name.trim() == "*" {
                return Err(invalid(
                    "`*` is not a header name; use allow_any_request_header(true) to grant every requested header",
                ));
            }
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid("header names are HTTP tokens: letters, digits and !#$%&'*+-.^_`|~"))
        })
        .collect()
}

/// Which builder setting a bad value was given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpCorsSetting {
    /// [`McpCorsLayerBuilder::allow_request_headers`].
    AllowRequestHeaders,
    /// [`McpCorsLayerBuilder::expose_headers`].
    ExposeHeaders,
}

impl fmt::Display for McpCorsSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            McpCorsSetting::AllowRequestHeaders => "allow_request_headers",
            McpCorsSetting::ExposeHeaders => "expose_headers",
        })
    }
}

/// A CORS configuration browsers would refuse, or a value that is not a header
/// name. Returned by [`McpCorsLayerBuilder::build`]; never a panic at request time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpCorsConfigError {
    /// `allow_credentials(true)` with an allowlist that allows any origin:
    /// browsers refuse `Access-Control-Allow-Origin: *` with credentials.
    CredentialsWithAnyOrigin,
    /// `allow_credentials(true)` with `allow_any_request_header(true)`.
    CredentialsWithAnyRequestHeader,
    /// A header name given to a setting does not parse.
    InvalidHeaderName {
        /// The setting it was given to.
        setting: McpCorsSetting,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for McpCorsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            McpCorsConfigError::CredentialsWithAnyOrigin => f.write_str(
                "allow_credentials(true) cannot be combined with an allowlist that allows any origin \
                 (allow_any_origin): browsers refuse `Access-Control-Allow-Origin: *` with credentials; \
                 list the origins with allow_origin(...) instead",
            ),
            McpCorsConfigError::CredentialsWithAnyRequestHeader => f.write_str(
                "allow_credentials(true) cannot be combined with allow_any_request_header(true): \
                 with credentials, name the extra request headers with allow_request_headers([...])",
            ),
            McpCorsConfigError::InvalidHeaderName { setting, name, reason } => {
                write!(f, "{setting}: {name:?} is not a valid header name: {reason}")
            }
        }
    }
}

impl std::error::Error for McpCorsConfigError {}
