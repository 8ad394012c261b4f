//! mcp-guard: Tower middleware that makes any MCP Streamable HTTP server safe to
//! expose.
//!
//! This crate re-exports the guard crates selected by Cargo features; the stacked
//! presets arrive with the later guards.
//!
//! | feature | crate | what it guards |
//! |---|---|---|
//! | `origin-guard` (default) | [`origin_guard`] | Host / Origin validation: DNS rebinding, cross-site requests |
//!
//! The shared vocabulary (header names, protocol versions, JSON-RPC errors, the
//! envelope peek, `Principal`) is in [`core`].
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "origin-guard")] {
//! use mcp_guard::origin_guard::{Allowlist, OriginGuardLayer};
//!
//! let layer = OriginGuardLayer::new(Allowlist::localhost());
//! # let _ = layer;
//! # }
//! ```

pub use mcp_guard_core as core;

#[cfg(feature = "origin-guard")]
pub use mcp_origin_guard as origin_guard;
