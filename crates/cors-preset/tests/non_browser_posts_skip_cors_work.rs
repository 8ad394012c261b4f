//! A POST without `Origin` (an MCP client that is not a browser) skips
//! tower-http's CORS work: its response carries no CORS headers, since no
//! browser reads them and no cache keeps a POST response. A GET (cacheable) and
//! any request with `Origin` still get the full treatment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use mcp_cors_preset::McpCorsLayer;
use tower::{Layer, ServiceExt};

mod support;

fn service()
-> impl tower::Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible>
+ Clone {
    McpCorsLayer::localhost().layer(support::handler())
}

fn request(method: &str, origin: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri("/mcp");
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(Full::default()).unwrap()
}

#[tokio::test]
async fn a_post_without_origin_gets_no_cors_headers() {
    for method in ["POST", "DELETE"] {
        let response = service().oneshot(request(method, None)).await.unwrap();
        assert_eq!(response.status(), 200);
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-") || *name == "vary")
            .collect();
        assert!(cors.is_empty(), "{method} without Origin: {cors:?}");
    }
}

#[tokio::test]
async fn a_get_without_origin_still_varies_on_origin() {
    let response = service().oneshot(request("GET", None)).await.unwrap();
    let vary = response.headers()["vary"].to_str().unwrap();
    assert!(vary.contains("origin"), "{vary}");
}

#[tokio::test]
async fn a_post_from_an_allowed_origin_gets_the_full_treatment() {
    let response = service()
        .oneshot(request("POST", Some("http://localhost:5173")))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("mcp-session-id")
    );
    assert!(
        response.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("origin")
    );
}
