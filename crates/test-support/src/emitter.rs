//! An rmcp server whose one tool streams log notifications: what the
//! event-stream tests store, replay and resume.

// Log notifications are deprecated by SEP-2577 for later revisions, but are
// part of the 2025 revisions these streams speak.
#![allow(deprecated)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, LoggingLevel,
    LoggingMessageNotificationParam, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

/// `emit {count, pause_ms, size}` sends `count` log notifications (with
/// `size` bytes of padding each when asked, `pause_ms` apart), then its
/// result; `hang` waits until its request is cancelled, and counts that.
#[derive(Clone, Debug, Default)]
pub struct Emitter {
    cancelled: Arc<AtomicUsize>,
}

impl Emitter {
    /// How many `hang` calls were cancelled so far, shared by every clone.
    pub fn cancelled(&self) -> Arc<AtomicUsize> {
        self.cancelled.clone()
    }
}

impl ServerHandler for Emitter {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_logging()
                .build(),
        )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        if request.name == "hang" {
            // One message starts the response stream; then wait to be cancelled.
            let log = LoggingMessageNotificationParam::new(
                LoggingLevel::Info,
                json!({ "hanging": true }),
            );
            let _ = context.peer.notify_logging_message(log).await;
            context.ct.cancelled().await;
            self.cancelled.fetch_add(1, Ordering::SeqCst);
            return Err(ErrorData::internal_error("cancelled", None));
        }
        let number = |name: &str| arguments.get(name).and_then(Value::as_u64).unwrap_or(0);
        let (count, pause, size) = (number("count"), number("pause_ms"), number("size"));
        let pad = "x".repeat(usize::try_from(size).unwrap());
        for seq in 0..count {
            let data = if size > 0 {
                json!({ "seq": seq, "pad": pad })
            } else {
                json!({ "seq": seq })
            };
            let log = LoggingMessageNotificationParam::new(LoggingLevel::Info, data);
            context
                .peer
                .notify_logging_message(log)
                .await
                .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
            if pause > 0 {
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(format!("emitted {count}"))]).into())
    }
}
