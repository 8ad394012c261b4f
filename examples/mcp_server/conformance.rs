//! The diagnostic tools, resources and prompts that the server scenarios of
//! the official MCP conformance suite (npm `@modelcontextprotocol/conformance`)
//! call by name, so its transport checks run against this server (and the
//! guards in front of it) instead of stopping at "tool not found". Each does
//! what the scenario's description asks for, and nothing more.
//!
//! Logging, sampling, roots and `resources/subscribe` are deprecated in rmcp
//! (SEP-2577) but are what the legacy-era scenarios exercise, hence the
//! `allow(deprecated)`.

#![allow(deprecated)]

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::tool::InputResponses;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock, CreateMessageRequestParams,
    ElicitRequestParams, InputRequiredResult, JsonObject, LoggingLevel,
    LoggingMessageNotificationParam, ProgressNotificationParam, ProtocolVersion, RequestMetaObject,
    ResourceContents, SamplingMessage, ServerCapabilities, ServerRequest,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, schemars, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::input_required;
use crate::server::ExampleServer;
use crate::stream_close::CloseConnection;

/// A 1×1 red PNG.
pub(crate) const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC";
/// Four samples of silence: a 16-bit mono 8 kHz WAV.
const WAV_SILENCE: &str =
    "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQgAAAAAAAAAAAAAAA==";
/// How long a legacy-era request to the client (sampling, elicitation) may take.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What every handler of one server shares (rmcp builds a handler per
/// request): the list-changed hook and the `requestState` key.
#[derive(Debug)]
pub(crate) struct Shared {
    list_changes: broadcast::Sender<ListChange>,
    pub(crate) state_key: input_required::StateKey,
    /// The notes tools' records (`notes`).
    pub(crate) notes: crate::notes::Notes,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            list_changes: broadcast::channel(16).0,
            state_key: input_required::StateKey::generate(),
            notes: crate::notes::Notes::default(),
        }
    }
}

/// A change announced to `subscriptions/listen` streams (2026-07-28).
#[derive(Debug, Clone, Copy)]
enum ListChange {
    Tools,
    Prompts,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SamplingArgs {
    /// The prompt to send to the client's LLM.
    prompt: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ElicitationArgs {
    /// The message to show the user.
    message: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct CustomHeaderArgs {
    /// A region; 2026-07-28 clients mirror it in the `Mcp-Param-Region` header.
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
    /// Free text, not mirrored in any header.
    query: String,
}

/// The server's capabilities: everything the suite's scenarios look for.
pub(crate) fn capabilities() -> ServerCapabilities {
    ServerCapabilities::builder()
        .enable_logging()
        .enable_completions()
        .enable_prompts()
        .enable_prompts_list_changed()
        .enable_resources()
        .enable_resources_subscribe()
        .enable_tools()
        .enable_tool_list_changed()
        .build()
}

#[tool_router(router = conformance_tools, vis = "pub(crate)")]
impl ExampleServer {
    #[tool(description = "Conformance diagnostic: returns one text block.")]
    fn test_simple_text(&self) -> String {
        "This is a simple text response for testing.".to_owned()
    }

    #[tool(description = "Conformance diagnostic: returns a 1x1 PNG image block.")]
    fn test_image_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::image(PNG_1X1, "image/png")])
    }

