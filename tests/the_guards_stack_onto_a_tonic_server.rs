//! `McpGuard` stacks onto a tonic server with `Server::builder().layer(…)`, the
//! same way tonic users add any tower layer: a JSON-RPC endpoint hosted as a
//! tonic service is served through the guards, and what they refuse never
//! reaches it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body_util::BodyExt;
use mcp_guard::McpGuard;
use serde_json::{Value, json};
use tonic::server::NamedService;

/// A JSON-RPC endpoint as a tonic service (what a gRPC server adding an MCP
/// endpoint beside its gRPC services would write), counting what reaches it.
#[derive(Clone, Default)]
struct JsonRpcOverTonic {
    calls: Arc<AtomicUsize>,
}

impl NamedService for JsonRpcOverTonic {
    const NAME: &'static str = "mcp.v1.Mcp";
}

impl tower::Service<Request<tonic::body::Body>> for JsonRpcOverTonic {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<tonic::body::Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let message: Value = serde_json::from_slice(&body).unwrap();
            let result = match message["method"].as_str() {
                Some("initialize") => json!({"protocolVersion": "2025-11-25", "capabilities": {},
                    "serverInfo": {"name": "tonic", "version": "1"}}),
                _ => json!({}),
            };
            let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
            let mut response = Response::new(tonic::body::Body::new(http_body_util::Full::new(
                bytes::Bytes::from(reply.to_string()),
            )));
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            Ok(response)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tonic_server_serves_through_the_guards_and_refused_requests_never_reach_it() {
    let endpoint = JsonRpcOverTonic::default();
    let calls = endpoint.calls.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let guard = McpGuard::local().build().unwrap();
    let server = tonic::transport::Server::builder()
        .accept_http1(true)
        .layer(guard)
        .add_service(endpoint)
        .serve_with_incoming(tokio_stream_of(listener));
    tokio::spawn(server);

    let url = format!("http://127.0.0.1:{port}/mcp.v1.Mcp/call");
    let http = reqwest::Client::new();
    let post = |body: Value, headers: Vec<(&'static str, String)>| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});

    let initialized = post(initialize.clone(), vec![]).await.unwrap();
    assert_eq!(initialized.status(), 200);
    let session = initialized.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = initialized.json().await.unwrap();
    assert_eq!(body["result"]["serverInfo"]["name"], "tonic");
    let ping = post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        vec![
            ("mcp-session-id", session),
            ("mcp-protocol-version", "2025-11-25".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let rebinding = post(
        initialize.clone(),
        vec![("host", format!("attacker.example:{port}"))],
    )
    .await
    .unwrap();
    assert_eq!(rebinding.status(), 403);
    let no_session = post(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}), vec![])
        .await
        .unwrap();
    assert_eq!(no_session.status(), 400);
    let not_json = http
        .post(&url)
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/event-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "refused requests never reach the tonic service"
    );
}

/// The listener's connections as the stream tonic serves.
fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}
