//! The one response future every guard returns, and the verdict of a guard's
//! check.

use std::fmt;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Method, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::{GuardBody, McpError};

/// What a guard's check decided about a request: hand it (possibly changed:
/// extensions added, its body read into a [`GuardBody`]) to the inner
/// service, or answer it at once.
///
/// An answer is complete bytes the guard made itself (a rejection, a
/// metadata document); [`GuardFuture`] serves them as [`GuardBody::full`].
#[derive(Debug)]
pub enum Verdict<B> {
    /// Call the inner service with this request.
    Pass(Request<B>),
    /// Answer with this response; the inner service is not called.
    Answer(Response<Bytes>),
}

impl<B> Verdict<B> {
    /// Answers with `error`, logged as a refusal of a `method` request (see
    /// [`McpError::log_refusal`]).
    pub fn refuse(error: McpError, method: &Method) -> Self {
        Verdict::Answer(error.into_logged_answer(method))
    }
}

/// The check type of a guard that never checks asynchronously: the default
/// `C` of [`GuardFuture`], so a synchronous guard's future is
/// `GuardFuture<S, ReqB>`. (A ready verdict also works as a check.)
pub type NoCheck<B> = Ready<Verdict<B>>;

pin_project! {
    /// The response future of every guard: it answers at once, or calls the
    /// inner service at once, or first awaits an asynchronous check (a body
    /// read, a token verification, a store lookup) and then calls the inner
    /// service or answers, as the check's [`Verdict`] says.
    ///
    /// As tower-http's `AsyncRequireAuthorization`: the check future `C` does
    /// not hold the inner service; this future holds the (polled-ready)
    /// service while the check runs and calls it when the check passes. So
    /// nothing is boxed here and no `Send` or `'static` bound falls on the
    /// inner service `S`: whether the whole future is `Send` depends only on
    /// `S`, `S::Future` and `C`.
    ///
    /// `S` is the inner service, `ReqB` the request body it takes, `C` the
    /// check (defaults to [`NoCheck`], for guards that decide synchronously).
    /// The output is the inner response with its body wrapped in
    /// [`GuardBody`], or the guard's answer as [`GuardBody::full`].
    ///
    /// # Example
    ///
    /// A guard that checks asynchronously, written out as a `Service`
    /// (a synchronous guard uses [`pass`](GuardFuture::pass) and
    /// [`answer`](GuardFuture::answer)/[`refuse`](GuardFuture::refuse) only,
    /// and never names `C`):
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::task::{Context, Poll};
    ///
    /// use bytes::Bytes;
    /// use http::{Request, Response, StatusCode};
    /// use http_body_util::{BodyExt, Full};
    /// use mcp_guard_core::{GuardBody, GuardFuture, McpError, Verdict, error_code, guard, take_ready};
    /// use tower::{Service, ServiceExt, service_fn};
    ///
    /// /// Refuses requests without `x-ticket`; looks the ticket up "remotely".
    /// #[derive(Clone)]
    /// struct TicketCheck<S> { inner: S }
    ///
    /// type Check<B> = Pin<Box<dyn Future<Output = Verdict<B>> + Send>>;
    ///
    /// impl<S, B> Service<Request<B>> for TicketCheck<S>
    /// where
    ///     S: Service<Request<B>, Response = Response<Full<Bytes>>> + Clone,
    ///     B: Send + 'static,
    /// {
    ///     type Response = Response<GuardBody<Full<Bytes>>>;
    ///     type Error = S::Error;
    ///     type Future = GuardFuture<S, B, Check<B>>;
    ///
    ///     fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
    ///         self.inner.poll_ready(cx)
    ///     }
    ///
    ///     fn call(&mut self, request: Request<B>) -> Self::Future {
    ///         let Some(ticket) = request.headers().get("x-ticket").cloned() else {
    ///             // Decided now: answer at once.
    ///             let error = McpError::new(StatusCode::FORBIDDEN, error_code::SERVER_ERROR, "send an x-ticket")
    ///                 .with_reason("missing_ticket")
    ///                 .rejected_by(guard::SESSION);
    ///             return GuardFuture::refuse(error, request.method());
    ///         };
    ///         // Decided later: the polled-ready service goes into the future,
    ///         // a fresh clone stays behind (tower's advice on cloning services).
    ///         let inner = take_ready(&mut self.inner);
    ///         let check: Check<B> = Box::pin(async move {
    ///             match ticket == "valid" {
    ///                 true => Verdict::Pass(request),
    ///                 false => Verdict::Answer(Response::new(Bytes::from_static(b"bad ticket"))),
    ///             }
    ///         });
    ///         GuardFuture::check(check, inner)
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handler = service_fn(|_: Request<()>| async {
    ///     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled"))))
    /// });
    /// let guarded = TicketCheck { inner: handler };
    ///
    /// let passed = guarded.clone().oneshot(Request::builder().header("x-ticket", "valid").body(()).unwrap()).await.unwrap();
    /// assert_eq!(passed.into_body().collect().await.unwrap().to_bytes(), "handled");
    ///
    /// let answered = guarded.clone().oneshot(Request::builder().header("x-ticket", "forged").body(()).unwrap()).await.unwrap();
    /// assert_eq!(answered.into_body().collect().await.unwrap().to_bytes(), "bad ticket");
    ///
    /// let refused = guarded.oneshot(Request::new(())).await.unwrap();
    /// assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    /// # });
    /// ```
    pub struct GuardFuture<S, ReqB, C = NoCheck<ReqB>>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        state: State<S, S::Future, C>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F, C> {
        // Awaiting the check; `inner` is taken when it passes.
        Check { #[pin] check: C, inner: Option<S> },
        // Awaiting the inner service.
        Call { #[pin] future: F },
        // The guard's answer; taken when polled.
        Answer { response: Option<Response<Bytes>> },
    }
}

impl<S, ReqB, C> GuardFuture<S, ReqB, C>
where
    S: Service<Request<ReqB>>,
{
    /// Passes the request on: `future` is the inner service's answer to it
    /// (`inner.call(request)`), handed on with its body in [`GuardBody`].
    pub fn pass(future: S::Future) -> Self {
        GuardFuture {
            state: State::Call { future },
        }
    }

    /// Answers at once with `response`, served as [`GuardBody::full`]; the
    /// inner service is not called.
    pub fn answer(response: Response<Bytes>) -> Self {
        GuardFuture {
            state: State::Answer {
                response: Some(response),
            },
        }
    }

    /// Answers at once with `error`, logged as a refusal of a `method`
    /// request (see [`McpError::log_refusal`]).
    pub fn refuse(error: McpError, method: &Method) -> Self {
        GuardFuture::answer(error.into_logged_answer(method))
    }

    /// Awaits `check`, then calls `inner` with the request it passes, or
    /// serves its answer. `inner` must have been polled ready (take it with
    /// [`take_ready`]).
    pub fn check(check: C, inner: S) -> Self {
        GuardFuture {
            state: State::Check {
                check,
                inner: Some(inner),
            },
        }
    }
}

impl<S, ReqB, ResB, C> Future for GuardFuture<S, ReqB, C>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    C: Future<Output = Verdict<ReqB>>,
{
    type Output = Result<Response<GuardBody<ResB>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Check { check, inner } => {
                    let verdict = ready!(check.poll(cx));
                    let next = match (verdict, inner.take()) {
                        (Verdict::Pass(request), Some(mut inner)) => State::Call {
                            future: inner.call(request),
                        },
                        (Verdict::Answer(response), _) => State::Answer {
                            response: Some(response),
                        },
                        (Verdict::Pass(_), None) => polled_after_completion(),
                    };
                    state.set(next);
                }
                StateProj::Call { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(GuardBody::new)));
                }
                StateProj::Answer { response } => {
                    let Some(response) = response.take() else {
                        polled_after_completion()
                    };
                    return Poll::Ready(Ok(response.map(GuardBody::full)));
                }
            }
        }
    }
}

/// The polled-ready service `inner`, taken to be called later from a future
/// (a guard's check that waits), a fresh clone left in its place: tower's
/// advice on cloning services, since the clone has not been polled ready.
///
/// ```
/// let mut inner = vec![1];
/// let ready = mcp_guard_core::take_ready(&mut inner);
/// assert_eq!((ready, inner), (vec![1], vec![1]));
/// ```
pub fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

/// Polling a completed future breaks the `Future` contract (a caller's bug,
/// never a client's doing).
fn polled_after_completion() -> ! {
    panic!("GuardFuture polled after completion")
}

impl<S, ReqB, C> fmt::Debug for GuardFuture<S, ReqB, C>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Check { .. } => "Check",
            State::Call { .. } => "Call",
            State::Answer { .. } => "Answer",
        };
        f.debug_struct("GuardFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
