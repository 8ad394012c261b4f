//! mcp-guard: Tower middleware that makes any MCP Streamable HTTP server safe to
//! expose.
//!
//! This crate re-exports the guard crates selected by Cargo features; the stacked
//! presets arrive with the later guards.
//!
//! | feature | crate | what it guards |
//! |---|---|---|
//! | `origin-guard` (default) | [`origin_guard`] | Host / Origin validation: DNS rebinding, cross-site requests |
//! | `cors` (default) | [`cors`] | CORS for browser clients: MCP headers granted and exposed, origins from the same allowlist |
//! | `protocol-guard` (default) | [`protocol_guard`] | content negotiation, `MCP-Protocol-Version`, the stateless era's header–body mirror checks |
//! | `session` (default) | [`session`] | the legacy-era session lifecycle: ids minted or tracked, bound to the caller, expired, capped |
//! | `sse-resume` (default) | [`sse_resume`] | resumable SSE: events stored before sent, `Last-Event-ID` replay scoped to the session |
//! | `bearer-auth` (`jwks`, `introspection`) | [`bearer_auth`] | the OAuth 2.1 resource server: JWT/JWKS or introspection, audience, scopes, step-up, RFC 9728 metadata |
//!
//! The shared vocabulary (header names, protocol versions, JSON-RPC errors, the
//! envelope peek, `Principal`) is in [`core`].
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "cors")] {
//! use mcp_guard::cors::McpCorsLayer;
//! use mcp_guard::origin_guard::{Allowlist, OriginGuardLayer};
//!
//! // One allowlist configures both layers, so they never disagree.
//! let allowlist = Allowlist::localhost();
//! let layers = tower::ServiceBuilder::new()
//!     .layer(OriginGuardLayer::new(allowlist.clone()))
//!     .layer(McpCorsLayer::new(allowlist));
//! # let _ = layers;
//! # }
//! ```

pub use mcp_guard_core as core;

#[cfg(feature = "origin-guard")]
pub use mcp_origin_guard as origin_guard;

#[cfg(feature = "cors")]
pub use mcp_cors_preset as cors;

#[cfg(feature = "protocol-guard")]
pub use mcp_protocol_guard as protocol_guard;

#[cfg(feature = "session")]
pub use mcp_session as session;

#[cfg(feature = "sse-resume")]
pub use mcp_sse_resume as sse_resume;

#[cfg(feature = "bearer-auth")]
pub use mcp_bearer_auth as bearer_auth;
