//! Well-known paths the layers treat specially.

use http::{Method, Request};

/// The RFC 9728 Protected Resource Metadata path. A server publishes its document
/// here (root form) and at this path followed by the MCP endpoint's path
/// (`/mcp` → `/.well-known/oauth-protected-resource/mcp`).
pub const PROTECTED_RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";

/// The RFC 8414 Authorization Server Metadata path (root form, or followed by
/// the issuer's path: `/.well-known/oauth-authorization-server/tenant`).
pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";

/// The OpenID Connect Discovery path. OIDC appends it to the issuer
/// (`/tenant/.well-known/openid-configuration`); MCP clients also try the
/// RFC 8414 style, inserted before the issuer's path.
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// Whether `path` is the root form of the Protected Resource Metadata path or one
/// of its path-suffixed forms.
///
/// ```
/// use mcp_guard_core::well_known::is_protected_resource_metadata;
///
/// assert!(is_protected_resource_metadata("/.well-known/oauth-protected-resource"));
/// assert!(is_protected_resource_metadata("/.well-known/oauth-protected-resource/mcp"));
/// assert!(!is_protected_resource_metadata("/.well-known/oauth-protected-resourcefoo"));
/// assert!(!is_protected_resource_metadata("/mcp"));
/// ```
pub fn is_protected_resource_metadata(path: &str) -> bool {
    is_at_or_under(path, PROTECTED_RESOURCE_METADATA)
}

/// Whether `path` is one of the public OAuth metadata documents an MCP client
/// reads during discovery: RFC 9728 protected resource metadata, RFC 8414
/// authorization server metadata, or OpenID Connect configuration, in the root,
/// path-inserted and (for OIDC) path-appended forms.
///
/// These documents are public JSON: browsers must be able to fetch them from any
/// origin, and the MCP-specific guards (protocol, session, resume, auth, rate
/// limit) leave their GETs alone whatever MCP headers come with them.
///
/// ```
/// use mcp_guard_core::well_known::is_metadata_document;
///
/// assert!(is_metadata_document("/.well-known/oauth-protected-resource/mcp"));
/// assert!(is_metadata_document("/.well-known/oauth-authorization-server"));
/// assert!(is_metadata_document("/.well-known/oauth-authorization-server/tenant"));
/// assert!(is_metadata_document("/.well-known/openid-configuration/tenant"));
/// assert!(is_metadata_document("/tenant/.well-known/openid-configuration"));
/// assert!(!is_metadata_document("/.well-known/openid-configurationx"));
/// assert!(!is_metadata_document("/tenant/.well-known/openid-configuration/x"));
/// assert!(!is_metadata_document("/mcp"));
/// ```
pub fn is_metadata_document(path: &str) -> bool {
    is_protected_resource_metadata(path)
        || is_at_or_under(path, AUTHORIZATION_SERVER_METADATA)
        || is_at_or_under(path, OPENID_CONFIGURATION)
        || path.ends_with(OPENID_CONFIGURATION)
}

/// Whether `request` reads a public metadata document: a `GET` or `HEAD` of a
/// path [`is_metadata_document`] names. The MCP-specific guards pass such a
/// request on untouched.
///
/// ```
/// use mcp_guard_core::well_known::is_metadata_read;
///
/// let get = http::Request::get("/.well-known/oauth-protected-resource/mcp")
///     .header("mcp-protocol-version", "2026-07-28")
///     .body(())
///     .unwrap();
/// assert!(is_metadata_read(&get));
/// let post = http::Request::post("/.well-known/oauth-protected-resource").body(()).unwrap();
/// assert!(!is_metadata_read(&post));
/// ```
pub fn is_metadata_read<B>(request: &Request<B>) -> bool {
    matches!(*request.method(), Method::GET | Method::HEAD)
        && is_metadata_document(request.uri().path())
}

/// Removes what ties a request to an MCP session (`Mcp-Session-Id`,
/// `Last-Event-ID`) from a metadata read the guards pass on unchecked.
///
/// The guards skip their session, token and resume checks for
/// [`is_metadata_read`] requests; a handler that serves MCP on every path it is
/// given must then not be able to attach such a GET to someone's session or
/// replay someone's stream.
///
/// ```
/// use mcp_guard_core::well_known::forget_session;
///
/// let mut request = http::Request::get("/.well-known/oauth-protected-resource")
///     .header("mcp-session-id", "victim")
///     .header("last-event-id", "0-7")
///     .body(())
///     .unwrap();
/// forget_session(&mut request);
/// assert!(request.headers().is_empty());
/// ```
pub fn forget_session<B>(request: &mut Request<B>) {
    let headers = request.headers_mut();
    headers.remove(crate::headers::MCP_SESSION_ID);
    headers.remove(crate::headers::LAST_EVENT_ID);
}

fn is_at_or_under(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}
