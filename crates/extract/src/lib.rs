//! Who is calling, for handlers: the [`Principal`] mcp-guard's bearer auth
//! verified, as an extractor for axum handlers and rmcp tools, so a handler
//! can check ownership ("a user acts only on their own records") without
//! ever seeing or parsing a token.
//!
//! Bearer auth (`mcp-bearer-auth`, or the `remote` preset) puts the verified
//! [`Principal`] in the request's extensions. [`Authenticated`] takes it out:
//!
//! - in an **axum** handler (feature `axum`): `Authenticated` as an argument
//!   (a request without a principal is answered `401` with a JSON-RPC error),
//!   or `Option<Authenticated>` where anonymous callers are welcome;
//! - in an **rmcp** tool or prompt (feature `rmcp`): `Authenticated` as a
//!   parameter of a `#[tool]` function. rmcp's Streamable HTTP server hands
//!   the HTTP request's parts to the handler; the principal is read from
//!   them. A call without one is a JSON-RPC `invalid_request` error that says
//!   bearer auth must run in front.
//!
//! # Owner checks
//!
//! Store [`owner_key`](Authenticated::owner_key) with a record when a caller
//! creates it, and ask [`owns`](Authenticated::owns) before acting on it. The
//! key is the subject within its issuer, whatever OAuth client the user came
//! through (issuer and subject length-prefixed, so no two users share one). A
//! token without a subject has no key and owns nothing: keyed by its client
//! instead, every user of that client would own every other's records. (A
//! machine client whose tokens carry no `sub` can key its records by
//! `principal().client_id()` itself, if that is what it means.)
//!
//! ```
//! use mcp_guard_core::Principal;
//! use mcp_guard_extract::Authenticated;
//!
//! let alice = Authenticated(Principal::new().with_issuer("https://auth.example").with_subject("alice"));
//! let bob = Authenticated(Principal::new().with_issuer("https://auth.example").with_subject("bob"));
//!
//! // Alice creates a record: keep her key with it.
//! let owner = alice.owner_key().expect("a token with a subject has a key");
//! assert_eq!(owner, "20:https://auth.example 5:alice");
//! assert!(alice.owns(&owner));
//! assert!(!bob.owns(&owner));
//!
//! // A token without a subject owns nothing, even as a known client.
//! let robot = Authenticated(Principal::new().with_issuer("https://auth.example").with_client_id("cron"));
//! assert_eq!(robot.owner_key(), None);
//! assert!(!robot.owns(""));
//! ```
//!
//! # In an rmcp tool
//!
//! ```
//! # #[cfg(feature = "rmcp")] {
//! use mcp_guard_extract::Authenticated;
//! use rmcp::handler::server::wrapper::Parameters;
//! use rmcp::{ErrorData, schemars};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct NoteId {
//!     id: u64,
//! }
//!
//! # struct Notes;
//! # impl Notes { fn owner_of(&self, _: u64) -> Option<String> { None } }
//! // Inside a `#[tool_router] impl`: `#[tool(description = "Deletes one of your notes.")]`
//! fn delete_note(
//!     notes: &Notes,
//!     caller: Authenticated,
//!     Parameters(NoteId { id }): Parameters<NoteId>,
//! ) -> Result<String, ErrorData> {
//!     match notes.owner_of(id) {
//!         Some(owner) if caller.owns(&owner) => Ok(format!("deleted note {id}")),
//!         // The same answer for "not yours" and "no such note": a caller
//!         // learns nothing about other users' notes.
//!         _ => Err(ErrorData::invalid_params(format!("you have no note {id}"), None)),
//!     }
//! }
//! # }
//! ```
//!
//! # In an axum handler
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use mcp_guard_extract::Authenticated;
//!
//! async fn whoami(caller: Authenticated) -> String {
//!     caller.principal().subject().unwrap_or("a client").to_owned()
//! }
//!
//! async fn greeting(caller: Option<Authenticated>) -> &'static str {
//!     if caller.is_some() { "welcome back" } else { "hello, stranger" }
//! }
//!
//! let app: axum::Router = axum::Router::new()
//!     .route("/me", axum::routing::get(whoami))
//!     .route("/hello", axum::routing::get(greeting));
//! # let _ = app;
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README is the crate's front page on crates.io: its example must compile.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "rmcp")]
mod rmcp;

