//! Every bypass attempt we know of, through the real layer, with the status and
//! JSON-RPC error body it must get.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use bytes::Bytes;
use http::{Request, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Full};
use mcp_origin_guard::{Allowlist, HostRejectionStatus, OriginGuardLayer};
use tower::{Layer, ServiceExt};

mod support;
use support::{REACHED, handler, request};

struct Outcome {
    status: StatusCode,
    body: serde_json::Value,
    reached_handler: bool,
}

impl Outcome {
    /// The refusal's JSON-RPC error message.
    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap()
    }
}

async fn send(layer: &OriginGuardLayer, request: Request<Full<Bytes>>) -> Outcome {
    let response = layer.layer(handler()).oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response.headers().get("content-type").cloned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    if bytes == REACHED {
        return Outcome {
            status,
            body: serde_json::Value::Null,
            reached_handler: true,
        };
    }
    assert_eq!(content_type.unwrap(), "application/json");
    Outcome {
        status,
        body: serde_json::from_slice(&bytes).unwrap(),
        reached_handler: false,
    }
}

async fn expect(
    layer: &OriginGuardLayer,
    host: Option<&str>,
    origin: Option<&str>,
    status: StatusCode,
    header: &str,
) {
    let outcome = send(layer, request(host, origin).body(Full::default()).unwrap()).await;
    assert_eq!(
        outcome.status, status,
        "host {host:?} origin {origin:?}: {}",
        outcome.body
    );
    assert!(!outcome.reached_handler);
    assert_eq!(outcome.body["jsonrpc"], "2.0");
    assert_eq!(outcome.body["id"], serde_json::Value::Null);
    assert_eq!(outcome.body["error"]["code"], -32000);
    assert_eq!(outcome.body["error"]["data"]["header"], header);
    assert!(outcome.message().len() > 20);
}

/// Sends `request` and asserts the guard refused it with `status` and a
/// message that says `needle`.
async fn expect_refused(
    layer: &OriginGuardLayer,
    request: Request<Full<Bytes>>,
    status: StatusCode,
    needle: &str,
) {
    let outcome = send(layer, request).await;
    assert_eq!(outcome.status, status, "{}", outcome.body);
    assert!(outcome.message().contains(needle), "{}", outcome.message());
}

async fn expect_allowed(layer: &OriginGuardLayer, host: Option<&str>, origin: Option<&str>) {
    let outcome = send(layer, request(host, origin).body(Full::default()).unwrap()).await;
    assert!(
        outcome.reached_handler,
        "host {host:?} origin {origin:?} was rejected: {}",
        outcome.body
    );
    assert_eq!(outcome.status, StatusCode::OK);
}

#[tokio::test]
async fn localhost_preset_admits_local_names_with_any_port() {
    let layer = OriginGuardLayer::localhost();
    for host in [
        "localhost",
        "localhost:8080",
        "LOCALHOST:8080",
        "localhost.:8080",
        "127.0.0.1:3000",
        "[::1]:3000",
        "[0:0::1]",
    ] {
        expect_allowed(&layer, Some(host), None).await;
    }
    for origin in [
        "http://localhost:5173",
        "https://localhost",
        "http://127.0.0.1:6274",
        "http://[::1]:80",
        "HTTP://LocalHost:1",
    ] {
        expect_allowed(&layer, Some("localhost:8080"), Some(origin)).await;
    }
}

#[tokio::test]
async fn malformed_hosts_get_400() {
    let layer = OriginGuardLayer::localhost();
    for host in [
        "127.0.0.1:80.evil.com",
        "localhost:evil",
        "[::1]:99999",
        "localhost:0",
        "evil.com@localhost",
        "user:pw@localhost:8080",
        "localhost/../x",
        "::1",
        "127.1",
        "local%68ost",
        "",
    ] {
        expect(&layer, Some(host), None, StatusCode::BAD_REQUEST, "host").await;
    }
}

