//! The example's MCP handler: the same under every preset. Its own tools
//! are here; the conformance suite's diagnostics are in `conformance` and
//! `input_required`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcp_guard::core::Principal;
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ProgressNotificationParam, ReadResourceRequestParams,
    ReadResourceResponse, RequestMetaObject, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{Peer, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::json;

use crate::catalog;
use crate::conformance::{self, Shared};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to return.
    text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SlowCountArgs {
    /// How many progress notifications to send (at most 10000).
    n: u32,
    /// Milliseconds between them (at most 10000).
    interval_ms: u64,
}

/// The example's MCP handler. rmcp builds one per request (its sessions are
/// off); what must outlive a request is in [`Shared`].
#[derive(Debug, Clone)]
pub(crate) struct ExampleServer {
    tool_router: Arc<ToolRouter<Self>>,
    pub(crate) shared: Arc<Shared>,
}

/// The tools, routed once per process. Building the router checks every
/// tool's name and schema; done for every request, it was most of the bare
/// server's CPU time under load (a perf profile during `scripts/load.sh`:
/// about 230 µs of CPU per request, 62 % of samples in `ExampleServer::new`).
static TOOLS: OnceLock<Arc<ToolRouter<ExampleServer>>> = OnceLock::new();

#[tool_router]
impl ExampleServer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let tools = TOOLS.get_or_init(|| {
            Arc::new(
                Self::tool_router()
                    + Self::note_tools()
                    + Self::conformance_tools()
                    + Self::input_required_tools(),
            )
        });
        ExampleServer {
            tool_router: Arc::clone(tools),
            shared,
        }
    }

    #[tool(description = "Returns the text it is given.")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }

    #[tool(description = "Returns the sum of a and b.")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }

    #[tool(
        description = "Sends n progress notifications for the request's progress token, interval_ms apart, then returns. For SSE and resumption tests."
    )]
    async fn slow_count(
        &self,
        Parameters(SlowCountArgs { n, interval_ms }): Parameters<SlowCountArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<String, ErrorData> {
        if n > 10_000 || interval_ms > 10_000 {
            return Err(ErrorData::invalid_params(
                "slow_count allows at most n = 10000 and interval_ms = 10000",
                None,
            ));
        }
        if let Some(token) = meta.get_progress_token() {
            for step in 1..=n {
                tokio::time::sleep(Duration::from_millis(interval_ms)).await;
                let progress = ProgressNotificationParam::new(token.clone(), f64::from(step))
                    .with_total(f64::from(n))
                    .with_message(format!("count {step}"));
                if peer.notify_progress(progress).await.is_err() {
                    break; // the client is gone and nothing stores the stream
                }
            }
        }
        Ok(format!("counted to {n}"))
    }

    #[tool(
        description = "Returns who is calling: the token's subject, client and scopes, or anonymous."
    )]
    fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        match parts.extensions.get::<Principal>() {
            Some(principal) => json!({
                "subject": principal.subject(),
                "client_id": principal.client_id(),
                "issuer": principal.issuer(),
                "scopes": principal.scopes(),
            })
            .to_string(),
            None => "anonymous".to_owned(),
        }
    }

    #[tool(
        description = "Returns the text it is given; needs the scope mcp:admin under the remote preset."
    )]
    fn admin_echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::text(text)])
    }
}

/// Resources, prompts, completion, logging and subscriptions exist for the
/// conformance suite; `catalog` and `conformance` implement them.
#[tool_handler(router = self.tool_router)]
impl ServerHandler for ExampleServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(conformance::capabilities())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(catalog::resources()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            catalog::resource_templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        catalog::read_resource(&request.uri).map(Into::into)
    }

    // resources/subscribe and unsubscribe are legacy-era methods (deprecated
    // in rmcp for 2026-07-28, where subscriptions/listen replaces them).
    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        catalog::read_resource(&request.uri).map(drop)
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        catalog::read_resource(&request.uri).map(drop)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(catalog::prompts()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        catalog::get_prompt(request)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        catalog::complete(&request)
    }

    // Accepted and answered `{}`. With rmcp's sessions off there is no
    // per-client state to keep a level in; legacy-era tools log at info.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        conformance::listen(&self.shared, context).await;
        Ok(())
    }
}
