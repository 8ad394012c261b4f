//! An rmcp client started in either era: the legacy `initialize` handshake,
//! or the 2026-07-28 stateless discovery.

use rmcp::model::ProtocolVersion;
use rmcp::service::{ClientInitializeError, ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::IntoTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};

/// Starts `handler` as an rmcp client over `transport`: stateless (the
/// 2026-07-28 discovery, no session) or with the legacy handshake.
pub async fn connect<H, T, E, A>(
    handler: H,
    transport: T,
    stateless: bool,
) -> Result<RunningService<RoleClient, H>, ClientInitializeError>
where
    H: ClientHandler,
    T: IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    if stateless {
        handler
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
    } else {
        handler.serve(transport).await
    }
}