#[tokio::test]
async fn disallowed_hosts_get_403_or_421() {
    let layer = OriginGuardLayer::localhost();
    for host in [
        "evil.com",
        "evil.com:8080",
        "localhost.evil.com:8080",
        "evil-localhost",
        "[::ffff:127.0.0.1]:8080",
        "127.0.0.2:8080",
        "10.0.0.1",
    ] {
        expect(&layer, Some(host), None, StatusCode::FORBIDDEN, "host").await;
    }
    let misdirected = OriginGuardLayer::localhost()
        .host_rejection_status(HostRejectionStatus::MisdirectedRequest);
    expect(
        &misdirected,
        Some("evil.com"),
        None,
        StatusCode::MISDIRECTED_REQUEST,
        "host",
    )
    .await;
    // A malformed host stays 400 whatever the configured status.
    expect(
        &misdirected,
        Some("localhost:evil"),
        None,
        StatusCode::BAD_REQUEST,
        "host",
    )
    .await;
}

#[tokio::test]
async fn the_rebinding_request_is_rejected_even_when_host_and_origin_agree() {
    let layer = OriginGuardLayer::localhost();
    expect(
        &layer,
        Some("attacker.example:8080"),
        Some("http://attacker.example:8080"),
        StatusCode::FORBIDDEN,
        "host",
    )
    .await;
}

#[tokio::test]
async fn missing_and_duplicated_hosts_get_400() {
    let layer = OriginGuardLayer::localhost();
    expect(&layer, None, None, StatusCode::BAD_REQUEST, "host").await;
    let duplicated = Request::post("/mcp")
        .header("host", "localhost:8080")
        .header("host", "localhost:8080")
        .body(Full::default())
        .unwrap();
    expect_refused(
        &layer,
        duplicated,
        StatusCode::BAD_REQUEST,
        "more than one Host",
    )
    .await;
}

