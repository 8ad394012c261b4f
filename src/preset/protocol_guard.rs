//! The protocol guard's wiring: its setters and its build step.

use mcp_protocol_guard::ProtocolGuardLayer;

use super::McpGuard;

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Your own protocol guard instead of the preset's. It reads the envelope
    /// the stack's one body read left in the extensions, within the
    /// builder's [`max_body_bytes`](Self::max_body_bytes) and
    /// [`body_read_timeout`](Self::body_read_timeout).
    pub fn protocol_guard(mut self, layer: ProtocolGuardLayer) -> Self {
        self.common.protocol_guard = Some(layer);
        self
    }

    /// No protocol guard.
    pub fn without_protocol_guard(mut self) -> Self {
        self.common.protocol_guard = Some(ProtocolGuardLayer::disabled());
        self
    }
}

/// The layer to stack: yours, the disabled one, or the preset's.
pub(super) fn build(layer: Option<ProtocolGuardLayer>) -> ProtocolGuardLayer {
    layer.unwrap_or_default()
}
