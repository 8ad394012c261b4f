//! The preset in an axum app with other routes: `/healthz` and a static file
//! answer as if no guard were there, while `/mcp` is guarded (a rebinding
//! `Host` 403, a wrong `Content-Type` 415). Both ways are checked over real
//! HTTP: the whole `Router` layered with `McpGuard::…().endpoint("/mcp")`, and
//! the guard around the MCP service alone with `route_service`.

#![cfg(all(feature = "origin-guard", feature = "protocol-guard"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use axum::Router;
use axum::routing::get;
use mcp_guard::McpGuard;
use reqwest::StatusCode;
use serde_json::json;

/// A stand-in MCP handler: answers every JSON-RPC request with an empty
/// result, so what the test sees at `/mcp` is the guards' doing.
fn mcp_handler() -> axum::routing::MethodRouter {
    axum::routing::post(|body: String| async move {
        let request: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        axum::Json(json!({"jsonrpc": "2.0", "id": request["id"], "result": {}}))
    })
}

/// The other routes of the app: a health check and a static file.
fn other_routes() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/static/app.js",
            get(|| async { ([("content-type", "text/javascript")], "console.log(1)") }),
        )
}

async fn serve(app: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// What the app answers: the other routes as if unguarded, `/mcp` guarded.
async fn check_scoping(port: u16, how: &str) {
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    // A load balancer's probe: its own Host, no Accept, no MCP headers.
    for host in [format!("127.0.0.1:{port}"), "10.0.0.7:8080".to_owned()] {
        let health = http
            .get(format!("{base}/healthz"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(
            health.status(),
            StatusCode::OK,
            "{how}: /healthz, Host {host}"
        );
        assert_eq!(health.text().await.unwrap(), "ok", "{how}");
    }
    // A browser fetching a static file.
    let script = http
        .get(format!("{base}/static/app.js"))
        .header("accept", "*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK, "{how}: static file");
    assert_eq!(script.text().await.unwrap(), "console.log(1)", "{how}");

    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let post = |host: String, content_type: &'static str| {
        http.post(format!("{base}/mcp"))
            .header("host", host)
            .header("content-type", content_type)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(ping.clone())
            .send()
    };
    let rebinding = post(format!("attacker.example:{port}"), "application/json")
        .await
        .unwrap();
    assert_eq!(
        rebinding.status(),
        StatusCode::FORBIDDEN,
        "{how}: a rebinding Host at /mcp"
    );
    let wrong_type = post(format!("127.0.0.1:{port}"), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        wrong_type.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{how}: a text/plain body at /mcp"
    );
}

#[tokio::test]
async fn router_layer_with_the_endpoint_guards_mcp_and_leaves_other_routes_alone() {
    let guard = McpGuard::local().endpoint("/mcp").build().unwrap();
    let app = other_routes().route("/mcp", mcp_handler()).layer(guard);
    check_scoping(serve(app).await, "Router::layer(…endpoint(\"/mcp\"))").await;
}

#[tokio::test]
async fn route_service_guards_mcp_and_leaves_other_routes_alone() {
    let guard = McpGuard::local().build().unwrap();
    let mcp = tower::ServiceBuilder::new()
        .layer(guard)
        .service(mcp_handler().with_state::<()>(()));
    let app = other_routes().route_service("/mcp", mcp);
    check_scoping(serve(app).await, "route_service(\"/mcp\", …)").await;
}

#[tokio::test]
async fn an_endpoint_that_is_not_an_absolute_path_is_refused_at_build() {
    for endpoint in ["mcp", "", "http://127.0.0.1/mcp", "/mcp?x=1"] {
        let error = McpGuard::local().endpoint(endpoint).build().unwrap_err();
        assert_eq!(error.setting(), "endpoint", "{endpoint:?}");
    }
}

/// The remote preset's RFC 9728 document is served through the scoped guard
/// without a route of its own, and the MCP endpoint still needs a token.
#[cfg(feature = "jwks")]
#[tokio::test]
async fn the_scoped_remote_preset_serves_its_metadata_and_still_guards_mcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let public_url = format!("http://127.0.0.1:{port}/mcp");
    let guard = McpGuard::remote(&public_url)
        .issuer("https://auth.example")
        .jwks_url("https://auth.example/jwks")
        .endpoint("/mcp")
        .build()
        .unwrap();
    let app = other_routes().route("/mcp", mcp_handler()).layer(guard);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let metadata = http
        .get(format!(
            "http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    let document: serde_json::Value = metadata.json().await.unwrap();
    assert_eq!(document["resource"], public_url);
    let tokenless = http
        .post(&public_url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(tokenless.status(), StatusCode::UNAUTHORIZED);
    let health = http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
