//! A Tower layer that makes an MCP server an OAuth 2.1 resource server.
//!
//! - **Tokens** come only from one `Authorization: Bearer …` header (scheme
//!   case-insensitive, size-limited). A token in the query string, two
//!   `Authorization` headers, another scheme or a malformed token → `400`
//!   `invalid_request`.
//! - **Verification** through a [`TokenVerifier`]: the shipped
//!   [`JwtVerifier`] (jsonwebtoken; static keys, or a JWKS URL, or JWKS
//!   discovered from the issuer's RFC 8414 / OpenID metadata), the
//!   `IntrospectionVerifier` (feature `introspection`, RFC 7662, for opaque
//!   tokens), or your own.
//!   A verifier that cannot decide answers `503` with `Retry-After`, never a
//!   `500`.
//!   `exp` and `nbf` are honoured whether written as integers or floats, and
//!   `exp` also ends a token's place in the cache. A JWT verifier can require
//!   RFC 9068's `typ: at+jwt`, so an ID token is not taken for an access
//!   token; JWKs published for encryption never verify signatures.
//! - **Audience** (RFC 8707): the token's `aud` must hold this server's
//!   canonical resource URI, compared canonically. An introspection answer
//!   that names no audience is refused too, unless explicitly allowed.
//! - **Scopes**: a [`ScopePolicy`] for the endpoint, per method, per tool,
//!   prompt or resource, with public tools and hierarchies. Missing scopes →
//!   `403` `insufficient_scope` (step-up) whose `scope` keeps what worked: in
//!   the legacy era, where 2025-11-25 clients replace their scopes with the
//!   challenge's, the scopes already granted plus the ones the call needs; in
//!   the 2026-07-28 era, where clients accumulate (SEP-2350), the ones the call
//!   needs.
//! - **Challenges**: every `401`/`403` carries `WWW-Authenticate: Bearer
//!   resource_metadata="…"` (and `scope`, `error` where they apply).
//! - **Metadata** (RFC 9728): [`ProtectedResourceMetadata`] served at the
//!   path-suffixed and root well-known paths; the challenge points at it.
//!   Reads of other public metadata documents (an authorization server's
//!   RFC 8414 or OpenID configuration served by the same app) pass without a
//!   token.
//! - **After**: the [`Principal`](mcp_guard_core::Principal) goes into the
//!   request's extensions, a `DEBUG` tracing span carries subject and client
//!   id (never the token), and `Authorization` is removed unless kept on
//!   purpose.
//! - **Cache**: verified tokens are remembered by a keyed 128-bit hash of the
//!   token (SipHash-2-4 under a secret key drawn per cache),
//!   bounded, never past `exp`. A token the cache knows is decided on the
//!   spot: no future of the layer's own, nothing boxed. A token it does not
//!   know is verified in a boxed check future (the verifier's future cannot
//!   be named); the inner service is called by the layer's
//!   [`ResponseFuture`] once the check passes, never boxed, and needs to be
//!   neither `Send` nor `'static`.
//! - **Body**: the scope policy reads a POST's JSON-RPC envelope. Behind an
//!   [`EnvelopePeekLayer`](mcp_guard_core::EnvelopePeekLayer) (as in the
//!   `mcp-guard` presets) the envelope is already in the request's
//!   extensions and this layer reads nothing. Used alone, it reads the
//!   envelope itself, bounded by its own
//!   [`envelope_limits`](BearerAuthLayerBuilder::envelope_limits) (default
//!   [`EnvelopeLimits::new`](mcp_guard_core::EnvelopeLimits::new)), and hands
//!   the bytes on unchanged.
//! - **Discovery**: [`discovery::DiscoveryFilterLayer`], placed after this
//!   layer with the same policy, lists to each caller only the tools,
//!   prompts and resources its scopes allow ([`ScopePolicy::allows_call`]).
//! - **Off**: [`BearerAuthLayer::disabled`] makes the same service type,
//!   passing every request and response through untouched, so a stack can
//!   switch the guard off by configuration without changing its type.
//! - **Refusals, counted and logged**: each carries a
//!   [`Rejection`](mcp_guard_core::Rejection) extension with the guard
//!   `bearer-auth` and the reason `missing_token` (`401` without a token),
//!   `invalid_token` (`401`), `insufficient_scope` (`403`),
//!   `invalid_request` (`400`) or `verifier_unavailable` (`503`), plus, when
//!   the layer reads the body itself, the body read's `body_too_large`,
//!   `body_read_timeout`, `body_unreadable`. A `401` without a token is
//!   every OAuth client's first answer and logs at `debug`; the other
//!   refusals log at `info`; an issuer, JWKS or introspection endpoint that
//!   cannot be reached logs at `warn`/`error`. No log line or error body
//!   ever holds the token.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
//! use mcp_guard_core::GuardBody;
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = JwtVerifier::builder("https://auth.example.com", "https://mcp.example.com/mcp")
//!     .hs256_secret(b"a shared secret of at least 32 bytes!!")
//!     .build()?;
//! let metadata = ProtectedResourceMetadata::new("https://mcp.example.com/mcp", ["https://auth.example.com"]);
//! let handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
//! });
//! let service = BearerAuthLayer::new(verifier, metadata).layer(handler);
//!
//! let anonymous = Request::post("/mcp").body(Full::from(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))?;
//! let response = service.clone().oneshot(anonymous).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! let rejection = response.extensions().get::<mcp_guard_core::Rejection>().unwrap();
//! assert_eq!((rejection.guard, rejection.reason), ("bearer-auth", "missing_token"));
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
//! );
//!
//! let discovery = Request::get("/.well-known/oauth-protected-resource/mcp").body(Full::default())?;
//! assert_eq!(service.oneshot(discovery).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod cache;
mod challenge;
mod claims;
pub mod discovery;
mod future;
mod guard;
#[cfg(feature = "introspection")]
mod introspection;
#[cfg(feature = "jwks")]
mod jwks;
mod jwt;
mod layer;
mod metadata;
mod policy;
mod resource;
mod service;
mod token;
mod verifier;

pub use future::ResponseFuture;
#[cfg(feature = "introspection")]
pub use introspection::{
    IntrospectionVerifier, IntrospectionVerifierBuilder, IntrospectionVerifierConfigError,
};
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "jwks")]
pub use jwks::DEFAULT_JWKS_FETCH_TIMEOUT;
pub use jwt::{JwtVerifier, JwtVerifierBuilder, JwtVerifierConfigError, MAX_LEEWAY};
pub use layer::{BearerAuthLayer, BearerAuthLayerBuilder, DEFAULT_MAX_TOKEN_BYTES};
pub use metadata::ProtectedResourceMetadata;
pub use policy::ScopePolicy;
pub use resource::canonical_resource_uri;
pub use service::BearerAuth;
pub use verifier::{TokenVerifier, VerifyError};
