use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

use crate::pattern::{HostAndPort, HostPattern, InvalidHostOrOrigin, Origin, OriginPattern};

/// The hosts and origins a server accepts: one value that configures both the
/// origin guard and (later) the CORS preset, so the two can never disagree.
///
/// Build one with [`Allowlist::builder`], or take a preset:
/// [`Allowlist::localhost`] for a server on the user's own machine.
///
/// ```
/// use mcp_origin_guard::Allowlist;
///
/// let allowlist = Allowlist::builder()
///     .allow_public_url("https://mcp.example.com")
///     .allow_origin("https://*.example.com")
///     .build()
///     .unwrap();
/// assert!(allowlist.allows_host(&"mcp.example.com".parse().unwrap()));
/// assert!(allowlist.allows_host(&"mcp.example.com:443".parse().unwrap()));
/// assert!(allowlist.allows_origin(&"https://app.example.com".parse().unwrap()));
///
/// // Nothing allowed is a configuration error, never a guard that fails open.
/// assert!(Allowlist::builder().build().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Allowlist {
    inner: Arc<Patterns>,
}

#[derive(Debug)]
struct Patterns {
    hosts: Vec<HostPattern>,
    origins: Vec<OriginPattern>,
    null_origin: bool,
    any_origin: bool,
}

impl Allowlist {
    /// Starts an empty allowlist.
    pub fn builder() -> AllowlistBuilder {
        AllowlistBuilder::default()
    }

    /// A server on the user's own machine: hosts `localhost`, `127.0.0.1` and
    /// `[::1]` with any port (or none), and the `http` and `https` origins of the
    /// same, any port.
    pub fn localhost() -> Allowlist {
        match Allowlist::builder().allow_localhost().build() {
            Ok(allowlist) => allowlist,
            // The patterns above are constants that parse; this arm is unreachable.
            Err(error) => unreachable!("the localhost preset is valid: {error}"),
        }
    }

    /// Whether a `Host` (or URI authority) is allowed.
    pub fn allows_host(&self, host: &HostAndPort) -> bool {
        self.inner.hosts.iter().any(|pattern| pattern.matches(host))
    }

    /// Whether a parsed `Origin` is allowed.
    pub fn allows_origin(&self, origin: &Origin) -> bool {
        self.inner.any_origin
            || self
                .inner
                .origins
                .iter()
                .any(|pattern| pattern.matches(origin))
    }

    /// Whether every well-formed origin is allowed
    /// ([`AllowlistBuilder::allow_any_origin`]).
    pub fn allows_any_origin(&self) -> bool {
        self.inner.any_origin
    }

    /// Whether the literal origin `null` (sandboxed iframes, `file:` pages) is allowed.
    pub fn allows_null_origin(&self) -> bool {
        self.inner.null_origin
    }

    /// Whether a raw `Origin` header value is allowed: `null` if so configured,
    /// else a well-formed origin that matches a pattern. What the CORS preset asks.
    pub fn allows_origin_value(&self, value: &HeaderValue) -> bool {
        match value.to_str() {
            Ok("null") => self.allows_null_origin(),
            Ok(text) => text
                .parse::<Origin>()
                .is_ok_and(|origin| self.allows_origin(&origin)),
            Err(_) => false,
        }
    }

    /// The allowed-host patterns.
    pub fn host_patterns(&self) -> &[HostPattern] {
        &self.inner.hosts
    }

    /// The allowed-origin patterns.
    pub fn origin_patterns(&self) -> &[OriginPattern] {
        &self.inner.origins
    }
}

/// Builds an [`Allowlist`]; every pattern is parsed by [`build`](Self::build),
/// which names the first bad one.
#[derive(Debug, Clone, Default)]
#[must_use = "call .build() to get the allowlist"]
pub struct AllowlistBuilder {
    hosts: Vec<String>,
    origins: Vec<String>,
    public_urls: Vec<String>,
    null_origin: bool,
    any_origin: bool,
}

impl AllowlistBuilder {
    /// Allows a host pattern (see [`HostPattern`]): `example.com`,
    /// `example.com:8443`, `example.com:*`, `*.example.com:*`, `[::1]:*`.
    pub fn allow_host(mut self, pattern: impl Into<String>) -> Self {
        self.hosts.push(pattern.into());
        self
    }

