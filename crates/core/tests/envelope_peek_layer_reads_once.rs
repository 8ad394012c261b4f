//! `EnvelopePeekLayer`: one bounded read of a POST body, the envelope in the
//! extensions, the bytes unchanged, refusals named `envelope-peek`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{EnvelopeLimits, EnvelopePeekLayer, GuardBody, Rejection, RpcEnvelope, guard};
use tower::{Layer, ServiceExt, service_fn};

/// A body that yields its chunks, then either ends, fails, or never ends;
/// counts how often it is polled.
struct TestBody {
    chunks: Vec<Bytes>,
    then: Then,
    polls: Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
enum Then {
    End,
    Fail,
    Stall,
}

impl TestBody {
    fn new(chunks: &[&'static str], then: Then) -> (TestBody, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        let body = TestBody {
            chunks: chunks
                .iter()
                .rev()
                .map(|chunk| Bytes::from_static(chunk.as_bytes()))
                .collect(),
            then,
            polls: polls.clone(),
        };
        (body, polls)
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if let Some(chunk) = self.chunks.pop() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match self.then {
            Then::End => Poll::Ready(None),
            Then::Fail => Poll::Ready(Some(Err(std::io::Error::other("connection reset")))),
            Then::Stall => Poll::Pending,
        }
    }
}

/// What the handler saw: the envelope's method, and the body bytes.
type Seen = Arc<std::sync::Mutex<Option<(Option<String>, Bytes, bool)>>>;

/// A handler that records what it saw and answers 200.
fn handler<B>(
    seen: Seen,
) -> impl tower::Service<Request<GuardBody<B>>, Response = Response<Full<Bytes>>, Error = Infallible>
+ Clone
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Debug,
{
    service_fn(move |request: Request<GuardBody<B>>| {
        let seen = seen.clone();
        async move {
            let method = request
                .extensions()
                .get::<RpcEnvelope>()
                .and_then(RpcEnvelope::single)
                .and_then(|message| message.method())
                .map(str::to_owned);
            let had_envelope = request.extensions().get::<RpcEnvelope>().is_some();
            let bytes = request.into_body().collect().await.unwrap().to_bytes();
            *seen.lock().unwrap() = Some((method, bytes, had_envelope));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled"))))
        }
    })
}

fn assert_refused<B>(response: &Response<B>, status: StatusCode, reason: &'static str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection {
            guard: guard::ENVELOPE_PEEK,
            reason,
        })
    );
}

