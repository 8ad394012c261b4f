//! Parsed hosts, origins, and the patterns an allowlist is made of.
//!
//! Everything here is parsed, never prefix-matched: `127.0.0.1:*` is a host and a
//! port rule, so `127.0.0.1:80.evil.com` is not a port and fails to parse.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The longest DNS name, in bytes, without its trailing dot (RFC 1035).
const MAX_DOMAIN_LEN: usize = 253;
/// The longest DNS label, in bytes.
const MAX_LABEL_LEN: usize = 63;

/// A host as it appears in a `Host` header, a URI authority or an `Origin`:
/// a DNS name (lowercased, trailing dot removed), an IPv4 address, or an IPv6
/// address (bracketed on the wire).
///
/// An IPv4-mapped IPv6 address (`[::ffff:127.0.0.1]`) is an IPv6 host, not the
/// IPv4 one: it is allowed only when listed itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostName {
    /// A DNS name, lowercase, without a trailing dot.
    Domain(String),
    /// An IPv4 address in dotted-quad form.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Domain(name) => f.write_str(name),
            HostName::Ipv4(address) => write!(f, "{address}"),
            HostName::Ipv6(address) => write!(f, "[{address}]"),
        }
    }
}

/// Why a host, origin or pattern could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHostOrOrigin(&'static str);

impl InvalidHostOrOrigin {
    pub(crate) const fn new(reason: &'static str) -> Self {
        InvalidHostOrOrigin(reason)
    }
}

impl fmt::Display for InvalidHostOrOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for InvalidHostOrOrigin {}

/// A host with an optional port: the value of a `Host` header or of a URI
/// authority (userinfo is not allowed).
///
/// ```
/// use mcp_origin_guard::HostAndPort;
///
/// let parsed: HostAndPort = "LocalHost.:8080".parse().unwrap();
/// assert_eq!(parsed.to_string(), "localhost:8080");
/// assert!("127.0.0.1:80.evil.com".parse::<HostAndPort>().is_err());
/// assert!("[::1]:99999".parse::<HostAndPort>().is_err());
/// assert!("evil.com@localhost".parse::<HostAndPort>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostAndPort {
    host: HostName,
    port: Option<u16>,
}

impl HostAndPort {
    /// The host.
    pub fn host(&self) -> &HostName {
        &self.host
    }

    /// The port, when one was given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub(crate) fn with_port(&self, port: Option<u16>) -> HostAndPort {
        HostAndPort {
            host: self.host.clone(),
            port,
        }
    }
}

impl fmt::Display for HostAndPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl FromStr for HostAndPort {
    type Err = InvalidHostOrOrigin;

    fn from_str(text: &str) -> Result<Self, InvalidHostOrOrigin> {
        let (host, port) = split_host_port(text)?;
        let port = port.map(parse_port).transpose()?;
        Ok(HostAndPort {
            host: parse_host(host)?,
            port,
        })
    }
}

/// Splits `host[:port]` / `[v6][:port]` without interpreting either part.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), InvalidHostOrOrigin> {
    if text.is_empty() {
        return Err(InvalidHostOrOrigin("the host is empty"));
    }
    if text.starts_with('[') {
        let close = text.find(']').ok_or(InvalidHostOrOrigin(
            "an IPv6 address is missing its closing `]`",
        ))?;
        let (host, rest) = text.split_at(close + 1);
        return match rest {
            "" => Ok((host, None)),
            _ => match rest.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(InvalidHostOrOrigin(
                    "only `:port` may follow a bracketed IPv6 address",
                )),
            },
        };
    }
    match text.split_once(':') {
        None => Ok((text, None)),
        Some((_, port)) if port.contains(':') => Err(InvalidHostOrOrigin(
            "an IPv6 address must be in brackets, e.g. [::1]:8080",
        )),
        Some((host, port)) => Ok((host, Some(port))),
    }
}

/// A port: 1 to 5 ASCII digits without a leading zero, 1–65535.
fn parse_port(text: &str) -> Result<u16, InvalidHostOrOrigin> {
    const BAD_PORT: InvalidHostOrOrigin =
        InvalidHostOrOrigin("the port must be a number from 1 to 65535, without leading zeros");
    if text.is_empty()
        || text.len() > 5
        || text.starts_with('0')
        || !text.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(BAD_PORT);
    }
    match text.parse::<u32>() {
        Ok(port @ 1..=65535) => u16::try_from(port).map_err(|_| BAD_PORT),
        _ => Err(BAD_PORT),
    }
}

