//! The guard reads a POST body once: the handler gets the exact bytes, and the
//! layers after the guard that ask for the envelope find it cached instead of
//! reading (and so parsing) the body again. Oversized and stalled bodies are
//! refused with 413 and 408.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

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
use mcp_guard_core::{
    EnvelopeLimits, EnvelopePeekLayer, Era, GuardBody, ProtocolVersion, RpcEnvelope,
};
use mcp_protocol_guard::ProtocolGuardLayer;
use tower::{Layer, ServiceExt};

/// A client body delivered in chunks, counting every chunk handed out.
struct ChunkedBody {
    chunks: Vec<Bytes>,
    handed_out: Arc<AtomicUsize>,
}

impl Body for ChunkedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.chunks.is_empty() {
            return Poll::Ready(None);
        }
        self.handed_out.fetch_add(1, Ordering::SeqCst);
        let chunk = self.chunks.remove(0);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}

/// A body that never arrives.
struct StalledBody;

impl Body for StalledBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

fn post<B>(body: B) -> Request<B> {
    Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "search")
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn three_readers_one_read_and_the_exact_bytes_at_the_handler() {
    // Odd spacing, escapes, non-ASCII split across chunks: nothing may be normalised.
    let original = "{ \"jsonrpc\":\"2.0\",\n \"id\" : \"req-1\", \"method\":\"tools/call\",\t\"params\":{\"name\":\"search\",\"arguments\":{\"q\":\"caf\u{e9} \\u00e9 \\\"quoted\\\"\",\"n\":1.50},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{}}} }  ";
    let bytes = original.as_bytes();
    let split_inside_e_acute = original.find('\u{e9}').unwrap() + 1;
    let chunks = vec![
        Bytes::copy_from_slice(&bytes[..10]),
        Bytes::copy_from_slice(&bytes[10..split_inside_e_acute]),
        Bytes::copy_from_slice(&bytes[split_inside_e_acute..]),
    ];
    let handed_out = Arc::new(AtomicUsize::new(0));
    let body = ChunkedBody {
        chunks,
        handed_out: handed_out.clone(),
    };

    // Two later layers (think bearer-auth's scope policy and the session layer)
    // ask for the envelope too; each records whether it had to read the body.
    let later_reads = Arc::new(AtomicUsize::new(0));
    let handler = tower::service_fn(
        |request: Request<GuardBody<GuardBody<GuardBody<ChunkedBody>>>>| async move {
            assert_eq!(
                request.extensions().get::<ProtocolVersion>(),
                Some(&ProtocolVersion::V2026_07_28)
            );
            assert_eq!(Era::of(&request), Era::Stateless);
            let envelope = request.extensions().get::<RpcEnvelope>().unwrap();
            assert_eq!(envelope.single().unwrap().name(), Some("search"));
            let received = request.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, Infallible>(Response::new(Full::new(received)))
        },
    );
    let reads = later_reads.clone();
    let second_reader =
        tower::service_fn(move |request: Request<GuardBody<GuardBody<ChunkedBody>>>| {
            let handler = handler;
            let reads = reads.clone();
            async move {
                let request = EnvelopeLimits::new().peek(request).await.unwrap();
                reads.fetch_add(usize::from(request.body().is_full()), Ordering::SeqCst);
                handler.oneshot(request).await
            }
        });
    let reads = later_reads.clone();
    let first_reader = tower::service_fn(move |request: Request<GuardBody<ChunkedBody>>| {
        let second_reader = second_reader.clone();
        let reads = reads.clone();
        async move {
            let request = EnvelopeLimits::new().peek(request).await.unwrap();
            reads.fetch_add(usize::from(request.body().is_full()), Ordering::SeqCst);
            second_reader.oneshot(request).await
        }
    });

    let response = ProtocolGuardLayer::new()
        .layer(first_reader)
        .oneshot(post(body))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let received = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        received,
        original.as_bytes(),
        "the handler must get the body byte for byte"
    );
    assert_eq!(
        handed_out.load(Ordering::SeqCst),
        3,
        "the client body was read exactly once"
    );
    assert_eq!(
        later_reads.load(Ordering::SeqCst),
        0,
        "the later layers used the cached envelope"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_before_the_handler() {
    let guard = ProtocolGuardLayer::builder()
        .envelope_limits(EnvelopeLimits::new().max_body_bytes(64))
        .build()
        .unwrap();
    let handler = tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
        panic!("an oversized body reached the handler");
        #[allow(unreachable_code)]
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(1000)
    );
    let response = guard
        .layer(handler)
        .oneshot(post(Full::from(body)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("64 bytes"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stalled_body_is_refused_with_408_after_the_read_timeout() {
    let guard = ProtocolGuardLayer::builder()
        .envelope_limits(EnvelopeLimits::new().read_timeout(Duration::from_millis(50)))
        .build()
        .unwrap();
    let handler = tower::service_fn(|_: Request<GuardBody<StalledBody>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        guard.layer(handler).oneshot(post(StalledBody)),
    )
    .await
    .expect("the guard must not wait for a stalled body beyond its read timeout")
    .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
}

/// Behind an envelope-peek layer the guard finds the envelope in the
/// extensions and reads nothing: its own limits (64 bytes here) do not apply,
/// the client body is read once, by the peek layer, with the peek layer's.
#[tokio::test]
async fn behind_an_envelope_peek_layer_the_guard_reads_nothing() {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"search","arguments":{{"pad":"{}"}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#,
        "x".repeat(1000)
    );
    let handed_out = Arc::new(AtomicUsize::new(0));
    let chunks = vec![
        Bytes::copy_from_slice(&body.as_bytes()[..500]),
        Bytes::copy_from_slice(&body.as_bytes()[500..]),
    ];
    let client_body = ChunkedBody {
        chunks,
        handed_out: handed_out.clone(),
    };
    let guard = ProtocolGuardLayer::builder()
        .envelope_limits(EnvelopeLimits::new().max_body_bytes(64))
        .build()
        .unwrap();
    let handler = tower::service_fn(
        |request: Request<GuardBody<GuardBody<ChunkedBody>>>| async move {
            assert_eq!(
                request.extensions().get::<ProtocolVersion>(),
                Some(&ProtocolVersion::V2026_07_28)
            );
            assert_eq!(Era::of(&request), Era::Stateless);
            // The guard passed the peek layer's body on unread.
            assert!(!request.body().is_full());
            let received = request.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, Infallible>(Response::new(Full::new(received)))
        },
    );
    let service = tower::ServiceBuilder::new()
        .layer(EnvelopePeekLayer::new(EnvelopeLimits::new()))
        .layer(guard)
        .service(handler);
    let response = service.oneshot(post(client_body)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let received = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(received, body.as_bytes());
    assert_eq!(
        handed_out.load(Ordering::SeqCst),
        2,
        "read once, by the peek layer"
    );
}
