use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use mcp_guard_core::{GuardBody, GuardFuture, McpError, Rejection, truncated_for_display};
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
        watch: Option<Watch>,
    }
}

/// For a request the guard admitted, until the hint was logged once: the
/// Host it admitted, to name in the hint.
#[derive(Debug)]
struct Watch {
    host: Option<HeaderValue>,
    logged: Arc<AtomicBool>,
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    /// The handler's response to an admitted request, watched for a refusal
    /// of the handler's own Host check (logged once per layer, see
    /// [`OriginGuard`](crate::OriginGuard)).
    pub(crate) fn pass(
        future: S::Future,
        host: Option<HeaderValue>,
        logged: &Arc<AtomicBool>,
    ) -> Self {
        let watch = (!logged.load(Ordering::Relaxed)).then(|| Watch {
            host,
            logged: logged.clone(),
        });
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
        if let Some(watch) = this.watch.take()
            && is_handler_host_refusal(&response)
            && !watch.logged.swap(true, Ordering::Relaxed)
        {
            log_handler_host_refusal(watch.host.as_ref());
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

fn log_handler_host_refusal(host: Option<&HeaderValue>) {
    let host = host.map_or_else(String::new, |host| truncated_for_display(host.as_bytes()));
    tracing::warn!(
        host = %host,
        "the handler answered 403 to a request whose Host the origin guard admitted: \
         if it is rmcp, its own allowed-hosts check refuses the host. The origin guard \
         checks Host already: build rmcp's StreamableHttpServerConfig with \
         `disable_allowed_hosts()` (or list this host in `with_allowed_hosts`). \
         Logged once."
    );
}