pub use mcp_guard_core::Principal;

#[cfg(feature = "axum")]
pub use crate::axum::MissingPrincipal;

/// The caller bearer auth verified: the request's [`Principal`]. An
/// extractor for axum handlers (feature `axum`) and rmcp tools and prompts
/// (feature `rmcp`); see the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl Authenticated {
    /// The caller's principal: issuer, subject, client id, scopes, claims.
    pub fn principal(&self) -> &Principal {
        &self.0
    }

    /// The principal, owned.
    pub fn into_principal(self) -> Principal {
        self.0
    }

    /// What to store as a record's owner: the subject within its issuer,
    /// `"{len}:{issuer} {len}:{subject}"` (the issuer empty when the token
    /// names none); `None` for a token without a subject (it can own nothing).
    pub fn owner_key(&self) -> Option<String> {
        let principal = &self.0;
        let subject = principal.subject()?;
        let issuer = principal.issuer().unwrap_or("");
        Some(format!(
            "{}:{issuer} {}:{subject}",
            issuer.len(),
            subject.len()
        ))
    }

    /// Whether a record whose stored owner key is `owner_key` belongs to
    /// this caller (never, for a caller without a subject).
    pub fn owns(&self, owner_key: &str) -> bool {
        self.owner_key().is_some_and(|key| key == owner_key)
    }

    /// Whether the caller's token carries `scope` (for rules finer than the
    /// scope policy, e.g. "admins act on anyone's records").
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.has_scope(scope)
    }
}

/// What a handler without a principal is told, in both integrations.
#[cfg(any(feature = "axum", feature = "rmcp"))]
const NO_PRINCIPAL: &str = "this needs an authenticated caller, and the request reached the handler \
    without one: send a bearer token (the server must stack mcp-guard's bearer auth in front of \
    this handler, with this method not public)";

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(principal: Principal) -> Authenticated {
        Authenticated(principal)
    }

    #[test]
    fn the_same_user_through_another_client_owns_the_record() {
        let web = caller(
            Principal::new()
                .with_issuer("https://i")
                .with_subject("alice")
                .with_client_id("web"),
        );
        let cli = caller(
            Principal::new()
                .with_issuer("https://i")
                .with_subject("alice")
                .with_client_id("cli"),
        );
        let key = web.owner_key().unwrap();
        assert!(cli.owns(&key));
    }

    #[test]
    fn the_same_subject_at_another_issuer_is_another_user() {
        let here = caller(
            Principal::new()
                .with_issuer("https://a")
                .with_subject("alice"),
        );
        let there = caller(
            Principal::new()
                .with_issuer("https://b")
                .with_subject("alice"),
        );
        assert!(!there.owns(&here.owner_key().unwrap()));
    }

    #[test]
    fn tokens_without_a_subject_own_nothing_not_even_their_clients_records() {
        let cron = caller(
            Principal::new()
                .with_issuer("https://i")
                .with_client_id("cron"),
        );
        assert_eq!(cron.owner_key(), None);
        for stored in ["", "https://i client cron", "9:https://i 0:", "cron"] {
            assert!(!cron.owns(stored), "{stored:?}");
        }
        let nameless = caller(Principal::new().with_issuer("https://i"));
        assert_eq!(nameless.owner_key(), None);
    }

    #[test]
    fn issuer_and_subject_cannot_be_shifted_into_one_another() {
        // "a b" + "c" and "a" + "b c" would share a key without the lengths.
        let one = caller(Principal::new().with_issuer("a b").with_subject("c"));
        let two = caller(Principal::new().with_issuer("a").with_subject("b c"));
        assert_ne!(one.owner_key(), two.owner_key());
    }
}
