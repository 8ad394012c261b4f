//! CORS's wiring: its setters and its build step (the origin guard's
//! allowlist).

use mcp_cors_preset::McpCorsLayer;
use mcp_origin_guard::Allowlist;

use super::McpGuard;

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Your own CORS layer instead of the preset's.
    pub fn cors(mut self, layer: McpCorsLayer) -> Self {
        self.common.cors = Some(layer);
        self
    }

    /// No CORS: browser clients on other origins cannot call the server.
    pub fn without_cors(mut self) -> Self {
        self.common.cors = Some(McpCorsLayer::disabled());
        self
    }
}

/// The layer to stack: yours, the disabled one, or the preset's on the shared
/// allowlist.
pub(super) fn build(layer: Option<McpCorsLayer>, allowlist: &Allowlist) -> McpCorsLayer {
    layer.unwrap_or_else(|| McpCorsLayer::new(allowlist.clone()))
}
