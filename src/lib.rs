//! mcp-guard: Tower middleware that makes any MCP Streamable HTTP server safe to
//! expose.
//!
//! [`McpGuard`] stacks the guards selected by Cargo features into one
//! `tower::Layer`, in the order of the request's path, with two presets:
//! [`McpGuard::local`] for a server on the user's machine (the default
//! features) and `McpGuard::remote` (feature `remote`) for a server on the
//! internet. Each guard crate is also re-exported for use on its own.
//!
//! ```text
//! response timeout → origin guard → CORS → envelope peek → protocol guard
//!     → bearer auth → rate limit → session → resumable SSE → your handler
//! ```
//!
//! | feature | crate | what it guards |
//! |---|---|---|
//! | `origin-guard` (default) | [`origin_guard`] | Host / Origin validation: DNS rebinding, cross-site requests |
//! | `cors` (default) | [`cors`] | CORS for browser clients: MCP headers granted and exposed, origins from the same allowlist |
//! | `protocol-guard` (default) | [`protocol_guard`] | content negotiation, `MCP-Protocol-Version`, the stateless era's header–body mirror checks |
//! | `session` (default) | [`session`] | the legacy-era session lifecycle: ids minted or tracked, bound to the caller, expired, capped |
//! | `sse-resume` (default) | [`sse_resume`] | resumable SSE: events stored before sent, `Last-Event-ID` replay scoped to the session |
//! | `remote` | | `bearer-auth`, `jwks` and `rate-limit`: what `McpGuard::remote` adds to the default guards |
//! | `bearer-auth` (`jwks`, `introspection`) | `bearer_auth` | the OAuth 2.1 resource server: JWT/JWKS or introspection, audience, scopes, step-up, RFC 9728 metadata |
//! | `rate-limit` | `rate_limit` (crate `mcp-rate-limit`) | per-principal and per-tool request rate limits (governor), after bearer auth; per-tool limits shared in Redis with `redis` |
//! | `observe` | `observe` (crate `mcp-observe`) | one audit event per MCP request, metrics by method, tool and outcome (the `metrics` facade), OpenTelemetry-named spans; stacked outside the guards |
//! | `redis` | (in `session`, `sse_resume`, `rate_limit`) | session and event stores in Redis, shared by many server instances |
//! | `config` | `config` | the preset's settings from a TOML file and environment variables |
//! | `full` | | all of the above |
//!
//! The default features are what [`McpGuard::local`] stacks, so a local-only
//! server compiles no JWT, JWKS or HTTP-client crate:
//!
//! ```toml
//! [dependencies]
//! mcp-guard = "0.1"                                        # McpGuard::local()
//! # mcp-guard = { version = "0.1", features = ["remote"] } # and McpGuard::remote(…)
//! ```
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
//!
//! # Counting refusals
//!
//! Every response a guard refuses carries a [`core::Rejection`] naming the
//! guard and the reason in its extensions; a response without one is your
//! handler's. Count them from outside, without parsing bodies:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//!
//! use mcp_guard::core::Rejection;
//! use tower::{Layer, ServiceExt};
//!
//! # #[cfg(not(feature = "origin-guard"))] fn main() {}
//! # #[cfg(feature = "origin-guard")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let refused: Arc<Mutex<HashMap<Rejection, u64>>> = Arc::default();
//! let counter = refused.clone();
//! let count = tower::util::MapResponseLayer::new(move |response: http::Response<_>| {
//!     if let Some(rejection) = response.extensions().get::<Rejection>() {
//!         *counter.lock().unwrap().entry(*rejection).or_default() += 1;
//!     }
//!     response
//! });
//! let handler = tower::service_fn(|_request: http::Request<_>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
//!         bytes::Bytes::new(),
//!     )))
//! });
//! let service = count.layer(mcp_guard::McpGuard::local().build().unwrap().layer(handler));
//!
//! // A DNS-rebinding probe: refused by the origin guard, and counted.
//! let probe = http::Request::post("/mcp")
//!     .header("host", "attacker.example")
//!     .body(http_body_util::Full::new(bytes::Bytes::new()))
//!     .unwrap();
//! let response = service.oneshot(probe).await.unwrap();
//! assert_eq!(response.status(), 403);
//! let counts = refused.lock().unwrap();
//! assert_eq!(counts.len(), 1);
//! let (rejection, times) = counts.iter().next().unwrap();
//! assert_eq!((rejection.guard, rejection.reason, *times), ("origin-guard", "host_not_allowed", 1));
//! # }
//! ```

// docs.rs builds with every feature and `--cfg docsrs`: each feature-gated item
// then shows the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use mcp_guard_core as core;

pub mod preset;
pub use preset::{McpGuard, McpGuardConfigError, McpGuardLayer, McpGuardService};

#[cfg(feature = "rate-limit")]
pub use mcp_rate_limit as rate_limit;

#[cfg(feature = "config")]
pub mod config;

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

/// Audit events, metrics and spans for every MCP request ([`mcp_observe`]),
/// stacked outside the guards so it sees every refusal.
#[cfg(feature = "observe")]
pub use mcp_observe as observe;