/// A host without port: `[v6]`, dotted-quad IPv4, or a DNS name.
fn parse_host(text: &str) -> Result<HostName, InvalidHostOrOrigin> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(InvalidHostOrOrigin(
            "an IPv6 address is missing its closing `]`",
        ))?;
        return inner.parse::<Ipv6Addr>().map(HostName::Ipv6).map_err(|_| {
            InvalidHostOrOrigin(
                "the text in brackets is not an IPv6 address (zone ids are not allowed)",
            )
        });
    }
    let name = text.strip_suffix('.').unwrap_or(text);
    if let Ok(address) = name.parse::<Ipv4Addr>() {
        return Ok(HostName::Ipv4(address));
    }
    validate_domain(name)?;
    Ok(HostName::Domain(name.to_ascii_lowercase()))
}

/// Checks a DNS name: labels of letters, digits, `-` and `_`, 1–63 bytes each,
/// 253 in all; the last label not numeric (browsers read such names as IPv4 in
/// shorthand, `127.1`, which must not slip past as a name).
fn validate_domain(name: &str) -> Result<(), InvalidHostOrOrigin> {
    if name.is_empty() {
        return Err(InvalidHostOrOrigin("the host name is empty"));
    }
    if name.len() > MAX_DOMAIN_LEN {
        return Err(InvalidHostOrOrigin(
            "the host name is longer than 253 bytes",
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(InvalidHostOrOrigin(
                "the host name has an empty label (`..`, or a leading dot)",
            ));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(InvalidHostOrOrigin(
                "a label of the host name is longer than 63 bytes",
            ));
        }
        if !label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        {
            return Err(InvalidHostOrOrigin(
                "the host name may hold only letters, digits, `-`, `_` and `.` (write internationalized names in punycode)",
            ));
        }
    }
    let last_label = name.rsplit('.').next().unwrap_or(name);
    if last_label.bytes().all(|byte| byte.is_ascii_digit())
        || (last_label.len() >= 2 && last_label[..2].eq_ignore_ascii_case("0x"))
    {
        return Err(InvalidHostOrOrigin(
            "the host looks like an IPv4 address but is not in dotted-quad form (a.b.c.d)",
        ));
    }
    Ok(())
}

/// A serialized origin (`scheme://host[:port]`, RFC 6454), as sent in the
/// `Origin` header. The port is compared by number, with the scheme's default
/// port filled in: `https://a` and `https://a:443` are the same origin.
///
/// ```
/// use mcp_origin_guard::Origin;
///
/// let explicit: Origin = "https://Example.com:443".parse().unwrap();
/// let implicit: Origin = "https://example.com".parse().unwrap();
/// assert_eq!(explicit, implicit);
/// assert!("https://example.com/path".parse::<Origin>().is_err());
/// assert!("null".parse::<Origin>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: HostName,
    effective_port: Option<u16>,
}

impl Origin {
    /// The scheme, lowercase.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host.
    pub fn host(&self) -> &HostName {
        &self.host
    }

    /// The port, or the scheme's default port when none was given (`None` for a
    /// scheme without a default and no port).
    pub fn effective_port(&self) -> Option<u16> {
        self.effective_port
    }

    /// The scheme's default port, if it has one (`http`, `https`, `ws`, `wss`).
    pub fn default_port(&self) -> Option<u16> {
        default_port(&self.scheme)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.effective_port {
            Some(port) if Some(port) != default_port(&self.scheme) => write!(f, ":{port}"),
            _ => Ok(()),
        }
    }
}

impl FromStr for Origin {
    type Err = InvalidHostOrOrigin;

    fn from_str(text: &str) -> Result<Self, InvalidHostOrOrigin> {
        let (scheme, authority) = split_scheme(text)?;
        let (host, port) = split_host_port(authority)?;
        let port = port.map(parse_port).transpose()?;
        Ok(Origin {
            host: parse_host(host)?,
            effective_port: port.or_else(|| default_port(&scheme)),
            scheme,
        })
    }
}

/// Splits `scheme://rest`, validating and lowercasing the scheme.
fn split_scheme(text: &str) -> Result<(String, &str), InvalidHostOrOrigin> {
    let (scheme, rest) = text.split_once("://").ok_or(InvalidHostOrOrigin(
        "an origin has the form scheme://host[:port]",
    ))?;
    let mut bytes = scheme.bytes();
    let valid = bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.'));
    if !valid {
        return Err(InvalidHostOrOrigin("the origin's scheme is not valid"));
    }
    if rest.contains(['/', '?', '#']) {
        return Err(InvalidHostOrOrigin(
            "an origin has no path, query or fragment",
        ));
    }
    Ok((scheme.to_ascii_lowercase(), rest))
}

