use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{Extensions, HeaderMap, HeaderName};
use ipnet::IpNet;

/// `X-Forwarded-Host`, set by most reverse proxies.
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// How to find the address of the connection's peer in a request's extensions.
pub type PeerAddrFn = fn(&Extensions) -> Option<IpAddr>;

/// The reverse proxies whose forwarded host the origin guard believes: their
/// `X-Forwarded-Host` by default, or their `Forwarded: host=…` (see
/// [`host_header`](Self::host_header)), never both.
///
/// Behind a proxy that rewrites `Host`, the guard would reject every request (the
/// "unexplained 421s" users then answer by turning protection off). Trusting the
/// proxy's forwarded host fixes that without trusting any client: the forwarded
/// headers are read only when the connection's peer address is one of the listed
/// proxies, and only the element the nearest proxy added (the last one) counts.
///
/// The peer address is read from request extensions: by default a
/// [`std::net::SocketAddr`] (what you insert when serving with hyper), or with
/// [`peer_addr_from`](Self::peer_addr_from) e.g. axum's `ConnectInfo`:
///
/// ```
/// use mcp_origin_guard::TrustedProxies;
///
/// let proxies = TrustedProxies::new(["10.0.0.0/8", "127.0.0.1"])
///     .unwrap()
///     // With axum: `Router::into_make_service_with_connect_info::<SocketAddr>()`.
///     .peer_addr_from(|extensions| {
///         extensions
///             .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
///             .map(|info| info.0.ip())
///     });
/// # let _ = proxies;
/// assert!(TrustedProxies::new(["10.0.0.0/33"]).is_err());
/// ```
#[derive(Clone)]
pub struct TrustedProxies {
    networks: Arc<[IpNet]>,
    peer_addr: PeerAddrFn,
    header: ForwardedHeader,
}

/// Which header the trusted proxy writes the original host into. Only that one
/// is read: a proxy that sets one header passes a client's copy of the other
/// through untouched, so falling back from one to the other would let the client
/// choose the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-Host` (nginx, Traefik, most load balancers); its last value.
    #[default]
    XForwardedHost,
    /// `Forwarded: host=…` (RFC 7239); the `host` of its last element.
    Forwarded,
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedProxies")
            .field("networks", &self.networks)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// What the forwarded headers of a request say about its host.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ForwardedHost<'a> {
    /// The peer is a trusted proxy and it forwarded this host.
    Trusted(&'a str),
    /// The peer is a trusted proxy, but its forwarded host header is unreadable.
    Unreadable,
    /// No forwarded host header, or the peer is not trusted (the header, if any,
    /// is ignored).
    Absent,
}

impl TrustedProxies {
    /// Trusts the proxies at these addresses or networks (`10.0.0.1`,
    /// `10.0.0.0/8`, `::1`, `fd00::/8`).
    pub fn new<I, S>(proxies: I) -> Result<TrustedProxies, TrustedProxiesConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let networks = proxies
            .into_iter()
            .map(|proxy| parse_network(proxy.as_ref()))
            .collect::<Result<Arc<[IpNet]>, _>>()?;
        if networks.is_empty() {
            return Err(TrustedProxiesConfigError(
                "no proxy given: list the addresses of the reverse proxies in front of this server"
                    .into(),
            ));
        }
        Ok(TrustedProxies {
            networks,
            peer_addr: socket_addr_in_extensions,
            header: ForwardedHeader::default(),
        })
    }

    /// Sets which header the proxies write the original host into
    /// (default: `X-Forwarded-Host`).
    pub fn host_header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// Sets how the connection's peer address is found in request extensions.
    pub fn peer_addr_from(mut self, peer_addr: PeerAddrFn) -> Self {
        self.peer_addr = peer_addr;
        self
    }

    /// Whether `address` is a trusted proxy. IPv4-mapped IPv6 peers (seen on
    /// dual-stack listeners) count as their IPv4 address, so list proxies by
    /// their IPv4 address, not as `::ffff:a.b.c.d`.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.networks
            .iter()
            .any(|network| network.contains(&address))
    }

    /// The host forwarded by a trusted peer.
    pub(crate) fn forwarded_host<'a>(
        &self,
        extensions: &Extensions,
        headers: &'a HeaderMap,
    ) -> ForwardedHost<'a> {
        let trusted = (self.peer_addr)(extensions).is_some_and(|peer| self.trusts(peer));
        if !trusted {
            return ForwardedHost::Absent;
        }
        let host = match self.header {
            ForwardedHeader::XForwardedHost => x_forwarded_host(headers),
            ForwardedHeader::Forwarded => forwarded_header_host(headers),
        };
        match host {
            Some(Ok(host)) => ForwardedHost::Trusted(host),
            Some(Err(())) => ForwardedHost::Unreadable,
            None => ForwardedHost::Absent,
        }
    }
}

