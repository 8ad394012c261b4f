//! CORS for MCP endpoints that browser clients actually work with:
//! tower-http's [`CorsLayer`](tower_http::cors::CorsLayer), configured once,
//! correctly, for the Streamable HTTP transport.
//!
//! Browser-based MCP clients (inspectors, web agents) break on hand-rolled CORS
//! setups that forget MCP's headers. [`McpCorsLayer`] grants and exposes what
//! the transport needs:
//!
//! | | |
//! |---|---|
//! | origins | the same [`Allowlist`](mcp_origin_guard::Allowlist) the origin guard enforces: one value configures both, so they never disagree |
//! | methods | `GET`, `POST`, `DELETE`, `OPTIONS` |
//! | request headers | `content-type`, `accept`, `authorization`, `mcp-session-id`, `mcp-protocol-version`, `last-event-id`, `mcp-method`, `mcp-name`, every `mcp-param-*`, plus [extras](McpCorsLayerBuilder::allow_request_headers) |
//! | exposed headers | `mcp-session-id`, `mcp-protocol-version`, `www-authenticate`, plus [extras](McpCorsLayerBuilder::expose_headers) |
//! | credentials | off unless [enabled](McpCorsLayerBuilder::allow_credentials) |
//! | max-age | [`DEFAULT_MAX_AGE`] (2 h), [configurable](McpCorsLayerBuilder::max_age) |
//! | `Vary` | `origin, access-control-request-headers`: what the answer depends on (the allowed methods are constant) |
//!
//! **`mcp-param-*`.** CORS cannot wildcard a header-name prefix, and answering
//! `*` would grant every header (and still not `Authorization`). So for a
//! preflight from an allowed origin, the requested names are cut down to the
//! ones above and the rest mirrored back; a non-MCP header is not granted and the
//! browser refuses the request. A disallowed origin is granted nothing.
//!
//! **The metadata documents.** Requests for `/.well-known/oauth-protected-resource`,
//! `/.well-known/oauth-authorization-server`, `/.well-known/openid-configuration`
//! (and the paths below them, and an issuer's `…/.well-known/openid-configuration`)
//! get a separate, public policy: any origin (`*`),
//! `GET` only, no credentials. A browser must be able to read it to learn how
//! to authenticate. The origin guard lets such reads through from any origin.
//!
//! **Order.** Stack it inside the origin guard (`origin-guard → cors-preset →
//! …`): a disallowed origin's preflight is rejected by the guard, an allowed one
//! is answered here without reaching the handler, and every response from the
//! layers inside (a `401` challenge included) carries the CORS headers, so the
//! browser can read the challenge.
//!
//! **Off.** [`McpCorsLayer::disabled`] switches CORS off by configuration
//! without changing the stack's type: no CORS headers, no preflight answered.
//!
//! **Refused at build time.** [`McpCorsLayerBuilder::build`] returns a
//! [`McpCorsConfigError`] for what browsers refuse: credentials with an allowlist
//! that allows any origin, or with [any request header](McpCorsLayerBuilder::allow_any_request_header);
//! and header names that do not parse. Nothing panics at request time.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_cors_preset::McpCorsLayer;
//! use mcp_origin_guard::{Allowlist, OriginGuardLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // One allowlist for both layers.
//! let allowlist = Allowlist::builder()
//!     .allow_public_url("https://mcp.example.com")
//!     .allow_origin("https://app.example.com")
//!     .build()?;
//! let handler = tower::service_fn(|_request: Request<Full<Bytes>>| async {
//!     let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
//!     response.headers_mut().insert("mcp-session-id", "f3a9".parse().unwrap());
//!     Ok::<_, Infallible>(response)
//! });
//! let service = ServiceBuilder::new()
//!     .layer(OriginGuardLayer::new(allowlist.clone()))
//!     .layer(McpCorsLayer::new(allowlist))
//!     .service(handler);
//!
//! let preflight = Request::options("/mcp")
//!     .header("host", "mcp.example.com")
//!     .header("origin", "https://app.example.com")
//!     .header("access-control-request-method", "POST")
//!     .header("access-control-request-headers", "content-type,mcp-protocol-version,mcp-param-region")
//!     .body(Full::default())?;
//! let response = service.clone().oneshot(preflight).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example.com");
//! assert_eq!(
//!     response.headers()["access-control-allow-headers"],
//!     "content-type,mcp-protocol-version,mcp-param-region"
//! );
//!
//! let post = Request::post("/mcp")
//!     .header("host", "mcp.example.com")
//!     .header("origin", "https://app.example.com")
//!     .body(Full::default())?;
//! let response = service.oneshot(post).await?;
//! let exposed = response.headers()["access-control-expose-headers"].to_str()?;
//! assert!(exposed.contains("mcp-session-id") && exposed.contains("www-authenticate"));
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod config;
mod future;
mod layer;
mod request_headers;
mod service;

pub use config::{DEFAULT_MAX_AGE, McpCorsConfigError, McpCorsLayerBuilder, McpCorsSetting};
pub use future::ResponseFuture;
pub use layer::McpCorsLayer;
pub use service::McpCors;
