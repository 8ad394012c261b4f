use std::collections::BTreeSet;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use mcp_guard_core::well_known::{forget_session, is_metadata_read};
use mcp_guard_core::{
    BoxError, Era, GuardBody, McpError, Principal, RpcEnvelope, error_code, guard,
};
use tower_service::Service;
use tracing::Instrument;

use crate::challenge::{MISSING_TOKEN, insufficient_scope, invalid_request, unauthorized};
use crate::future::ResponseFuture;
use crate::layer::Settings;
use crate::policy::Requirement;
use crate::token::bearer_token;
use crate::verifier::{TokenVerifier, VerifyError};

/// Middleware that authenticates MCP requests with bearer tokens. Made by
/// [`BearerAuthLayer`](crate::BearerAuthLayer).
pub struct BearerAuth<S, V> {
    pub(crate) inner: S,
    pub(crate) verifier: Arc<V>,
    pub(crate) settings: Arc<Settings>,
}

impl<S: Clone, V> Clone for BearerAuth<S, V> {
    fn clone(&self) -> Self {
        BearerAuth {
            inner: self.inner.clone(),
            verifier: self.verifier.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<S: std::fmt::Debug, V> std::fmt::Debug for BearerAuth<S, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, V, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuth<S, V>
where
    S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    V: TokenVerifier,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Some(document) = self.metadata_document(&request) {
            return ResponseFuture::ready(document);
        }
        if is_metadata_read(&request) {
            // Another public metadata document (the authorization server's,
            // when this app serves it too): no token needed to read it, and no
            // session reached through it.
            let mut request = request;
            forget_session(&mut request);
            if !self.settings.keep_authorization {
                // No token passthrough, not even to a metadata handler.
                request.headers_mut().remove(AUTHORIZATION);
            }
            let inner = self.inner.call(request.map(GuardBody::new));
            return ResponseFuture::boxed(Box::pin(
                async move { Ok(inner.await?.map(GuardBody::new)) },
            ));
        }
        let clone = self.inner.clone();
        let authenticate = Authenticate {
            inner: std::mem::replace(&mut self.inner, clone),
            verifier: self.verifier.clone(),
            settings: self.settings.clone(),
        };
        ResponseFuture::boxed(Box::pin(authenticate.handle(request)))
    }
}

impl<S, V> BearerAuth<S, V> {
    /// The RFC 9728 document, for a GET/HEAD of one of its paths.
    fn metadata_document<B, R>(&self, request: &Request<B>) -> Option<Response<GuardBody<R>>> {
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
        let mut response = Response::new(GuardBody::full(self.settings.metadata_json.clone()));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        Some(response)
    }
}

struct Authenticate<S, V> {
    inner: S,
    verifier: Arc<V>,
    settings: Arc<Settings>,
}

impl<S, V> Authenticate<S, V>
where
    V: TokenVerifier,
{
    async fn handle<ReqBody, ResBody>(
        mut self,
        request: Request<ReqBody>,
    ) -> Result<Response<GuardBody<ResBody>>, S::Error>
    where
        S: Service<Request<GuardBody<ReqBody>>, Response = Response<ResBody>>,
        ReqBody: Body<Data = Bytes>,
        ReqBody::Error: Into<BoxError>,
    {
        let settings = self.settings.clone();
        let mut request = match settings.peek.peek(request).await {
            Ok(request) => request,
            Err(error) => return Ok(reject(error, None)),
        };
        let requirement = settings.policy.requirement(
            request.method() == Method::POST,
            request.extensions().get::<RpcEnvelope>(),
        );
        let token = match bearer_token(request.headers(), request.uri(), settings.max_token_bytes) {
            Ok(token) => token.map(str::to_owned),
            Err(problem) => {
                return Ok(reject(
                    invalid_request(&settings.metadata_url, &problem.describe()),
                    Some(request.extensions()),
                ));
            }
        };
        let needed = match &requirement {
            Requirement::Public => Vec::new(),
            Requirement::Scopes(scopes) => scopes.clone(),
        };
        let Some(token) = token else {
            if requirement == Requirement::Public {
                return Ok(self.inner.call(request).await?.map(GuardBody::new));
            }
            return Ok(reject(
                unauthorized(&settings.metadata_url, &needed, None),
                Some(request.extensions()),
            ));
        };
        let principal = match verified(&*self.verifier, &settings, &token).await {
            Ok(principal) => principal,
            Err(VerifyError::Invalid(reason)) => {
                return Ok(reject(
                    unauthorized(&settings.metadata_url, &needed, Some(&reason)),
                    Some(request.extensions()),
                ));
            }
            Err(VerifyError::Unavailable {
                reason,
                retry_after,
            }) => {
                tracing::error!(%reason, "token verification unavailable");
                let error = McpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    error_code::SERVER_ERROR,
                    "the access token cannot be verified right now; retry after the Retry-After interval",
                )
                .with_header(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)))
                .with_reason("verifier_unavailable");
                return Ok(reject(error, Some(request.extensions())));
            }
        };
        let missing = settings.policy.missing(principal.scopes(), &needed);
        if !missing.is_empty() {
            let challenge = step_up_scopes(Era::of(&request), principal.scopes(), &needed);
            return Ok(reject(
                insufficient_scope(&settings.metadata_url, &challenge, &needed),
                Some(request.extensions()),
            ));
        }
        if !settings.keep_authorization {
            request.headers_mut().remove(AUTHORIZATION);
        }
        let span = tracing::info_span!(
            "mcp_principal",
            subject = principal.subject().unwrap_or_default(),
            client_id = principal.client_id().unwrap_or_default()
        );
        request.extensions_mut().insert(principal);
        let response = self.inner.call(request).instrument(span).await?;
        Ok(response.map(GuardBody::new))
    }
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

/// The principal of `token`: from the verified-token cache, else verified now.
async fn verified<V: TokenVerifier>(
    verifier: &V,
    settings: &Settings,
    token: &str,
) -> Result<Principal, VerifyError> {
    if let Some(principal) = settings.cache.get(token).await {
        return Ok(principal);
    }
    let principal = verifier.verify(token).await?;
    settings
        .cache
        .insert(token, &principal, verifier.max_cache_ttl())
        .await;
    Ok(principal)
}

/// The rejection, answering with the request's JSON-RPC id when its parsed
/// envelope is in `extensions`.
fn reject<B>(error: McpError, extensions: Option<&http::Extensions>) -> Response<GuardBody<B>> {
    let error = match extensions {
        Some(extensions) => error.with_id_from(extensions),
        None => error,
    }
    .rejected_by(guard::BEARER_AUTH);
    // Refusals are the clients' business: the first request of every OAuth
    // client is a 401 without a token (debug), the rest are info. What the
    // operator must act on (an unreachable issuer) is logged where it happens.
    if error
        .rejection()
        .is_some_and(|rejection| rejection.reason == MISSING_TOKEN)
    {
        tracing::debug!(
            status = error.status().as_u16(),
            reason = error.message(),
            "bearer auth rejected a request"
        );
    } else {
        tracing::info!(
            status = error.status().as_u16(),
            reason = error.message(),
            "bearer auth rejected a request"
        );
    }
    error.into_response()
}