    #[tool(description = "Conformance diagnostic: returns a short WAV audio block.")]
    fn test_audio_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::audio(WAV_SILENCE, "audio/wav")])
    }

    #[tool(description = "Conformance diagnostic: returns an embedded text resource.")]
    fn test_embedded_resource(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::resource(
            ResourceContents::text(
                "This is an embedded resource content.",
                "test://embedded-resource",
            )
            .with_mime_type("text/plain"),
        )])
    }

    #[tool(
        description = "Conformance diagnostic: returns text, image and embedded resource blocks together."
    )]
    fn test_multiple_content_types(&self) -> CallToolResult {
        CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG_1X1, "image/png"),
            ContentBlock::resource(
                ResourceContents::text(
                    json!({"test": "data", "value": 123}).to_string(),
                    "test://mixed-content-resource",
                )
                .with_mime_type("application/json"),
            ),
        ])
    }

    #[tool(
        description = "Conformance diagnostic: sends three info log messages 50 ms apart, then returns (2026-07-28: only if the request's _meta logLevel allows info)."
    )]
    async fn test_tool_with_logging(&self, context: RequestContext<RoleServer>) -> String {
        let steps = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ];
        for (index, step) in steps.into_iter().enumerate() {
            if index > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            log(&context, LoggingLevel::Info, step).await;
        }
        "Tool with logging executed successfully".to_owned()
    }

    #[tool(
        description = "Conformance diagnostic: sends one info log message, only if the request may receive it (2026-07-28: _meta logLevel info or lower)."
    )]
    async fn test_logging_tool(&self, context: RequestContext<RoleServer>) -> String {
        log(&context, LoggingLevel::Info, "test_logging_tool ran").await;
        "logged".to_owned()
    }

    #[tool(description = "Conformance diagnostic: always fails, as a tool error (isError).")]
    fn test_error_handling(&self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])
    }

    #[tool(
        description = "Conformance diagnostic: reports progress 0, 50 and 100 of 100, 50 ms apart, for the request's progress token."
    )]
    async fn test_tool_with_progress(&self, context: RequestContext<RoleServer>) -> String {
        let token = context.meta.get_progress_token();
        for (index, progress) in [0u32, 50, 100].into_iter().enumerate() {
            if index > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(token) = &token {
                let notification =
                    ProgressNotificationParam::new(token.clone(), f64::from(progress))
                        .with_total(100.0)
                        .with_message(format!("Completed step {progress} of 100"));
                let _ = context.peer.notify_progress(notification).await;
            }
        }
        match token {
            Some(token) => format!("progress reported for token {}", json!(token.0)),
            None => "no progress token, nothing reported".to_owned(),
        }
    }

    #[tool(
        description = "Conformance diagnostic: asks the client's LLM (sampling/createMessage) and returns its answer."
    )]
    async fn test_sampling(
        &self,
        Parameters(SamplingArgs { prompt }): Parameters<SamplingArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let request =
            CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
        let answer =
            tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, context.peer.create_message(request))
                .await;
        match answer {
            Ok(Ok(result)) => {
                let result = serde_json::to_value(result).unwrap_or_default();
                let text = result["message"]["content"]["text"]
                    .as_str()
                    .unwrap_or("(no text)");
                CallToolResult::success(vec![ContentBlock::text(format!("LLM response: {text}"))])
            }
            Ok(Err(error)) => tool_error(format!("sampling failed: {error}")),
            Err(_) => tool_error(no_answer("sampling/createMessage")),
        }
    }

    #[tool(
        description = "Conformance diagnostic: asks the user for a username and email (elicitation/create) and returns the answer."
    )]
    async fn test_elicitation(
        &self,
        Parameters(ElicitationArgs { message }): Parameters<ElicitationArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let schema = json!({
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        });
        elicit(&context, &message, schema, "User response").await
    }

    #[tool(
        description = "Conformance diagnostic (SEP-1034): elicits a form whose string, integer, number, enum and boolean fields all have defaults."
    )]
    async fn test_elicitation_sep1034_defaults(
        &self,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {
                    "type": "string", "description": "User status",
                    "enum": ["active", "inactive", "pending"], "default": "active",
                },
                "verified": {"type": "boolean", "description": "Verified", "default": true},
            },
        });
        let message = "Please review the form; every field has a default";
        elicit(&context, message, schema, "Elicitation completed").await
    }

    #[tool(
        description = "Conformance diagnostic (SEP-1330): elicits a form with the five enum shapes (untitled, titled, legacy enumNames, and both multi-selects)."
    )]
    async fn test_elicitation_sep1330_enums(
        &self,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let titled = |prefix: &str, noun: &str| {
            ["First", "Second", "Third"]
                .iter()
                .enumerate()
                .map(|(index, ordinal)| {
                    json!({"const": format!("{prefix}{}", index + 1), "title": format!("{ordinal} {noun}")})
                })
                .collect::<Vec<_>>()
        };
        let schema = json!({
            "type": "object",
            "properties": {
                "untitledSingle": {
                    "type": "string", "description": "Pick one",
                    "enum": ["option1", "option2", "option3"],
                },
                "titledSingle": {
                    "type": "string", "description": "Pick one (titled)",
                    "oneOf": titled("value", "Option"),
                },
                "legacyEnum": {
                    "type": "string", "description": "Pick one (legacy titles)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array", "description": "Pick some",
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array", "description": "Pick some (titled)",
                    "items": {"anyOf": titled("value", "Choice")},
                },
            },
        });
        let message = "Please pick from the enum fields";
        elicit(&context, message, schema, "Elicitation completed").await
    }

    #[tool(
        description = "Conformance diagnostic (SEP-1613, SEP-2106): its inputSchema uses JSON Schema 2020-12 ($schema, $defs with $anchor, allOf/anyOf, if/then/else, additionalProperties).",
        input_schema = json_schema_2020_12()
    )]
    fn json_schema_2020_12_tool(&self, arguments: JsonObject) -> String {
        format!(
            "JSON Schema 2020-12 tool called with: {}",
            Value::Object(arguments)
        )
    }

    #[tool(
        description = "Conformance diagnostic (SEP-1699): ends the caller's SSE connection mid-call and answers after it, so the result arrives by resuming with Last-Event-ID. Under --preset bare nothing can resume, so it just answers."
    )]
    async fn test_reconnection(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        let closed = match parts.extensions.get::<CloseConnection>() {
            Some(connection) => {
                connection.close();
                true
            }
            None => false,
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        if closed {
            "Reconnection test completed: this result was sent after the server ended the connection.".to_owned()
        } else {
            "Reconnection test completed (no resumable stream here, so the connection stayed open)."
                .to_owned()
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2243): its region parameter is annotated x-mcp-header, so 2026-07-28 requests must mirror it in Mcp-Param-Region. Returns both arguments."
    )]
    fn test_custom_headers(
        &self,
        Parameters(CustomHeaderArgs { region, query }): Parameters<CustomHeaderArgs>,
    ) -> String {
        format!("region={region} query={query}")
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2575): needs the client capability sampling; without it, fails with MissingRequiredClientCapability (-32021)."
    )]
    fn test_missing_capability(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        let declared = client_capabilities(&context).and_then(|caps| caps.sampling);
        match declared {
            Some(_) => Ok("the client declares sampling".to_owned()),
            None => Err(missing_capability("sampling")),
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2575/SEP-2322): asks the user to confirm through an InputRequiredResult, never a request on the response stream; needs the client capability elicitation."
    )]
    fn test_streaming_elicitation(
        &self,
        context: RequestContext<RoleServer>,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        if client_capabilities(&context)
            .and_then(|caps| caps.elicitation)
            .is_none()
        {
            return Err(missing_capability("elicitation"));
        }
        match input_required::accepted(responses.as_ref(), "confirm") {
            Some(content) => Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "confirmed: {}",
                Value::Object(content.clone())
            ))])
            .into()),
            None => Ok(InputRequiredResult::from_input_requests(
                [(
                    "confirm".to_owned(),
                    input_required::elicitation("Please confirm", "ok", "boolean")?,
                )]
                .into(),
            )
            .into()),
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2575): announces notifications/tools/list_changed on open subscriptions/listen streams."
    )]
    fn test_trigger_tool_change(&self) -> String {
        let listeners = self
            .shared
            .list_changes
            .send(ListChange::Tools)
            .unwrap_or(0);
        format!("tools/list_changed announced to {listeners} listener(s)")
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2575): announces notifications/prompts/list_changed on open subscriptions/listen streams."
    )]
    fn test_trigger_prompt_change(&self) -> String {
        let listeners = self
            .shared
            .list_changes
            .send(ListChange::Prompts)
            .unwrap_or(0);
        format!("prompts/list_changed announced to {listeners} listener(s)")
    }
}

