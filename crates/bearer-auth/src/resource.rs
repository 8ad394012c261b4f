//! RFC 8707 resource indicators: the canonical URI of this MCP server, and the
//! comparison a token's audience gets against it.

/// The canonical form of a resource URI: lowercase scheme and host, no
/// fragment, no trailing slash (unless the path is only `/`), the scheme's
/// default port dropped. `None` for something that is not an absolute
/// http(s) URI.
///
/// ```
/// use mcp_bearer_auth::canonical_resource_uri;
///
/// assert_eq!(canonical_resource_uri("HTTPS://MCP.Example.com:443/mcp/").as_deref(), Some("https://mcp.example.com/mcp"));
/// assert_eq!(canonical_resource_uri("https://mcp.example.com").as_deref(), Some("https://mcp.example.com"));
/// assert_eq!(canonical_resource_uri("mcp.example.com"), None);
/// ```
pub fn canonical_resource_uri(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (authority, path_and_query) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let authority = authority
        .strip_suffix(&format!(":{default_port}"))
        .unwrap_or(&authority)
        .to_owned();
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let path = path.trim_end_matches('/');
    let mut canonical = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        canonical.push('?');
        canonical.push_str(query);
    }
    Some(canonical)
}

/// Whether a token audience names this resource (canonical comparison).
pub(crate) fn audience_matches(audience: &str, canonical_resource: &str) -> bool {
    // Most tokens carry the canonical form already: no need to rebuild it.
    audience == canonical_resource
        || canonical_resource_uri(audience).is_some_and(|audience| audience == canonical_resource)
}