fn socket_addr_in_extensions(extensions: &Extensions) -> Option<IpAddr> {
    extensions.get::<SocketAddr>().map(SocketAddr::ip)
}

fn parse_network(text: &str) -> Result<IpNet, TrustedProxiesConfigError> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            TrustedProxiesConfigError(format!(
                "{text:?} is neither an IP address nor a network (e.g. 10.0.0.1 or 10.0.0.0/8)"
            ))
        })
}

/// Whether the request carries `Forwarded` or `X-Forwarded-Host`.
pub(crate) fn has_forwarded_headers(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::FORWARDED) || headers.contains_key(X_FORWARDED_HOST)
}

/// The `host=` of the last element of `Forwarded` (RFC 7239), all header lines
/// taken as one list. `None` when the last element has no host; unreadable when
/// quotes do not balance (a client's stray `"` could otherwise swallow the
/// proxy's comma) or the element names the host twice.
fn forwarded_header_host(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let last_line = headers
        .get_all(http::header::FORWARDED)
        .iter()
        .next_back()?;
    let Ok(line) = last_line.to_str() else {
        return Some(Err(()));
    };
    let Some(elements) = split_unquoted(line, b',') else {
        return Some(Err(()));
    };
    let element = elements.last().copied().unwrap_or_default();
    let Some(pairs) = split_unquoted(element, b';') else {
        return Some(Err(()));
    };
    let mut hosts = pairs.into_iter().filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim())
    });
    let host = hosts.next()?;
    if hosts.next().is_some() {
        return Some(Err(()));
    }
    Some(unquote(host))
}

/// The last value of `X-Forwarded-Host`, all header lines taken as one list.
fn x_forwarded_host(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let last_line = headers.get_all(X_FORWARDED_HOST).iter().next_back()?;
    Some(
        last_line
            .to_str()
            .map(|line| line.rsplit(',').next().unwrap_or(line).trim())
            .map_err(drop),
    )
}

/// Splits `text` at each `separator` outside a quoted string; `None` when a
/// quoted string is left open.
fn split_unquoted(text: &str, separator: u8) -> Option<Vec<&str>> {
    let (mut parts, mut start) = (Vec::new(), 0);
    let (mut in_quotes, mut escaped) = (false, false);
    for (index, byte) in text.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            _ if byte == separator && !in_quotes => {
                parts.push(text[start..index].trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    if in_quotes {
        return None;
    }
    parts.push(text[start..].trim());
    Some(parts)
}

/// A `token` or a `"quoted-string"` without its quotes. Host values never hold
/// escapes; one that does is unreadable.
fn unquote(value: &str) -> Result<&str, ()> {
    match value.strip_prefix('"') {
        None => Ok(value),
        Some(rest) => match rest.strip_suffix('"') {
            Some(inner) if !inner.contains(['"', '\\']) => Ok(inner),
            _ => Err(()),
        },
    }
}

/// Why a [`TrustedProxies`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxiesConfigError(String);

impl fmt::Display for TrustedProxiesConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trusted proxies: {}", self.0)
    }
}

