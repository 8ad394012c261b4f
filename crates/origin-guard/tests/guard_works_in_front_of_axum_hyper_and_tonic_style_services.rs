//! The same layer, unchanged, in front of three real servers on loopback: an
//! axum `Router`, a plain hyper server running a `tower::service_fn`, and a
//! tonic-style HTTP/2 service with its own body type (custom error type,
//! trailers). Each is driven by a real HTTP client over TCP.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::routing::post;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use mcp_origin_guard::{Allowlist, OriginGuardLayer, TrustedProxies};
use tokio::net::TcpListener;
use tower::{Layer, ServiceBuilder};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

struct Reply {
    status: StatusCode,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    address: SocketAddr,
    host: &str,
    origin: Option<&str>,
) -> Reply {
    let mut request = Request::post(format!("http://{address}/mcp"))
        .header("host", host)
        .header("content-type", "application/json");
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = client
        .request(
            request
                .body(Full::new(Bytes::from_static(INITIALIZE.as_bytes())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    Reply {
        status,
        body: collected.to_bytes(),
        trailers,
    }
}

fn http1_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn assert_guarded(
    client: &Client<HttpConnector, Full<Bytes>>,
    address: SocketAddr,
    handler_says: &str,
) {
    let allowed = send(
        client,
        address,
        &format!("localhost:{}", address.port()),
        Some("http://localhost:6274"),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.body, handler_says);

    let rebinding = send(
        client,
        address,
        &format!("attacker.example:{}", address.port()),
        Some("http://attacker.example"),
    )
    .await;
    assert_eq!(rebinding.status, StatusCode::FORBIDDEN);
    let error: serde_json::Value = serde_json::from_slice(&rebinding.body).unwrap();
    assert_eq!(error["error"]["data"]["header"], "host");

    let cross_site = send(client, address, "127.0.0.1", Some("https://evil.example")).await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let error: serde_json::Value = serde_json::from_slice(&cross_site.body).unwrap();
    assert_eq!(error["error"]["data"]["header"], "origin");
}

#[tokio::test]
async fn in_front_of_an_axum_router() {
    let router = axum::Router::new()
        .route("/mcp", post(|| async { "axum handler" }))
        .layer(OriginGuardLayer::localhost());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    assert_guarded(&http1_client(), address, "axum handler").await;
}

/// Serves `service` with hyper on a fresh loopback port, HTTP/1.1 and HTTP/2.
async fn serve_with_hyper<S, B>(service: S) -> SocketAddr
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

#[tokio::test]
async fn in_front_of_a_plain_hyper_service() {
    let handler = tower::service_fn(|request: Request<Incoming>| async move {
        // The guard hands the hyper body on untouched.
        let body = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, INITIALIZE);
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
            b"hyper handler",
        ))))
    });
    let service = ServiceBuilder::new()
        .layer(OriginGuardLayer::localhost())
        .service(handler);
    let address = serve_with_hyper(service).await;
    assert_guarded(&http1_client(), address, "hyper handler").await;
}

/// A response body of the kind tonic uses: its own error type, data then trailers.
struct GrpcStyleBody {
    frames: Vec<Frame<Bytes>>,
}

#[derive(Debug)]
struct GrpcStyleError;

impl std::fmt::Display for GrpcStyleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("grpc-style error")
    }
}

impl std::error::Error for GrpcStyleError {}

impl Body for GrpcStyleBody {
    type Data = Bytes;
    type Error = GrpcStyleError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, GrpcStyleError>>> {
        if self.frames.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(self.frames.remove(0))))
    }
}

#[derive(Clone)]
struct GrpcStyleService;

impl tower::Service<Request<Incoming>> for GrpcStyleService {
    type Response = Response<GrpcStyleBody>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        assert_eq!(request.version(), http::Version::HTTP_2);
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let body = GrpcStyleBody {
            frames: vec![
                Frame::data(Bytes::from_static(b"tonic-style handler")),
                Frame::trailers(trailers),
            ],
        };
        std::future::ready(Ok(Response::new(body)))
    }
}

#[tokio::test]
async fn in_front_of_a_tonic_style_http2_service() {
    let service = OriginGuardLayer::localhost().layer(GrpcStyleService);
    let address = serve_with_hyper(service).await;
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    // Over HTTP/2 the host travels as :authority (the URI), which the guard checks.
    let allowed = client
        .request(
            Request::post(format!("http://localhost:{}/mcp", address.port()))
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    let collected = allowed.into_body().collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    assert_eq!(collected.to_bytes(), "tonic-style handler");

    // A rebinding request over HTTP/2: connected to 127.0.0.1, :authority names
    // the attacker's host (hyper's connection-level client sends it as given).
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let rebinding = sender
        .send_request(
            Request::post(format!("http://attacker.example:{}/mcp", address.port()))
                .body(Full::<Bytes>::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(rebinding.status(), StatusCode::FORBIDDEN);
    let collected = rebinding.into_body().collect().await.unwrap();
    assert!(
        collected.trailers().is_none(),
        "the rejection is the guard's, not the handler's"
    );

    // A Host header that disagrees with :authority is refused outright.
    let smuggled = send(&client, address, "attacker.example", None).await;
    assert_eq!(smuggled.status, StatusCode::BAD_REQUEST);
    assert!(smuggled.trailers.is_none());

    let cross_site = send(
        &client,
        address,
        &address.to_string(),
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(
        cross_site.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        cross_site.body
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_host_is_checked() {
    let allowlist = Allowlist::builder()
        .allow_public_url("https://mcp.example.com")
        .build()
        .unwrap();
    let connect_info = |extensions: &http::Extensions| {
        extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    };
    let serve = |proxies: TrustedProxies| {
        let router = axum::Router::new()
            .route("/mcp", post(|| async { "behind the proxy" }))
            .layer(
                OriginGuardLayer::new(allowlist.clone())
                    .trust_forwarded_host_from(proxies.peer_addr_from(connect_info)),
            );
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .await
            });
            address
        }
    };
    let client = http1_client();
    let forwarded = |address: SocketAddr, forwarded_host: &'static str| {
        Request::post(format!("http://{address}/mcp"))
            .header("host", format!("backend.internal:{}", address.port()))
            .header("x-forwarded-host", forwarded_host)
            .header("origin", "https://mcp.example.com")
            .body(Full::default())
            .unwrap()
    };

    // The proxy is this test's own loopback client.
    let trusting = serve(TrustedProxies::new(["127.0.0.1", "::1"]).unwrap()).await;
    let response = client
        .request(forwarded(trusting, "mcp.example.com"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = client
        .request(forwarded(trusting, "attacker.example"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A proxy list that does not include the peer: the forwarded header is ignored,
    // and the rejection says so.
    let not_trusting = serve(TrustedProxies::new(["10.0.0.1"]).unwrap()).await;
    let response = client
        .request(forwarded(not_trusting, "mcp.example.com"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("not come from a trusted proxy"),
        "{message}"
    );
}
