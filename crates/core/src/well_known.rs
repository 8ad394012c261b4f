//! Well-known paths the layers treat specially.

/// The RFC 9728 Protected Resource Metadata path. A server publishes its document
/// here (root form) and at this path followed by the MCP endpoint's path
/// (`/mcp` → `/.well-known/oauth-protected-resource/mcp`).
pub const PROTECTED_RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";

/// Whether `path` is the root form of the Protected Resource Metadata path or one
/// of its path-suffixed forms.
///
/// Browsers must be able to fetch this public document from any origin, so the
/// origin guard and the CORS preset both ask this question.
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
    match path.strip_prefix(PROTECTED_RESOURCE_METADATA) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}