#[tokio::test]
async fn the_envelope_goes_into_the_extensions_and_the_bytes_on_unchanged() {
    let raw = "  {\"jsonrpc\":\"2.0\",\"id\":1,\n\"method\":\"tools/list\"}  ";
    let (first, second) = raw.split_at(10);
    let (body, _polls) = TestBody::new(&[first, second], Then::End);
    let seen = Seen::default();
    let service = EnvelopePeekLayer::new(EnvelopeLimits::new()).layer(handler(seen.clone()));
    let response = service
        .oneshot(Request::post("/mcp").body(body).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response.body().is_full(),
        "the handler's body passes through"
    );
    let (method, bytes, _) = seen.lock().unwrap().take().unwrap();
    assert_eq!(method.as_deref(), Some("tools/list"));
    assert_eq!(bytes, raw);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_the_handler_is_not_called() {
    let (body, _polls) = TestBody::new(&["0123456789", "0123456789"], Then::End);
    let seen = Seen::default();
    let service = EnvelopePeekLayer::new(EnvelopeLimits::new().max_body_bytes(15))
        .layer(handler(seen.clone()));
    let response = service
        .oneshot(Request::post("/mcp").body(body).unwrap())
        .await
        .unwrap();
    assert_refused(&response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    assert!(seen.lock().unwrap().is_none());
    let json = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&json).contains("15 bytes"),
        "{json:?}"
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_reading() {
    let (body, polls) = TestBody::new(&["{}"], Then::End);
    let service = EnvelopePeekLayer::new(EnvelopeLimits::new().max_body_bytes(100))
        .layer(handler(Seen::default()));
    let request = Request::post("/mcp")
        .header("content-length", "101")
        .body(body)
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_refused(&response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    assert_eq!(polls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_408_after_the_read_timeout() {
    let (body, _polls) = TestBody::new(&["{\"id\":"], Then::Stall);
    let seen = Seen::default();
    let service =
        EnvelopePeekLayer::new(EnvelopeLimits::new().read_timeout(Duration::from_secs(3)))
            .layer(handler(seen.clone()));
    let started = tokio::time::Instant::now();
    let response = service
        .oneshot(Request::post("/mcp").body(body).unwrap())
        .await
        .unwrap();
    assert_refused(&response, StatusCode::REQUEST_TIMEOUT, "body_read_timeout");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert!(seen.lock().unwrap().is_none());
}

#[tokio::test]
async fn a_failing_body_is_400_without_the_transport_error() {
    let (body, _polls) = TestBody::new(&["{"], Then::Fail);
    let service = EnvelopePeekLayer::default().layer(handler(Seen::default()));
    let response = service
        .oneshot(Request::post("/mcp").body(body).unwrap())
        .await
        .unwrap();
    assert_refused(&response, StatusCode::BAD_REQUEST, "body_unreadable");
    let json = response.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&json).contains("connection reset"));
    assert!(String::from_utf8_lossy(&json).contains("\"id\":null"));
}

#[tokio::test]
async fn requests_other_than_post_are_not_read() {
    for method in ["GET", "DELETE", "PUT"] {
        let (body, polls) = TestBody::new(&["{\"id\":1,\"method\":\"ping\"}"], Then::End);
        let seen = Seen::default();
        let service = EnvelopePeekLayer::default().layer(handler(seen.clone()));
        let request = Request::builder()
            .method(method)
            .uri("/mcp")
            .body(body)
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (_, bytes, had_envelope) = seen.lock().unwrap().take().unwrap();
        assert!(!had_envelope, "{method} was peeked");
        // Only the handler read it: one data frame and the end.
        assert_eq!(bytes, "{\"id\":1,\"method\":\"ping\"}");
        assert_eq!(polls.load(Ordering::SeqCst), 2, "{method}");
    }
}

#[tokio::test]
async fn a_second_peek_behind_the_first_reads_nothing() {
    let raw =
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}";
    let (body, polls) = TestBody::new(&[raw], Then::End);
    let seen = Seen::default();
    // The inner peek would refuse this body (1 byte limit) if it read it.
    let inner = EnvelopePeekLayer::new(EnvelopeLimits::new().max_body_bytes(1))
        .layer(handler(seen.clone()));
    let service = EnvelopePeekLayer::new(EnvelopeLimits::new()).layer(inner);
    let response = service
        .oneshot(Request::post("/mcp").body(body).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (method, bytes, _) = seen.lock().unwrap().take().unwrap();
    assert_eq!(method.as_deref(), Some("tools/call"));
    assert_eq!(bytes, raw);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "read once: one frame and the end"
    );
}

#[tokio::test]
async fn the_layer_reports_its_limits() {
    let limits = EnvelopeLimits::new().max_body_bytes(5);
    let layer = EnvelopePeekLayer::new(limits);
    let response = layer
        .layer(handler::<Full<Bytes>>(Seen::default()))
        .oneshot(
            Request::post("/mcp")
                .body(Full::new(Bytes::from_static(b"123456")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(format!("{:?}", layer.limits().unwrap()).contains("max_body_bytes: 5"));
    assert!(layer.is_enabled());
}

#[tokio::test]
async fn a_disabled_peek_reads_nothing_and_refuses_nothing() {
    let layer = EnvelopePeekLayer::disabled();
    assert!(!layer.is_enabled());
    assert!(layer.limits().is_none());
    // A declared length an enabled peek refuses before reading passes
    // untouched, unread, unrefused.
    let raw = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    let seen = Seen::default();
    let (body, polls) = TestBody::new(&[raw], Then::End);
    let response = layer
        .layer(handler(seen.clone()))
        .oneshot(
            Request::post("/mcp")
                .header("content-length", "999999999")
                .body(body)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<Rejection>().is_none());
    let (method, bytes, had_envelope) = seen.lock().unwrap().take().unwrap();
    assert!(!had_envelope, "a disabled peek wrote no envelope");
    assert_eq!(method, None);
    assert_eq!(bytes, raw);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "only the handler read the body"
    );
}

/// Enabled and disabled peeks are one type: a stack switches by configuration.
#[test]
fn enabled_and_disabled_peeks_have_one_service_type() {
    let seen = Seen::default();
    let peeks: [mcp_guard_core::EnvelopePeek<_>; 2] = [
        EnvelopePeekLayer::default().layer(handler::<Full<Bytes>>(seen.clone())),
        EnvelopePeekLayer::disabled().layer(handler::<Full<Bytes>>(seen)),
    ];
    assert_eq!(peeks.len(), 2);
}
