//! The MCP endpoint a stack guards when it wraps a whole app
//! ([`McpGuard::endpoint`](super::McpGuard::endpoint)): requests for other
//! paths (`/healthz`, static files, an API) pass through untouched.

use std::sync::Arc;

use mcp_guard_core::well_known::is_metadata_document;

use super::McpGuardConfigError;

/// The path of the MCP endpoint, e.g. `/mcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    path: Arc<str>,
}

impl Endpoint {
    /// `path` if it is an absolute path with no query or fragment: a request
    /// line's path is compared with it as is.
    pub(crate) fn new(path: &str) -> Result<Endpoint, McpGuardConfigError> {
        let is_path = path.starts_with('/')
            && !path.contains(['?', '#'])
            && path.parse::<http::uri::PathAndQuery>().is_ok();
        if !is_path {
            return Err(McpGuardConfigError::new(
                "endpoint",
                format!(
                    "`{path}` is not the absolute path of the MCP endpoint (e.g. `/mcp`): give the path alone, no scheme, host or query"
                ),
            ));
        }
        Ok(Endpoint { path: path.into() })
    }

    /// Whether a request for `path` goes through the guards: the endpoint
    /// itself, and the public OAuth metadata documents (the guards serve the
    /// RFC 9728 one, and check Host and add CORS on the others).
    pub(crate) fn covers(&self, path: &str) -> bool {
        path == &*self.path || is_metadata_document(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_and_metadata_documents_are_covered_nothing_else() {
        let endpoint = Endpoint::new("/mcp").unwrap_or_else(|error| panic!("{error}"));
        for covered in [
            "/mcp",
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
        ] {
            assert!(endpoint.covers(covered), "{covered}");
        }
        for passed in [
            "/",
            "/healthz",
            "/mcp/",
            "/mcp/x",
            "/mcpx",
            "/static/app.js",
        ] {
            assert!(!endpoint.covers(passed), "{passed}");
        }
    }
}
