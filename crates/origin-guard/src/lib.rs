//! A Tower layer that stops DNS-rebinding and cross-site requests before they
//! reach an MCP server.
//!
//! A DNS-rebinding attack points the attacker's host name at your server's
//! address, so a page on the attacker's site can talk to a server on your
//! machine: the request carries the attacker's name in **both** `Host` and
//! `Origin`. The [`OriginGuardLayer`] checks each against an [`Allowlist`] of
//! parsed patterns (never string prefixes):
//!
//! - **Host** — from the `Host` header, or the URI authority (HTTP/2
//!   `:authority`, absolute-form targets). Missing, duplicated, malformed (a bad
//!   port, userinfo, a bare IPv6 address…) or disagreeing with the authority →
//!   `400`. Well-formed but not allowed → `403` (or `421`, see
//!   [`OriginGuardLayer::host_rejection_status`]).
//! - **Origin** — absent is allowed (a non-browser client). Present and not
//!   allowed, malformed, duplicated, or `null` (unless
//!   [`AllowlistBuilder::allow_null_origin`]) → `403`, as the MCP specification
//!   requires. The public OAuth metadata documents are the one exception:
//!   reads of `/.well-known/oauth-protected-resource…` (RFC 9728),
//!   `/.well-known/oauth-authorization-server…` (RFC 8414) and OpenID
//!   configuration skip the Origin check
//!   (see [`OriginGuardLayer::public_metadata_from_any_origin`]).
//!
//! Every rejection is a JSON-RPC error body naming the header, the offending
//! value (truncated) and how to allow it, logged at `info` (a rebinding probe
//! is expected traffic, not an operator's problem). The response carries a
//! [`Rejection`](mcp_guard_core::Rejection) extension with the guard
//! `origin-guard` and one of the reasons `host_missing`, `host_duplicated`,
//! `host_malformed`, `host_authority_mismatch`, `host_not_allowed`,
//! `origin_duplicated`, `null_origin`, `origin_malformed`,
//! `origin_not_allowed`, so metrics count refusals without parsing bodies.
//! The log line is [`McpError::log_refusal`](mcp_guard_core::McpError::log_refusal)'s,
//! as for every guard.
//!
//! **Behind rmcp.** rmcp's `StreamableHttpService` checks `Host` itself
//! against a loopback-only list by default, and refuses a host this guard
//! admitted (`mcp.example.com`, say) with a bare `403`. Build it with
//! `StreamableHttpServerConfig::default().disable_allowed_hosts()`: this guard
//! is the Host check. When the handler answers an admitted request with such
//! a `403`, the guard logs a warning saying so, once per layer. Behind a
//! reverse proxy that rewrites `Host`, trust its forwarded host with
//! [`OriginGuardLayer::trust_forwarded_host_from`] instead of switching the
//! guard off.
//!
//! [`OriginGuardLayer::disabled`] switches the guard off by configuration
//! without changing the stack's type.
//!
//! The layer is generic over request and response bodies: it never reads the
//! body, and its rejections use [`GuardBody`](mcp_guard_core::GuardBody)
//! around the handler's own body type, so it sits in front of an axum `Router`,
//! a hyper `service_fn` or a tonic-style service alike.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_origin_guard::{Allowlist, OriginGuardLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let allowlist = Allowlist::builder()
//!     .allow_host("localhost:*")
//!     .allow_origin("http://localhost:*")
//!     .build()?;
//! let handler = tower::service_fn(|_request: Request<Full<Bytes>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
//! });
//! let service = ServiceBuilder::new()
//!     .layer(OriginGuardLayer::new(allowlist))
//!     .service(handler);
//!
//! let local = Request::post("/mcp")
//!     .header("host", "localhost:8080")
//!     .header("origin", "http://localhost:5173")
//!     .body(Full::default())?;
//! assert_eq!(service.clone().oneshot(local).await?.status(), StatusCode::OK);
//!
//! let rebinding = Request::post("/mcp")
//!     .header("host", "attacker.example:8080")
//!     .header("origin", "http://attacker.example:8080")
//!     .body(Full::default())?;
//! assert_eq!(service.oneshot(rebinding).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod allowlist;
mod check;
mod future;
mod layer;
mod pattern;
mod proxy;
mod service;

pub use allowlist::{Allowlist, AllowlistBuilder, AllowlistConfigError, AllowlistSetting};
pub use check::HostRejectionStatus;
pub use future::ResponseFuture;
pub use layer::OriginGuardLayer;
pub use pattern::{HostAndPort, HostName, HostPattern, InvalidHostOrOrigin, Origin, OriginPattern};
pub use proxy::{ForwardedHeader, PeerAddrFn, TrustedProxies, TrustedProxiesConfigError};
pub use service::OriginGuard;
