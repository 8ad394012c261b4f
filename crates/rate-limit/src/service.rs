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

use crate::ResponseFuture;

/// The buckets, one per caller key.
pub(crate) type Limiter = DefaultKeyedRateLimiter<Arc<str>>;

/// Forgets idle principals' buckets every this many requests, so the limiter's
/// memory follows the active callers rather than every caller ever seen.
const SWEEP_EVERY: u32 = 4096;

/// The per-principal rate limit. See the [crate docs](crate).
#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    /// `None`: switched off, every request passes.
    limiter: Option<Arc<Limiter>>,
}

impl<S> RateLimit<S> {
    pub(crate) fn new(inner: S, limiter: Option<Arc<Limiter>>) -> Self {
        RateLimit { inner, limiter }
    }
}

impl<S: fmt::Debug> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("enabled", &self.limiter.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Some(limiter) = &self.limiter
            && let Some(principal) = request.extensions().get::<Principal>()
        {
            // The caller's bucket (`Principal::caller_key`, computed once
            // when the principal was built): a refcount bump, no formatting.
            let key = principal.caller_key();
            sweep_now_and_then(limiter);
            if let Err(not_until) = limiter.check_key(key) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                // The refusal's own log line names no caller: say who here.
                tracing::debug!(caller = %key, ?wait, "rate limit: caller over its quota");
                let error = too_many_requests(wait).with_id_from(request.extensions());
                return ResponseFuture::refuse(error, request.method());
            }
        }
        ResponseFuture::pass(self.inner.call(request))
    }
}

fn sweep_now_and_then(limiter: &Limiter) {
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
