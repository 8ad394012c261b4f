//! RFC 9728 Protected Resource Metadata: the document that tells a client
//! which authorization servers issue tokens for this MCP server.

use serde::{Deserialize, Serialize};

use crate::resource::canonical_resource_uri;

/// The Protected Resource Metadata document (RFC 9728 §2).
///
/// ```
/// use mcp_bearer_auth::ProtectedResourceMetadata;
///
/// let metadata = ProtectedResourceMetadata::new("https://mcp.example.com/mcp", ["https://auth.example.com"])
///     .with_scopes_supported(["files:read", "files:write"]);
/// assert_eq!(metadata.metadata_url(), "https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
/// let json = serde_json::to_value(&metadata).unwrap();
/// assert_eq!(json["bearer_methods_supported"][0], "header");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// This server's canonical resource URI (RFC 8707): what tokens' `aud` must hold.
    pub resource: String,
    /// Authorization servers that issue tokens for it (at least one).
    pub authorization_servers: Vec<String>,
    /// Scopes a client may ask for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How tokens are sent: only `header`.
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// A page documenting the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

impl ProtectedResourceMetadata {
    /// The document for `resource` (canonicalized when it parses), protected
    /// by `authorization_servers`.
    pub fn new<I, S>(resource: &str, authorization_servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ProtectedResourceMetadata {
            resource: canonical_resource_uri(resource).unwrap_or_else(|| resource.to_owned()),
            authorization_servers: authorization_servers.into_iter().map(Into::into).collect(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
            resource_documentation: None,
        }
    }

    /// Lists the scopes clients may ask for.
    pub fn with_scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Names the resource.
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Links documentation.
    pub fn with_resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Where this document is served: the well-known path inserted between the
    /// resource's origin and its path (RFC 9728 §3.1). The challenge's
    /// `resource_metadata` points here.
    pub fn metadata_url(&self) -> String {
        let (origin, path) = split_origin(&self.resource);
        format!(
            "{origin}{}{path}",
            mcp_guard_core::well_known::PROTECTED_RESOURCE_METADATA
        )
    }

    /// The request paths the document is served at: the path-suffixed form
    /// and the root form.
    pub(crate) fn served_paths(&self) -> [String; 2] {
        let (_, path) = split_origin(&self.resource);
        let root = mcp_guard_core::well_known::PROTECTED_RESOURCE_METADATA.to_owned();
        [format!("{root}{path}"), root]
    }
}

/// `https://host:port` and the path (without query) of a resource URI.
fn split_origin(resource: &str) -> (&str, &str) {
    let after_scheme = resource.find("://").map_or(0, |index| index + 3);
    let path_start = resource[after_scheme..]
        .find('/')
        .map_or(resource.len(), |index| after_scheme + index);
    let path = &resource[path_start..];
    let path = path.split('?').next().unwrap_or_default();
    (&resource[..path_start], path)
}