/// The default port of the schemes browsers send origins for.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Which hosts a pattern admits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatcher {
    /// Exactly this host.
    Exact(HostName),
    /// Any host ending in `.{suffix}` (one or more labels before it), not the
    /// suffix itself.
    SubdomainsOf(String),
}

impl HostMatcher {
    fn parse(text: &str) -> Result<HostMatcher, InvalidHostOrOrigin> {
        match text.strip_prefix("*.") {
            Some(suffix) => {
                let HostName::Domain(suffix) = parse_host(suffix)? else {
                    return Err(InvalidHostOrOrigin(
                        "a `*.` wildcard needs a DNS name after it, not an IP address",
                    ));
                };
                if !suffix.contains('.') && suffix != "localhost" {
                    return Err(InvalidHostOrOrigin(
                        "a `*.` wildcard needs at least two labels after it (`*.example.com`): `*.com` would admit anyone's site",
                    ));
                }
                Ok(HostMatcher::SubdomainsOf(suffix))
            }
            None if text.contains('*') => Err(InvalidHostOrOrigin(
                "`*` is allowed only as a whole leftmost label (`*.example.com`) or as the port (`:*`)",
            )),
            None => parse_host(text).map(HostMatcher::Exact),
        }
    }

    fn matches(&self, host: &HostName) -> bool {
        match (self, host) {
            (HostMatcher::Exact(expected), host) => expected == host,
            (HostMatcher::SubdomainsOf(suffix), HostName::Domain(name)) => name
                .strip_suffix(suffix.as_str())
                .and_then(|prefix| prefix.strip_suffix('.'))
                .is_some_and(|labels| !labels.is_empty()),
            (HostMatcher::SubdomainsOf(_), _) => false,
        }
    }
}

impl fmt::Display for HostMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostMatcher::Exact(host) => write!(f, "{host}"),
            HostMatcher::SubdomainsOf(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

/// Which ports a pattern admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortMatcher {
    /// Any port, or none.
    Any,
    /// Exactly this port, or (`None`) no port.
    Exactly(Option<u16>),
}

impl PortMatcher {
    fn parse(text: Option<&str>) -> Result<PortMatcher, InvalidHostOrOrigin> {
        match text {
            None => Ok(PortMatcher::Exactly(None)),
            Some("*") => Ok(PortMatcher::Any),
            Some(port) => parse_port(port).map(|port| PortMatcher::Exactly(Some(port))),
        }
    }

    fn matches(self, port: Option<u16>) -> bool {
        match self {
            PortMatcher::Any => true,
            PortMatcher::Exactly(expected) => expected == port,
        }
    }
}

/// An allowed-host pattern, matched against the `Host` header (or URI
/// authority).
///
/// | pattern | admits |
/// |---|---|
/// | `example.com` | `example.com` with no port |
/// | `example.com:8443` | `example.com:8443` only |
/// | `example.com:*` | `example.com` with any port, or none |
/// | `*.example.com:*` | any subdomain (not `example.com` itself), any port |
/// | `127.0.0.1:*`, `[::1]:*` | the address, any port |
///
/// Hosts compare case-insensitively and without a trailing dot; ports compare as
/// numbers.
///
/// A wildcard needs two labels after it (`*.com` is refused), but the guard
/// knows no public-suffix list: `*.co.uk` or `*.github.io` parse, and admit
/// everyone's site under that suffix. Wildcard only a domain you control.
///
/// ```
/// use mcp_origin_guard::{HostAndPort, HostPattern};
///
/// let pattern: HostPattern = "*.example.com:*".parse().unwrap();
/// assert!(pattern.matches(&"api.EXAMPLE.com:8080".parse::<HostAndPort>().unwrap()));
/// assert!(!pattern.matches(&"example.com".parse::<HostAndPort>().unwrap()));
/// assert!(!pattern.matches(&"evilexample.com".parse::<HostAndPort>().unwrap()));
/// assert!("*".parse::<HostPattern>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: HostMatcher,
    port: PortMatcher,
}

impl HostPattern {
    /// Whether `candidate` is admitted by this pattern.
    pub fn matches(&self, candidate: &HostAndPort) -> bool {
        self.host.matches(&candidate.host) && self.port.matches(candidate.port)
    }
}

impl FromStr for HostPattern {
    type Err = InvalidHostOrOrigin;

    fn from_str(text: &str) -> Result<Self, InvalidHostOrOrigin> {
        let (host, port) = split_host_port(text)?;
        Ok(HostPattern {
            host: HostMatcher::parse(host)?,
            port: PortMatcher::parse(port)?,
        })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        match self.port {
            PortMatcher::Any => f.write_str(":*"),
            PortMatcher::Exactly(Some(port)) => write!(f, ":{port}"),
            PortMatcher::Exactly(None) => Ok(()),
        }
    }
}

