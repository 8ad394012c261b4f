//! A real rmcp server handler that shows what the guards handed on: every
//! tool call answers with the tool's name, its `text` argument, the caller's
//! subject (the `Principal` bearer auth stored), the session id, and whether
//! the `Authorization` header reached the handler, so a leak across callers
//! or sessions, or a forwarded token, shows in the reply.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Echo;

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let parts = context
            .extensions
            .get::<http::request::Parts>()
            .expect("rmcp hands the HTTP parts on");
        let subject = parts
            .extensions
            .get::<mcp_guard::core::Principal>()
            .and_then(|principal| principal.subject().map(str::to_owned));
        let session = mcp_guard::session::Session::from_extensions(&parts.extensions)
            .map(|session| session.id().as_str().to_owned());
        let text = request
            .arguments
            .as_ref()
            .and_then(|arguments| arguments.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let reply = json!({"tool": request.name, "text": text, "subject": subject,
            "has_session": session.is_some(), "session": session,
            "authorization_forwarded": parts.headers.contains_key("authorization")});
        Ok(CallToolResult::success(vec![ContentBlock::text(reply.to_string())]).into())
    }
}

/// rmcp's Streamable HTTP service around [`Echo`]: sessions kept by the
/// guards (rmcp's own legacy session mode off), no keep-alive events.
pub fn echo_service(
    config: StreamableHttpServerConfig,
) -> StreamableHttpService<Echo, LocalSessionManager> {
    StreamableHttpService::new(
        || Ok(Echo),
        Arc::new(LocalSessionManager::default()),
        config
            .with_legacy_session_mode(false)
            .with_sse_keep_alive(None),
    )
}