/// The suite's JSON Schema 2020-12 input schema, kept as written (rmcp
/// passes a tool's schema through untouched).
fn json_schema_2020_12() -> Arc<JsonObject> {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
            },
        },
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"},
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false,
    });
    match schema {
        Value::Object(schema) => Arc::new(schema),
        _ => Arc::default(),
    }
}

/// Whether the request speaks the stateless era (2026-07-28 or later).
pub(crate) fn stateless_era(meta: &RequestMetaObject) -> bool {
    meta.protocol_version()
        .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
}

/// The client's declared capabilities: the request's `_meta` (2026-07-28) or
/// the handshake (when rmcp kept one).
fn client_capabilities(context: &RequestContext<RoleServer>) -> Option<ClientCapabilities> {
    context.meta.client_capabilities().or_else(|| {
        context
            .peer
            .peer_info()
            .map(|info| info.capabilities.clone())
    })
}

fn missing_capability(capability: &str) -> ErrorData {
    let required = serde_json::from_value(json!({ capability: {} })).unwrap_or_default();
    ErrorData::missing_required_client_capability(required)
}

fn level_rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// Sends a log message the client may receive: in the stateless era only when
/// the request's `_meta` logLevel asks for this level or lower (none asked,
/// none sent); in the legacy era always (no per-client level is kept).
async fn log(context: &RequestContext<RoleServer>, level: LoggingLevel, message: &str) {
    if stateless_era(&context.meta) {
        let wanted = context.meta.log_level();
        if wanted.is_none_or(|wanted| level_rank(level) < level_rank(wanted)) {
            return;
        }
    }
    let notification =
        LoggingMessageNotificationParam::new(level, json!(message)).with_logger("mcp_server");
    let _ = context.peer.notify_logging_message(notification).await;
}

