use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use governor::DefaultKeyedRateLimiter;
use governor::clock::{Clock, DefaultClock};
use http::{HeaderValue, Request, Response, StatusCode, header::RETRY_AFTER};
use mcp_guard_core::{GuardBody, McpError, Principal, error_code, guard};
use tower_service::Service;

use super::ResponseFuture;

/// Forgets idle principals' buckets every this many requests, so the limiter's
/// memory follows the active callers rather than every caller ever seen.
const SWEEP_EVERY: u32 = 4096;

/// The per-principal rate limit. See the [module docs](super).
#[derive(Clone)]
pub struct RateLimit<S> {
    pub(crate) inner: S,
    pub(crate) limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl<S: fmt::Debug> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Some(key) = request.extensions().get::<Principal>().map(bucket_key) {
            sweep_now_and_then(&self.limiter);
            if let Err(not_until) = self.limiter.check_key(&key) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                tracing::info!(principal = %key, ?wait, "rate limit: request refused");
                return ResponseFuture::answer(
                    too_many_requests(wait)
                        .with_id_from(request.extensions())
                        .into_response(),
                );
            }
        }
        ResponseFuture::pass(self.inner.call(request))
    }
}

/// Who the bucket belongs to: the subject within its issuer, or the client
/// when the token names no subject (client-credentials tokens). Tokens that
/// name neither share one bucket per issuer: a token cannot escape the limit
/// by leaving its names out.
fn bucket_key(principal: &Principal) -> String {
    let issuer = principal.issuer().unwrap_or("");
    match (principal.subject(), principal.client_id()) {
        (Some(subject), _) => format!("{issuer} sub {subject}"),
        (None, Some(client)) => format!("{issuer} client {client}"),
        (None, None) => format!("{issuer} unnamed"),
    }
}

fn sweep_now_and_then(limiter: &DefaultKeyedRateLimiter<String>) {
    static REQUESTS: AtomicU32 = AtomicU32::new(0);
    if REQUESTS
        .fetch_add(1, Ordering::Relaxed)
        .is_multiple_of(SWEEP_EVERY)
    {
        limiter.retain_recent();
    }
}

fn too_many_requests(wait: Duration) -> McpError {
    // Round up: a client that waits the advertised seconds is admitted.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    McpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        error_code::SERVER_ERROR,
        format!("too many requests from this caller; retry after {seconds} s"),
    )
    .with_data(serde_json::json!({ "retryAfterSeconds": seconds }))
    .with_header(RETRY_AFTER, HeaderValue::from(seconds))
    .with_reason("rate_limited")
    .rejected_by(guard::RATE_LIMIT)
}