#[tokio::test]
async fn the_uri_authority_is_checked_and_must_agree_with_host() {
    let layer = OriginGuardLayer::localhost();
    // HTTP/2 style: no Host header, :authority in the URI.
    let h2 = |uri: &'static str| {
        Request::post(Uri::from_static(uri))
            .version(Version::HTTP_2)
            .body(Full::default())
            .unwrap()
    };
    assert!(
        send(&layer, h2("http://localhost:8080/mcp"))
            .await
            .reached_handler
    );
    assert_eq!(
        send(&layer, h2("http://evil.com:8080/mcp")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&layer, h2("http://user@localhost:8080/mcp"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Absolute-form request target whose authority disagrees with Host.
    let mismatch = Request::post(Uri::from_static("http://evil.com/mcp"))
        .header("host", "localhost:8080")
        .body(Full::default())
        .unwrap();
    expect_refused(&layer, mismatch, StatusCode::BAD_REQUEST, "disagrees").await;
    let agreeing = Request::post(Uri::from_static("http://LOCALHOST:8080/mcp"))
        .header("host", "localhost:8080")
        .body(Full::default())
        .unwrap();
    assert!(send(&layer, agreeing).await.reached_handler);
}

#[tokio::test]
async fn bad_origins_get_403() {
    let layer = OriginGuardLayer::localhost();
    for origin in [
        "http://evil.com",
        "http://localhost.evil.com:8080",
        "http://127.0.0.1:80.evil.com",
        "null",
        "http://localhost:8080/path",
        "http://localhost:8080/",
        "http://user@localhost:8080",
        "file://",
        "ftp://localhost:21",
        "http://localhost:99999",
        "http://localhost:8080 http://evil.com",
    ] {
        expect(
            &layer,
            Some("localhost:8080"),
            Some(origin),
            StatusCode::FORBIDDEN,
            "origin",
        )
        .await;
    }
    let duplicated = request(Some("localhost:8080"), Some("http://localhost:1"))
        .header("origin", "http://localhost:2")
        .body(Full::default())
        .unwrap();
    expect_refused(
        &layer,
        duplicated,
        StatusCode::FORBIDDEN,
        "more than one Origin",
    )
    .await;
}

#[tokio::test]
async fn null_origin_is_allowed_only_when_configured() {
    let allowing = OriginGuardLayer::new(
        Allowlist::builder()
            .allow_host("localhost:*")
            .allow_null_origin(true)
            .build()
            .unwrap(),
    );
    expect_allowed(&allowing, Some("localhost"), Some("null")).await;
    expect(
        &allowing,
        Some("localhost"),
        Some("http://localhost"),
        StatusCode::FORBIDDEN,
        "origin",
    )
    .await;
}

#[tokio::test]
async fn non_ascii_and_control_bytes_are_rejected_and_escaped() {
    let layer = OriginGuardLayer::localhost();
    let host = http::HeaderValue::from_bytes(b"localh\xc3\xb6st:8080").unwrap();
    let outcome = send(
        &layer,
        Request::post("/mcp")
            .header("host", host)
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::BAD_REQUEST);
    let message = outcome.message();
    assert!(message.contains("localh\\xc3\\xb6st"), "{message}");

    let origin = http::HeaderValue::from_bytes(b"http://localhost\t:1").unwrap();
    let outcome = send(
        &layer,
        request(Some("localhost"), None)
            .header("origin", origin)
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn long_values_are_truncated_in_the_error() {
    let layer = OriginGuardLayer::localhost();
    let long = format!("http://{}.com", "a".repeat(5000));
    let outcome = send(
        &layer,
        request(Some("localhost"), Some(&long))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::FORBIDDEN);
    assert!(outcome.message().len() < 400);
}

#[tokio::test]
async fn rejection_messages_say_how_to_allow_the_value() {
    let layer = OriginGuardLayer::localhost();
    let outcome = send(
        &layer,
        request(Some("mcp.internal:9000"), None)
            .body(Full::default())
            .unwrap(),
    )
    .await;
    let message = outcome.message();
    assert!(
        message.contains("allow_host(\"mcp.internal:9000\")"),
        "{message}"
    );
    let outcome = send(
        &layer,
        request(Some("localhost"), Some("https://app.example.com"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    let message = outcome.message();
    assert!(
        message.contains("allow_origin(\"https://app.example.com\")"),
        "{message}"
    );
}

#[tokio::test]
async fn preflights_are_checked_too() {
    let layer = OriginGuardLayer::localhost();
    let preflight = Request::options("/mcp")
        .header("host", "localhost:8080")
        .header("origin", "http://evil.com")
        .header("access-control-request-method", "POST")
        .body(Full::default())
        .unwrap();
    assert_eq!(send(&layer, preflight).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn subdomain_wildcards_and_fixed_ports_through_the_layer() {
    let layer = OriginGuardLayer::new(
        Allowlist::builder()
            .allow_host("*.example.com:8443")
            .allow_public_url("https://mcp.example.com")
            .allow_origin("https://*.example.com")
            .build()
            .unwrap(),
    );
    expect_allowed(
        &layer,
        Some("a.example.com:8443"),
        Some("https://app.example.com:443"),
    )
    .await;
    expect_allowed(
        &layer,
        Some("mcp.example.com"),
        Some("https://mcp.example.com"),
    )
    .await;
    expect_allowed(&layer, Some("mcp.example.com:443"), None).await;
    expect(
        &layer,
        Some("a.example.com:8080"),
        None,
        StatusCode::FORBIDDEN,
        "host",
    )
    .await;
    expect(
        &layer,
        Some("example.com:8443"),
        None,
        StatusCode::FORBIDDEN,
        "host",
    )
    .await;
    expect(
        &layer,
        Some("mcp.example.com:80"),
        None,
        StatusCode::FORBIDDEN,
        "host",
    )
    .await;
    expect(
        &layer,
        Some("mcp.example.com"),
        Some("http://app.example.com"),
        StatusCode::FORBIDDEN,
        "origin",
    )
    .await;
    expect(
        &layer,
        Some("mcp.example.com"),
        Some("https://app.example.com:8443"),
        StatusCode::FORBIDDEN,
        "origin",
    )
    .await;
}

#[test]
fn an_allowlist_that_admits_nothing_does_not_build() {
    let error = Allowlist::builder()
        .allow_origin("https://app.example.com")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("allows no host"), "{error}");
    let error = Allowlist::builder()
        .allow_host("127.0.0.1:*")
        .allow_host("*")
        .build()
        .unwrap_err();
    assert!(
        error.to_string().starts_with("allow_host(\"*\")"),
        "{error}"
    );
    let error = Allowlist::builder()
        .allow_public_url("https://mcp.example.com/?x=1")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("allow_public_url"), "{error}");
}
