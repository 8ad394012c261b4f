//! What the session benches share: the record of one idle session.

use std::time::Duration;

use mcp_guard_core::{Principal, ProtocolVersion};
use mcp_session::{SessionId, SessionRecord};

/// A fresh record of the `index`-th user (issuer, subject, client id), with a
/// negotiated version and no handler state, expiring at the layer's defaults.
pub(crate) fn record(index: usize) -> SessionRecord {
    let principal = Principal::new()
        .with_issuer("https://auth.example.com")
        .with_subject(format!("user-{index:08}"))
        .with_client_id("mcp-inspector");
    #[allow(clippy::unwrap_used)] // A measurement that fails loudly.
    let id = SessionId::generate().unwrap();
    SessionRecord::new(
        id,
        principal.owner().clone(),
        Some(ProtocolVersion::V2025_11_25),
        Duration::from_secs(30 * 60),
        Duration::from_secs(24 * 60 * 60),
    )
}
