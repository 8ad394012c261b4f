//! Observability for MCP servers: one audit event per JSON-RPC request,
//! metrics by method, tool and outcome, and spans named after the
//! OpenTelemetry semantic conventions for MCP. (Being built for issue 22.)

#![cfg_attr(docsrs, feature(doc_cfg))]

mod event;
pub mod metrics;

pub use event::{Caller, EventSink, Outcome, RequestEvent};