impl std::error::Error for TrustedProxiesConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn from_peer(peer: &str) -> Extensions {
        let mut extensions = Extensions::new();
        extensions.insert(SocketAddr::new(peer.parse().unwrap(), 40000));
        extensions
    }

    #[test]
    fn networks_and_single_addresses_parse() {
        let proxies =
            TrustedProxies::new(["10.0.0.0/8", "192.168.1.7", "::1", "fd00::/8"]).unwrap();
        assert!(proxies.trusts("10.1.2.3".parse().unwrap()));
        assert!(proxies.trusts("192.168.1.7".parse().unwrap()));
        assert!(!proxies.trusts("192.168.1.8".parse().unwrap()));
        assert!(proxies.trusts("::1".parse().unwrap()));
        assert!(proxies.trusts("fd12::5".parse().unwrap()));
        assert!(proxies.trusts("::ffff:10.0.0.9".parse().unwrap()));
        for bad in ["10.0.0.0/33", "proxy.internal", "", "10.0.0.1:80"] {
            assert!(TrustedProxies::new([bad]).is_err(), "{bad:?}");
        }
        assert!(TrustedProxies::new(Vec::<String>::new()).is_err());
    }

    #[test]
    fn only_a_trusted_peer_forwards_a_host() {
        let proxies = TrustedProxies::new(["10.0.0.1"]).unwrap();
        let sent = headers(&[("x-forwarded-host", "mcp.example.com")]);
        assert_eq!(
            proxies.forwarded_host(&from_peer("10.0.0.1"), &sent),
            ForwardedHost::Trusted("mcp.example.com")
        );
        assert_eq!(
            proxies.forwarded_host(&from_peer("10.0.0.2"), &sent),
            ForwardedHost::Absent
        );
        assert_eq!(
            proxies.forwarded_host(&Extensions::new(), &sent),
            ForwardedHost::Absent
        );
    }

    #[test]
    fn the_nearest_proxys_element_counts() {
        let proxies = TrustedProxies::new(["10.0.0.1"])
            .unwrap()
            .host_header(ForwardedHeader::Forwarded);
        let x_forwarded = TrustedProxies::new(["10.0.0.1"]).unwrap();
        let peer = from_peer("10.0.0.1");
        let forged_then_real = headers(&[
            ("forwarded", "for=1.2.3.4;host=evil.com"),
            (
                "forwarded",
                "for=5.6.7.8;host=\"mcp.example.com:8443\";proto=https",
            ),
        ]);
        assert_eq!(
            proxies.forwarded_host(&peer, &forged_then_real),
            ForwardedHost::Trusted("mcp.example.com:8443")
        );
        let in_one_line = headers(&[(
            "forwarded",
            "host=evil.com, for=\"[::1]:5,6\";Host=mcp.example.com",
        )]);
        assert_eq!(
            proxies.forwarded_host(&peer, &in_one_line),
            ForwardedHost::Trusted("mcp.example.com")
        );
        let xfh_list = headers(&[("x-forwarded-host", "evil.com, mcp.example.com")]);
        assert_eq!(
            x_forwarded.forwarded_host(&peer, &xfh_list),
            ForwardedHost::Trusted("mcp.example.com")
        );
        // The nearest element names no host: an earlier (client-written) one must not count.
        let no_host_last = headers(&[("forwarded", "host=evil.com, for=10.0.0.9")]);
        assert_eq!(
            proxies.forwarded_host(&peer, &no_host_last),
            ForwardedHost::Absent
        );
        let bad_quotes = headers(&[("forwarded", "host=\"mcp.example.com")]);
        assert_eq!(
            proxies.forwarded_host(&peer, &bad_quotes),
            ForwardedHost::Unreadable
        );
        // A client's stray quote must not swallow the comma the proxy appended.
        let stray_quote = headers(&[(
            "forwarded",
            "host=localhost;for=\", for=10.9.9.9;host=attacker.com",
        )]);
        assert_eq!(
            proxies.forwarded_host(&peer, &stray_quote),
            ForwardedHost::Unreadable
        );
        let two_hosts = headers(&[("forwarded", "for=1.2.3.4;host=localhost;host=attacker.com")]);
        assert_eq!(
            proxies.forwarded_host(&peer, &two_hosts),
            ForwardedHost::Unreadable
        );
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let peer = from_peer("10.0.0.1");
        let x_forwarded = TrustedProxies::new(["10.0.0.1"]).unwrap();
        let forwarded = x_forwarded.clone().host_header(ForwardedHeader::Forwarded);
        // The proxy sets X-Forwarded-Host and passes the client's Forwarded through.
        let client_forwarded = headers(&[
            ("forwarded", "for=1.2.3.4;host=localhost"),
            ("x-forwarded-host", "attacker.com"),
        ]);
        assert_eq!(
            x_forwarded.forwarded_host(&peer, &client_forwarded),
            ForwardedHost::Trusted("attacker.com")
        );
        // The proxy appends a Forwarded element without a host: no fallback to
        // the client's X-Forwarded-Host.
        let client_xfh = headers(&[
            ("forwarded", "for=10.9.9.9;proto=https"),
            ("x-forwarded-host", "localhost"),
        ]);
        assert_eq!(
            forwarded.forwarded_host(&peer, &client_xfh),
            ForwardedHost::Absent
        );
    }

    #[test]
    fn a_custom_peer_address_source_is_used() {
        #[derive(Clone)]
        struct Peer(IpAddr);
        let proxies = TrustedProxies::new(["10.0.0.1"])
            .unwrap()
            .peer_addr_from(|extensions| extensions.get::<Peer>().map(|peer| peer.0));
        let mut extensions = Extensions::new();
        extensions.insert(Peer("10.0.0.1".parse().unwrap()));
        let sent = headers(&[("x-forwarded-host", "mcp.example.com")]);
        assert_eq!(
            proxies.forwarded_host(&extensions, &sent),
            ForwardedHost::Trusted("mcp.example.com")
        );
    }
}
