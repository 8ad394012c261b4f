//! MCP header names.
//!
//! Header names are case-insensitive on the wire; [`http::HeaderName`] stores them
//! lowercase, so these constants match `Mcp-Session-Id`, `MCP-Session-Id` and
//! `mcp-session-id` alike.

use http::HeaderName;

/// `Mcp-Session-Id`: the legacy-era session id.
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// `MCP-Protocol-Version`: the revision the request speaks.
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// `Last-Event-ID`: the SSE resumption cursor.
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// `Mcp-Method`: mirrors the JSON-RPC `method` (stateless era).
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");

/// `Mcp-Name`: mirrors `params.name` or `params.uri` (stateless era).
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// The prefix of `Mcp-Param-{Name}` headers, lowercase (stateless era).
pub const MCP_PARAM_PREFIX: &str = "mcp-param-";

/// Whether `name` is an `Mcp-Param-{Name}` header.
///
/// ```
/// use http::HeaderName;
/// use mcp_guard_core::headers::is_mcp_param;
///
/// assert!(is_mcp_param(&HeaderName::from_static("mcp-param-region")));
/// assert!(!is_mcp_param(&HeaderName::from_static("mcp-param-")));
/// assert!(!is_mcp_param(&HeaderName::from_static("mcp-name")));
/// ```
pub fn is_mcp_param(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.len() > MCP_PARAM_PREFIX.len() && name.starts_with(MCP_PARAM_PREFIX)
}