    /// Allows what [`Allowlist::localhost`] allows: hosts `localhost`,
    /// `127.0.0.1` and `[::1]` with any port (or none), and their `http` and
    /// `https` origins, any port. Add it when you allow more than the local
    /// preset's default, so local clients keep working on every port.
    ///
    /// ```
    /// use mcp_origin_guard::{Allowlist, HostAndPort};
    ///
    /// let allowlist = Allowlist::builder()
    ///     .allow_origin("https://app.example.com")
    ///     .allow_localhost()
    ///     .build()
    ///     .unwrap();
    /// let host: HostAndPort = "localhost:8080".parse().unwrap();
    /// assert!(allowlist.allows_host(&host));
    /// ```
    pub fn allow_localhost(mut self) -> Self {
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            self = self
                .allow_host(format!("{host}:*"))
                .allow_origin(format!("http://{host}:*"))
                .allow_origin(format!("https://{host}:*"));
        }
        self
    }

    /// Allows several host patterns.
    pub fn allow_hosts<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hosts.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Allows an origin pattern (see [`OriginPattern`]): `https://app.example.com`,
    /// `http://localhost:*`, `https://*.example.com`.
    pub fn allow_origin(mut self, pattern: impl Into<String>) -> Self {
        self.origins.push(pattern.into());
        self
    }

    /// Allows several origin patterns.
    pub fn allow_origins<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Allows the host and origin of the URL clients use to reach the server,
    /// e.g. `https://mcp.example.com` or `http://10.0.0.5:8080/mcp`: its host with
    /// its port (and, for the scheme's default port, also without one), and its
    /// origin. A path is ignored; userinfo, query or fragment is an error.
    pub fn allow_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_urls.push(url.into());
        self
    }

    /// Allows the literal origin `null`, sent by sandboxed iframes and `file:`
    /// pages. Off by default: any page can produce a `null` origin.
    pub fn allow_null_origin(mut self, allow: bool) -> Self {
        self.null_origin = allow;
        self
    }

    /// Allows every well-formed origin: any web page may call the server
    /// (only `Host` is still checked, which is what stops DNS rebinding). For a
    /// public API whose callers authenticate with bearer tokens. Off by default.
    /// The literal `null` origin still needs [`allow_null_origin`](Self::allow_null_origin),
    /// and the CORS preset then answers `Access-Control-Allow-Origin: *`, which
    /// browsers refuse to combine with credentials (a build error there).
    pub fn allow_any_origin(mut self, allow: bool) -> Self {
        self.any_origin = allow;
        self
    }

    /// Parses every pattern. Fails on the first pattern that does not parse, and
    /// when no host is allowed (a guard that admits nothing is a mistake, and one
    /// that admits everything is no guard).
    pub fn build(self) -> Result<Allowlist, AllowlistConfigError> {
        let mut hosts = parse_all(&self.hosts, AllowlistSetting::Host)?;
        let mut origins = parse_all(&self.origins, AllowlistSetting::Origin)?;
        for url in &self.public_urls {
            let (url_hosts, url_origin) = public_url_patterns(url)?;
            hosts.extend(url_hosts);
            origins.push(url_origin);
        }
        if hosts.is_empty() {
            return Err(AllowlistConfigError::NothingAllowed);
        }
        Ok(Allowlist {
            inner: Arc::new(Patterns {
                hosts,
                origins,
                null_origin: self.null_origin,
                any_origin: self.any_origin,
            }),
        })
    }
}

fn parse_all<T: std::str::FromStr<Err = InvalidHostOrOrigin>>(
    patterns: &[String],
    setting: AllowlistSetting,
) -> Result<Vec<T>, AllowlistConfigError> {
    patterns
        .iter()
        .map(|pattern| {
            pattern
                .parse()
                .map_err(|reason| AllowlistConfigError::InvalidPattern {
                    setting,
                    pattern: pattern.clone(),
                    reason,
                })
        })
        .collect()
}

/// The host patterns and the origin pattern a public URL stands for: the host
/// as written, the same host with the scheme's default port spelled out or left
/// out, and the URL's origin.
fn public_url_patterns(
    url: &str,
) -> Result<(Vec<HostPattern>, OriginPattern), AllowlistConfigError> {
    let invalid = |reason| AllowlistConfigError::InvalidPattern {
        setting: AllowlistSetting::PublicUrl,
        pattern: url.to_owned(),
        reason,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or(invalid(InvalidHostOrOrigin::new(
            "a public URL has the form scheme://host[:port][/path]",
        )))?;
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if path.contains(['?', '#']) {
        return Err(invalid(InvalidHostOrOrigin::new(
            "a public URL has no query or fragment",
        )));
    }
    let origin: Origin = format!("{scheme}://{authority}").parse().map_err(invalid)?;
    let host: HostAndPort = authority.parse().map_err(invalid)?;
    let default_port = origin.default_port();
    let mut spellings = vec![host.clone()];
    match (host.port(), default_port) {
        (None, Some(port)) => spellings.push(host.with_port(Some(port))),
        (Some(port), Some(default)) if port == default => spellings.push(host.with_port(None)),
        _ => {}
    }
    let hosts = spellings
        .iter()
        .map(|spelling| spelling.to_string().parse().map_err(invalid))
        .collect::<Result<_, _>>()?;
    let origin_pattern = origin.to_string().parse().map_err(invalid)?;
    Ok((hosts, origin_pattern))
}

/// Which setting a bad pattern was given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowlistSetting {
    /// [`AllowlistBuilder::allow_host`].
    Host,
    /// [`AllowlistBuilder::allow_origin`].
    Origin,
    /// [`AllowlistBuilder::allow_public_url`].
    PublicUrl,
}

impl fmt::Display for AllowlistSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllowlistSetting::Host => "allow_host",
            AllowlistSetting::Origin => "allow_origin",
            AllowlistSetting::PublicUrl => "allow_public_url",
        })
    }
}

/// Why an [`Allowlist`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AllowlistConfigError {
    /// A pattern did not parse.
    InvalidPattern {
        /// The setting it was given to.
        setting: AllowlistSetting,
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: InvalidHostOrOrigin,
    },
    /// No host is allowed.
    NothingAllowed,
}

impl fmt::Display for AllowlistConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowlistConfigError::InvalidPattern {
                setting,
                pattern,
                reason,
            } => write!(f, "{setting}({pattern:?}): {reason}"),
            AllowlistConfigError::NothingAllowed => f.write_str(
                "the origin guard allows no host: add allow_host(...) or allow_public_url(...), or use Allowlist::localhost()",
            ),
        }
    }
}

impl std::error::Error for AllowlistConfigError {}
