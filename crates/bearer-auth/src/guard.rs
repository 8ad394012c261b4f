//! What the layer decides for one request: which scopes the call needs, the
//! token's principal, and whether it may pass. A token the verified-token
//! cache knows is decided on the spot; any other is verified in a future
//! (its verifier's, which may fetch keys or ask an introspection endpoint).

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use mcp_guard_core::{Era, McpError, Principal, RpcEnvelope, Verdict, error_code, guard};

use crate::challenge::{insufficient_scope, invalid_request, unauthorized};
use crate::layer::Settings;
use crate::policy::{Needed, Requirement};
use crate::token::bearer_token;
use crate::verifier::{TokenVerifier, VerifyError};

/// An enabled layer's state, shared by its services.
pub(crate) struct Guard<V> {
    pub(crate) verifier: V,
    pub(crate) settings: Settings,
}

/// What a request needs next.
pub(crate) enum Decision<B> {
    /// Decided without waiting: pass it on, or answer.
    Done(Verdict<B>),
    /// Its token is not in the cache: verify it first.
    Verify(Unverified<B>),
}

/// A request whose token is to be verified, and the scopes its call needs.
pub(crate) struct Unverified<B> {
    request: Request<B>,
    token: String,
    needed: Needed<'static>,
}

impl<V> Guard<V> {
    /// The RFC 9728 document, for a GET/HEAD of one of its paths.
    pub(crate) fn metadata_document<B>(&self, request: &Request<B>) -> Option<Response<Bytes>> {
        let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
        let path = request.uri().path();
        if !is_read
            || !self
                .settings
                .served_paths
                .iter()
                .any(|served| served == path)
        {
            return None;
        }
        let mut response = Response::new(self.settings.metadata_json.clone());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        Some(response)
    }

    /// Decides what it can without waiting, the envelope (if any) already
    /// in `request`'s extensions: malformed credentials, a missing token, a
    /// public call without one, and a token the cache knows.
    pub(crate) fn decide<B>(&self, request: Request<B>) -> Decision<B> {
        let settings = &self.settings;
        let needed = match settings.policy.requirement(
            request.method() == Method::POST,
            request.extensions().get::<RpcEnvelope>(),
        ) {
            Requirement::Public => None,
            Requirement::Scopes(scopes) => Some(scopes),
        };
        let token = match bearer_token(request.headers(), request.uri(), settings.max_token_bytes) {
            Ok(Some(token)) => token,
            Ok(None) => {
                // Without a token, a public call passes as it came.
                let Some(needed) = needed else {
                    return Decision::Done(Verdict::Pass(request));
                };
                let challenge = unauthorized(&settings.metadata_url, &needed.to_vec(), None);
                return Decision::Done(refuse(challenge, &request));
            }
            Err(problem) => {
                let error = invalid_request(&settings.metadata_url, &problem.describe());
                return Decision::Done(refuse(error, &request));
            }
        };
        // A public call's token is still verified: a bad one is refused.
        let needed = needed.unwrap_or_default();
        match settings.cache.get(token) {
            Some(principal) => Decision::Done(self.admit(request, principal, &needed)),
            None => {
                let token = token.to_owned();
                Decision::Verify(Unverified {
                    request,
                    token,
                    needed: needed.into_owned(),
                })
            }
        }
    }

    /// The verdict on a request whose token stands for `principal`: refused
    /// when scopes are missing; otherwise passed with the principal in its
    /// extensions and (unless kept on purpose) no `Authorization` header.
    fn admit<B>(
        &self,
        mut request: Request<B>,
        principal: Principal,
        needed: &Needed<'_>,
    ) -> Verdict<B> {
        let settings = &self.settings;
        // For an observer outside the stack (one lookup when none): who
        // called, whether or not the scopes suffice, so an audit event of a
        // 403 names the caller too.
        mcp_guard_core::Trail::record_principal_in(request.extensions(), &principal);
        if !settings.policy.allows(principal.scopes(), needed) {
            let needed = needed.to_vec();
            let challenge = step_up_scopes(Era::of(&request), principal.scopes(), &needed);
            let error = insufficient_scope(&settings.metadata_url, &challenge, &needed);
            return refuse(error, &request);
        }
        if !settings.keep_authorization {
            request.headers_mut().remove(AUTHORIZATION);
        }
        request.extensions_mut().insert(principal);
        Verdict::Pass(request)
    }
}

impl<V: TokenVerifier> Guard<V> {
    /// Verifies a token the cache did not know (remembering the answer),
    /// then decides.
    pub(crate) async fn verify<B>(self: Arc<Self>, unverified: Unverified<B>) -> Verdict<B> {
        let Unverified {
            request,
            token,
            needed,
        } = unverified;
        let settings = &self.settings;
        match self.verifier.verify(&token).await {
            Ok(principal) => {
                let limit = self.verifier.max_cache_ttl();
                settings.cache.insert(&token, &principal, limit);
                self.admit(request, principal, &needed)
            }
            Err(VerifyError::Invalid(reason)) => {
                let challenge =
                    unauthorized(&settings.metadata_url, &needed.to_vec(), Some(&reason));
                refuse(challenge, &request)
            }
            Err(VerifyError::Unavailable {
                reason,
                retry_after,
            }) => {
                // The reason is the operator's to read, not the client's.
                tracing::error!(%reason, "token verification unavailable");
                refuse(unavailable(retry_after.as_secs()), &request)
            }
        }
    }
}

/// `503`: the verifier cannot decide now.
fn unavailable(retry_after_secs: u64) -> McpError {
    McpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        error_code::SERVER_ERROR,
        "the access token cannot be verified right now; retry after the Retry-After interval",
    )
    .with_header(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)))
    .with_reason("verifier_unavailable")
}

/// The refusal of `request`: named after this guard, answering with the
/// request's JSON-RPC id when its envelope was read, logged at the error's
/// severity.
fn refuse<B>(error: McpError, request: &Request<B>) -> Verdict<B> {
    let error = error
        .with_id_from(request.extensions())
        .rejected_by(guard::BEARER_AUTH);
    Verdict::refuse(error, request.method())
}

/// The refusal of the layer's own body read (used alone): no envelope, so no
/// id; only POST bodies are read.
pub(crate) fn refuse_unread(error: McpError) -> Response<Bytes> {
    error
        .rejected_by(guard::BEARER_AUTH)
        .into_logged_answer(&Method::POST)
}

/// The scopes a step-up challenge asks for, so that a client that follows it
/// keeps what worked before.
///
/// Legacy era (2025-11-25 clients replace their scope with the challenge's):
/// the scopes already granted plus the ones this call needs. Stateless era
/// (SEP-2350: clients accumulate): the scopes this call needs.
fn step_up_scopes(era: Era, granted: &BTreeSet<String>, needed: &[String]) -> Vec<String> {
    match era {
        Era::Legacy => granted
            .iter()
            .chain(needed)
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        Era::Stateless => needed.to_vec(),
    }
}
