//! `GuardFuture`: answers at once, calls the inner service at once, or awaits
//! a check first and then calls the very service it was given.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{GuardFuture, McpError, Rejection, Verdict, error_code, guard};
use tokio::sync::oneshot;
use tower::Service;

/// A handler that counts its calls and echoes a `x-seen` request header.
#[derive(Clone, Default)]
struct Counting {
    calls: Arc<AtomicUsize>,
}

impl Service<Request<()>> for Counting {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let seen = request
            .headers()
            .get("x-seen")
            .map_or(Bytes::new(), |value| {
                Bytes::copy_from_slice(value.as_bytes())
            });
        ready(Ok(Response::new(Full::new(seen))))
    }
}

async fn text<B: http_body::Body<Data = Bytes>>(body: B) -> Bytes
where
    B::Error: std::fmt::Debug,
{
    body.collect().await.unwrap().to_bytes()
}

#[tokio::test]
async fn pass_calls_the_inner_service_and_wraps_its_body() {
    let mut inner = Counting::default();
    let request = Request::builder()
        .header("x-seen", "hello")
        .body(())
        .unwrap();
    let future: GuardFuture<Counting, ()> = GuardFuture::pass(inner.call(request));
    let response = future.await.unwrap();
    assert!(!response.body().is_full());
    assert_eq!(text(response.into_body()).await, "hello");
    assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn answer_serves_the_guards_bytes_and_keeps_status_and_headers() {
    let mut answer = Response::new(Bytes::from_static(b"{\"resource\":\"x\"}"));
    *answer.status_mut() = StatusCode::ACCEPTED;
    answer
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let response = GuardFuture::<Counting, ()>::answer(answer).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.body().is_full());
    assert_eq!(text(response.into_body()).await, "{\"resource\":\"x\"}");
}

#[tokio::test]
async fn refuse_answers_with_the_rejection_and_its_extension() {
    let error = McpError::new(StatusCode::FORBIDDEN, error_code::SERVER_ERROR, "no")
        .with_reason("host_not_allowed")
        .rejected_by(guard::ORIGIN_GUARD);
    let expected = error.body_bytes();
    let response = GuardFuture::<Counting, ()>::refuse(error, &Method::POST)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection {
            guard: "origin-guard",
            reason: "host_not_allowed"
        })
    );
    assert_eq!(text(response.into_body()).await, expected);
}

#[tokio::test]
async fn check_calls_the_given_service_with_the_request_it_passed_only_when_it_resolves() {
    let given = Counting::default();
    let (decide, decided) = oneshot::channel::<Verdict<()>>();
    let check = async move { decided.await.unwrap() };
    let mut future = pin!(GuardFuture::check(check, given.clone()));

    let mut cx = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        given.calls.load(Ordering::SeqCst),
        0,
        "called before the check passed"
    );

    // The check changes the request (as a guard inserting what it learned).
    let changed = Request::builder()
        .header("x-seen", "checked")
        .body(())
        .unwrap();
    decide.send(Verdict::Pass(changed)).unwrap();
    let response = future.await.unwrap();
    assert_eq!(given.calls.load(Ordering::SeqCst), 1);
    assert_eq!(text(response.into_body()).await, "checked");
}

#[tokio::test]
async fn a_check_that_answers_never_calls_the_service() {
    let given = Counting::default();
    let check = ready(Verdict::<()>::refuse(
        McpError::new(StatusCode::UNAUTHORIZED, error_code::SERVER_ERROR, "token")
            .with_reason("missing_token")
            .rejected_by(guard::BEARER_AUTH),
        &Method::GET,
    ));
    let response = GuardFuture::check(check, given.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.extensions().get::<Rejection>().unwrap().reason,
        "missing_token"
    );
    assert_eq!(given.calls.load(Ordering::SeqCst), 0);
}

/// A service that is neither `Send` nor `'static`-free of `Rc`: the kit
/// future forces no such bound on the inner service.
#[derive(Clone)]
struct NotSend {
    calls: Rc<Cell<usize>>,
}

impl Service<Request<()>> for NotSend {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<()>) -> Self::Future {
        self.calls.set(self.calls.get() + 1);
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"local")))))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_inner_service_need_not_be_send() {
    let service = NotSend {
        calls: Rc::new(Cell::new(0)),
    };
    let check = async { Verdict::Pass(Request::new(())) };
    let response = GuardFuture::check(check, service.clone()).await.unwrap();
    assert_eq!(text(response.into_body()).await, "local");
    assert_eq!(service.calls.get(), 1);
}

#[test]
fn debug_names_the_state() {
    let future = GuardFuture::<Counting, ()>::answer(Response::new(Bytes::new()));
    assert!(format!("{future:?}").contains("Answer"));
}

/// Whether the future is `Send` depends only on the service, its future and
/// the check: with `Send` ones it is, so it runs on a multi-thread runtime.
#[test]
fn the_future_is_send_when_its_parts_are() {
    fn assert_send<T: Send>() {}
    assert_send::<GuardFuture<Counting, ()>>();
    assert_send::<
        GuardFuture<Counting, (), std::pin::Pin<Box<dyn Future<Output = Verdict<()>> + Send>>>,
    >();
    assert_send::<
        <mcp_guard_core::EnvelopePeek<
            tower::util::BoxCloneSyncService<
                Request<mcp_guard_core::GuardBody<Full<Bytes>>>,
                Response<Full<Bytes>>,
                Infallible,
            >,
        > as Service<Request<Full<Bytes>>>>::Future,
    >();
}