fn tool_error(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// Why a legacy-era request to the client got no answer.
fn no_answer(method: &str) -> String {
    format!(
        "the client did not answer {method} within {}s; with rmcp's sessions off (this example's setting) \
         a client's answer to a server request has nowhere to go",
        CLIENT_REQUEST_TIMEOUT.as_secs()
    )
}

/// A legacy-era `elicitation/create` to the client; returns its answer as
/// `"{label}: action=…, content=…"`.
async fn elicit(
    context: &RequestContext<RoleServer>,
    message: &str,
    requested_schema: Value,
    label: &str,
) -> CallToolResult {
    let params: ElicitRequestParams = match serde_json::from_value(json!({
        "mode": "form",
        "message": message,
        "requestedSchema": requested_schema,
    })) {
        Ok(params) => params,
        Err(error) => return tool_error(format!("cannot build the elicitation: {error}")),
    };
    let request = ServerRequest::ElicitRequest(rmcp::model::ElicitRequest::new(params));
    let answer =
        tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, context.peer.send_request(request)).await;
    match answer {
        Ok(Ok(result)) => {
            let result = serde_json::to_value(result).unwrap_or_default();
            CallToolResult::success(vec![ContentBlock::text(format!(
                "{label}: action={}, content={}",
                result["action"].as_str().unwrap_or("?"),
                result.get("content").cloned().unwrap_or(json!({})),
            ))])
        }
        Ok(Err(error)) => tool_error(format!("elicitation failed: {error}")),
        Err(_) => tool_error(no_answer("elicitation/create")),
    }
}

/// `subscriptions/listen` (2026-07-28): forwards the trigger tools' list
/// changes until the client goes away (rmcp drops the ones not subscribed to).
pub(crate) async fn listen(shared: &Shared, context: SubscriptionContext) {
    let mut changes = shared.list_changes.subscribe();
    loop {
        let change = tokio::select! {
            () = context.cancelled() => return,
            change = changes.recv() => change,
        };
        let sent = match change {
            Ok(ListChange::Tools) => context.sink().notify_tool_list_changed().await,
            Ok(ListChange::Prompts) => context.sink().notify_prompt_list_changed().await,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "list change not sent on a subscription");
        }
    }
}