/// An allowed-origin pattern, matched against the `Origin` header:
/// `scheme://host-pattern[:port|:*]`, with the scheme's default port filled in
/// on both sides (`https://example.com` admits `https://example.com:443`).
///
/// ```
/// use mcp_origin_guard::{Origin, OriginPattern};
///
/// let pattern: OriginPattern = "http://localhost:*".parse().unwrap();
/// assert!(pattern.matches(&"http://localhost:5173".parse::<Origin>().unwrap()));
/// assert!(!pattern.matches(&"https://localhost:5173".parse::<Origin>().unwrap()));
///
/// let pattern: OriginPattern = "https://*.example.com".parse().unwrap();
/// assert!(pattern.matches(&"https://app.example.com:443".parse::<Origin>().unwrap()));
/// assert!(!pattern.matches(&"https://app.example.com:8443".parse::<Origin>().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: HostMatcher,
    port: PortMatcher,
}

impl OriginPattern {
    /// Whether `origin` is admitted by this pattern.
    pub fn matches(&self, origin: &Origin) -> bool {
        self.scheme == origin.scheme
            && self.host.matches(&origin.host)
            && self.port.matches(origin.effective_port)
    }
}

impl FromStr for OriginPattern {
    type Err = InvalidHostOrOrigin;

    fn from_str(text: &str) -> Result<Self, InvalidHostOrOrigin> {
        let (scheme, authority) = split_scheme(text)?;
        let (host, port) = split_host_port(authority)?;
        let port = match PortMatcher::parse(port)? {
            PortMatcher::Exactly(None) => PortMatcher::Exactly(default_port(&scheme)),
            other => other,
        };
        Ok(OriginPattern {
            host: HostMatcher::parse(host)?,
            port,
            scheme,
        })
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            PortMatcher::Any => f.write_str(":*"),
            PortMatcher::Exactly(Some(port)) if Some(port) != default_port(&self.scheme) => {
                write!(f, ":{port}")
            }
            PortMatcher::Exactly(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> HostAndPort {
        text.parse()
            .unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
    }

    fn pattern(text: &str) -> HostPattern {
        text.parse()
            .unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
    }

    #[test]
    fn hosts_parse_into_their_parts() {
        assert_eq!(
            host("localhost").host(),
            &HostName::Domain("localhost".into())
        );
        assert_eq!(host("localhost").port(), None);
        assert_eq!(host("LOCALHOST:8080").to_string(), "localhost:8080");
        assert_eq!(host("localhost.:8080").to_string(), "localhost:8080");
        assert_eq!(
            host("127.0.0.1:1").host(),
            &HostName::Ipv4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(host("[::1]:65535").port(), Some(65535));
        assert_eq!(
            host("[0:0:0:0:0:0:0:1]").host(),
            &HostName::Ipv6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(host("my_host.internal").to_string(), "my_host.internal");
        assert_eq!(host("127.0.0.1.").to_string(), "127.0.0.1");
    }

    #[test]
    fn an_ipv4_mapped_ipv6_host_is_not_the_ipv4_host() {
        let mapped = host("[::ffff:127.0.0.1]:8080");
        assert!(matches!(mapped.host(), HostName::Ipv6(_)));
        assert!(!pattern("127.0.0.1:*").matches(&mapped));
        assert!(pattern("[::ffff:7f00:1]:*").matches(&mapped));
    }

    #[test]
    fn malformed_hosts_are_rejected() {
        for text in [
            "",
            ":8080",
            "127.0.0.1:80.evil.com",
            "localhost:evil",
            "localhost:",
            "localhost:0",
            "localhost:08080",
            "a.0x",
            "0X1",
            "localhost:65536",
            "localhost:123456",
            "localhost:+80",
            "localhost: 80",
            "[::1]:99999",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[fe80::1%eth0]",
            "[127.0.0.1]",
            "::1",
            "::1:8080",
            "evil.com@localhost",
            "user:pass@localhost:8080",
            "localhost/path",
            "localhost?q",
            "localhost#f",
            "local host",
            "local%68ost",
            "localhost..",
            ".localhost",
            "a..b",
            "ex\u{e4}mple.com",
            "127.1",
            "2130706433",
            "0x7f.0.0.1",
            "127.0.0.01",
            "*.example.com",
            "*",
        ] {
            assert!(
                text.parse::<HostAndPort>().is_err(),
                "{text:?} should be rejected"
            );
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(long_label.parse::<HostAndPort>().is_err());
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        assert!(long_name.parse::<HostAndPort>().is_err());
    }

    #[test]
    fn host_patterns_match_by_host_and_port_rule() {
        let exact = pattern("example.com");
        assert!(exact.matches(&host("example.com")));
        assert!(exact.matches(&host("EXAMPLE.COM.")));
        assert!(!exact.matches(&host("example.com:443")));

        let fixed_port = pattern("example.com:8443");
        assert!(fixed_port.matches(&host("example.com:8443")));
        assert!(!fixed_port.matches(&host("example.com")));
        assert!(!fixed_port.matches(&host("example.com:443")));

        let any_port = pattern("localhost:*");
        assert!(any_port.matches(&host("localhost")));
        assert!(any_port.matches(&host("localhost:1")));
        assert!(any_port.matches(&host("LOCALHOST:65535")));
        assert!(!any_port.matches(&host("localhost.evil.com:80")));
        assert!(!any_port.matches(&host("evil-localhost:80")));

        let v6 = pattern("[::1]:*");
        assert!(v6.matches(&host("[::1]:3000")));
        assert!(!v6.matches(&host("[::2]:3000")));
    }

    #[test]
    fn subdomain_wildcards_respect_label_boundaries() {
        let wildcard = pattern("*.example.com:*");
        assert!(wildcard.matches(&host("a.example.com")));
        assert!(wildcard.matches(&host("a.b.example.com:1")));
        assert!(!wildcard.matches(&host("example.com")));
        assert!(!wildcard.matches(&host("evilexample.com")));
        assert!(!wildcard.matches(&host("example.com.evil.com")));
        assert!(!wildcard.matches(&host("127.0.0.1")));
        assert!(pattern("*.localhost:*").matches(&host("app.localhost:3000")));
    }

    #[test]
    fn bad_patterns_are_rejected_with_a_reason() {
        for text in [
            "*",
            "*:*",
            "*.com",
            "*.127.0.0.1",
            "a.*.example.com",
            "ex*ample.com",
            "**.example.com",
            "localhost:**",
            "localhost:0",
            "[::1]:70000",
            "",
        ] {
            let error = text.parse::<HostPattern>();
            assert!(error.is_err(), "{text:?} should be rejected");
        }
        let reason = "*.com".parse::<HostPattern>().unwrap_err().to_string();
        assert!(reason.contains("two labels"), "{reason}");
    }

    #[test]
    fn patterns_display_as_they_parse() {
        for text in [
            "example.com",
            "example.com:8443",
            "*.example.com:*",
            "[::1]:*",
            "127.0.0.1",
        ] {
            assert_eq!(pattern(text).to_string(), text);
        }
        for text in [
            "https://example.com",
            "http://localhost:*",
            "https://*.example.com:8443",
            "vscode-webview://abc",
        ] {
            assert_eq!(text.parse::<OriginPattern>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn origins_compare_with_default_ports_filled_in() {
        let origin = |text: &str| text.parse::<Origin>().unwrap();
        assert_eq!(origin("https://a.example"), origin("https://a.example:443"));
        assert_eq!(origin("HTTP://A.EXAMPLE"), origin("http://a.example:80"));
        assert_ne!(origin("http://a.example"), origin("https://a.example"));
        assert_ne!(
            origin("https://a.example:8443"),
            origin("https://a.example")
        );
        assert_eq!(origin("chrome-extension://abcdef").effective_port(), None);
        assert_eq!(
            origin("https://a.example:443").to_string(),
            "https://a.example"
        );
    }

    #[test]
    fn malformed_origins_are_rejected() {
        for text in [
            "null",
            "",
            "https://",
            "https//example.com",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com?x",
            "https://example.com#x",
            "https://user@example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://example.com:80.evil.com",
            "1http://example.com",
            "ht tp://example.com",
            "https://example.com https://evil.com",
            "https://[::1",
        ] {
            assert!(
                text.parse::<Origin>().is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn origin_patterns_check_scheme_host_and_port() {
        let pattern: OriginPattern = "https://example.com".parse().unwrap();
        let origin = |text: &str| text.parse::<Origin>().unwrap();
        assert!(pattern.matches(&origin("https://example.com")));
        assert!(pattern.matches(&origin("https://EXAMPLE.com:443")));
        assert!(!pattern.matches(&origin("http://example.com")));
        assert!(!pattern.matches(&origin("https://example.com:444")));
        assert!(!pattern.matches(&origin("https://sub.example.com")));

        let explicit_default: OriginPattern = "https://example.com:443".parse().unwrap();
        assert!(explicit_default.matches(&origin("https://example.com")));
    }
}
