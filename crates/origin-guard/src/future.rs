use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use mcp_guard_core::{GuardBody, GuardFuture, McpError, Rejection, truncated_for_display};

use crate::Allowlist;
use pin_project_lite::pin_project;
use tower_service::Service;

pin_project! {
    /// Response future of [`OriginGuard`](crate::OriginGuard): the guard
    /// kit's [`GuardFuture`] (the guard's refusal, or the handler's response),
    /// then a look at the handler's response for a refusal of its own Host
    /// check.
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        inner: GuardFuture<S, ReqBody>,
        // For an admitted request, until the hint was logged once.
        watch: Option<Arc<HandlerRefusal>>,
    }
}

/// The hint about a handler's own Host check, shared by a layer's services:
/// whether it was logged, and the hosts the guard allows, which it names.
/// Made once per layer, so an admitted request copies nothing for it (it
/// once cloned the request's Host header for a hint logged at most once).
#[derive(Debug, Default)]
pub(crate) struct HandlerRefusal {
    logged: AtomicBool,
    allowed_hosts: String,
}

impl HandlerRefusal {
    /// The hint for a guard admitting `allowlist`'s hosts.
    pub(crate) fn naming(allowlist: &Allowlist) -> Self {
        let hosts: Vec<String> = allowlist
            .host_patterns()
            .iter()
            .map(ToString::to_string)
            .collect();
        HandlerRefusal {
            logged: AtomicBool::new(false),
            allowed_hosts: truncated_for_display(hosts.join(", ").as_bytes()),
        }
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    /// The handler's response to an admitted request, watched for a refusal
    /// of the handler's own Host check (logged once per layer, see
    /// [`OriginGuard`](crate::OriginGuard)).
    pub(crate) fn pass(future: S::Future, hint: &Arc<HandlerRefusal>) -> Self {
        let watch = (!hint.logged.load(Ordering::Relaxed)).then(|| hint.clone());
        ResponseFuture {
            inner: GuardFuture::pass(future),
            watch,
        }
    }

    /// The handler's response, not watched: the guard is disabled.
    pub(crate) fn unwatched(future: S::Future) -> Self {
        ResponseFuture {
            inner: GuardFuture::pass(future),
            watch: None,
        }
    }

    /// The guard's refusal of a `method` request, logged.
    pub(crate) fn refuse(error: McpError, method: &Method) -> Self {
        ResponseFuture {
            inner: GuardFuture::refuse(error, method),
            watch: None,
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .field("watch", &self.watch)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<GuardBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        if let Some(hint) = this.watch.take()
            && is_handler_host_refusal(&response)
            && !hint.logged.swap(true, Ordering::Relaxed)
        {
            log_handler_host_refusal(&hint.allowed_hosts);
        }
        Poll::Ready(Ok(response))
    }
}

/// A `403` no mcp-guard layer made (it carries no [`Rejection`]) and that is
/// not JSON: what rmcp's own allowed-hosts check answers (`403`, a plain
/// `Forbidden: Host header is not allowed`, no `Content-Type`).
fn is_handler_host_refusal<B>(response: &Response<B>) -> bool {
    response.status() == StatusCode::FORBIDDEN
        && response.extensions().get::<Rejection>().is_none()
        && !response.headers().contains_key(CONTENT_TYPE)
}

fn log_handler_host_refusal(allowed_hosts: &str) {
    tracing::warn!(
        allowed_hosts,
        "the handler answered 403 to a request the origin guard admitted: if it is \
         rmcp, its own allowed-hosts check refuses the host. The origin guard checks \
         Host already (it allows the hosts named here): build rmcp's \
         StreamableHttpServerConfig with `disable_allowed_hosts()` (or list these \
         hosts in `with_allowed_hosts`). Logged once."
    );
}
