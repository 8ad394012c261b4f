//! A real rmcp server whose tools take `Authenticated`, behind real bearer
//! auth, called by the real rmcp client with signed tokens: each user
//! reads their own notes and not the others', an anonymous call is a clear
//! error, and an axum handler gets the same caller.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use mcp_bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard_extract::Authenticated;
use mcp_guard_test_support::jwt::{hs256_token, unix_now};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, ClientConfig, ServerCapabilities, ServerConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example";
const SECRET: &[u8] = b"a test secret that is at least 32 bytes long";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoteText {
    text: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoteId {
    id: u64,
}

/// Notes and their owners' keys, shared by every handler rmcp builds.
#[derive(Default)]
struct Store {
    notes: HashMap<u64, (String, String)>,
    next: u64,
}

#[derive(Clone)]
struct Notes {
    store: Arc<Mutex<Store>>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Notes {
    #[tool(description = "Keeps a note for the caller.")]
    fn note_create(
        &self,
        caller: Authenticated,
        Parameters(NoteText { text }): Parameters<NoteText>,
    ) -> Result<String, ErrorData> {
        let owner = caller
            .owner_key()
            .ok_or_else(|| ErrorData::invalid_request("the token names nobody", None))?;
        let mut store = self.store.lock().unwrap();
        store.next += 1;
        let id = store.next;
        store.notes.insert(id, (owner, text));
        Ok(id.to_string())
    }

    #[tool(description = "Reads one of the caller's notes.")]
    fn note_read(
        &self,
        caller: Authenticated,
        Parameters(NoteId { id }): Parameters<NoteId>,
    ) -> Result<String, ErrorData> {
        let store = self.store.lock().unwrap();
        match store.notes.get(&id) {
            Some((owner, text)) if caller.owns(owner) => Ok(text.clone()),
            _ => Err(ErrorData::invalid_params(
                format!("you have no note {id}"),
                None,
            )),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn verifier(resource: &str) -> JwtVerifier {
    JwtVerifier::builder(ISSUER, resource)
        .hs256_secret(SECRET)
        .build()
        .unwrap()
}

fn token(resource: &str, subject: &str) -> String {
    let claims = json!({"iss": ISSUER, "sub": subject, "aud": resource,
        "exp": unix_now() + 600, "scope": "mcp"});
    hs256_token(&claims, SECRET)
}

/// The notes server at `/mcp`, with `guarded` deciding whether bearer auth
/// runs in front; its URL.
async fn serve(guarded: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
    let store = Arc::new(Mutex::new(Store::default()));
    let rmcp = StreamableHttpService::new(
        move || {
            Ok(Notes {
                store: store.clone(),
                tool_router: Notes::tool_router(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .disable_allowed_hosts(),
    );
    let app = if guarded {
        let layer = BearerAuthLayer::new(
            verifier(&resource),
            ProtectedResourceMetadata::new(&resource, [ISSUER]),
        );
        Router::new().route_service("/mcp", tower::Layer::layer(&layer, rmcp))
    } else {
        Router::new().route_service("/mcp", rmcp)
    };
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    resource
}

async fn client_of(
    url: &str,
    token: Option<String>,
) -> rmcp::service::RunningService<rmcp::RoleClient, ClientConfig> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("the client connects")
}

fn call(name: &'static str, arguments: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(arguments.as_object().unwrap().clone())
}

fn text_of(result: &rmcp::model::CallToolResult) -> String {
    result.content[0].as_text().unwrap().text.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_reads_their_own_notes_and_not_the_others() {
    let url = serve(true).await;
    let alice = client_of(&url, Some(token(&url, "alice"))).await;
    let bob = client_of(&url, Some(token(&url, "bob"))).await;

    let created = alice
        .call_tool(call("note_create", json!({"text": "alice's secret"})))
        .await
        .unwrap();
    let id: u64 = text_of(&created).parse().unwrap();

    let read = alice
        .call_tool(call("note_read", json!({"id": id})))
        .await
        .unwrap();
    assert_eq!(text_of(&read), "alice's secret");

    let refused = bob
        .call_tool(call("note_read", json!({"id": id})))
        .await
        .expect_err("bob may not read alice's note");
    let message = refused.to_string();
    assert!(
        message.contains(&format!("you have no note {id}")),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_reached_without_bearer_auth_says_what_is_missing() {
    let url = serve(false).await;
    let anonymous = client_of(&url, None).await;
    let refused = anonymous
        .call_tool(call("note_create", json!({"text": "x"})))
        .await
        .expect_err("no principal, no note");
    let message = refused.to_string();
    assert!(
        message.contains("needs an authenticated caller"),
        "{message}"
    );
    assert!(message.contains("bearer auth"), "{message}");
}

#[tokio::test]
async fn an_axum_handler_gets_the_caller_or_a_401_without_one() {
    async fn me(caller: Authenticated) -> String {
        caller.principal().subject().unwrap_or_default().to_owned()
    }
    async fn hello(caller: Option<Authenticated>) -> &'static str {
        if caller.is_some() {
            "welcome back"
        } else {
            "hello, stranger"
        }
    }
    let resource = "http://127.0.0.1/api";
    let routes = || {
        Router::new()
            .route("/me", axum::routing::get(me))
            .route("/hello", axum::routing::get(hello))
    };
    let guarded = routes().layer(BearerAuthLayer::new(
        verifier(resource),
        ProtectedResourceMetadata::new(resource, [ISSUER]),
    ));
    let get = |path: &str, token: Option<String>| {
        let mut request = http::Request::get(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(axum::body::Body::empty()).unwrap()
    };
    let body = |response: http::Response<axum::body::Body>| async move {
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    };

    let response = tower::ServiceExt::oneshot(guarded, get("/me", Some(token(resource, "carol"))))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, "carol");

    // Without bearer auth in front: a 401 JSON-RPC error that says why.
    let response = tower::ServiceExt::oneshot(routes(), get("/me", None))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let error: Value = serde_json::from_str(&body(response).await).unwrap();
    assert_eq!(error["error"]["code"], -32600);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs an authenticated caller"),
        "{error}"
    );
    // `Option<Authenticated>` never rejects.
    let response = tower::ServiceExt::oneshot(routes(), get("/hello", None))
        .await
        .unwrap();
    assert_eq!(body(response).await, "hello, stranger");
}
