//! What the session crate's integration tests share: the JSON-RPC bodies they
//! send, a stand-in handler that answers every request with a successful
//! InitializeResult, request building and body collecting, the principals
//! sessions are bound to, and (in [`stack`]) a real rmcp server behind the
//! session layer with the client side that talks to it. Every test binary
//! compiles all of it and uses a part, hence `dead_code` allowed here.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // each test uses a part

pub mod stack;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use mcp_guard_core::{GuardBody, Owner, Principal};

pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#;
pub const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
pub const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
pub const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;

/// A successful InitializeResult negotiating 2025-11-25.
pub const INITIALIZE_RESULT: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#;

/// A stateless handler that answers every request with [`INITIALIZE_RESULT`]:
/// enough for the session layer to open sessions and let requests through.
pub fn initialize_handler() -> impl tower::Service<
    Request<GuardBody<Full<Bytes>>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(|_: Request<GuardBody<Full<Bytes>>>| async {
        Ok::<_, Infallible>(
            Response::builder()
                .header("content-type", "application/json")
                .body(Full::from(INITIALIZE_RESULT))
                .unwrap(),
        )
    })
}

/// A JSON-RPC request to `/mcp` speaking 2025-11-25, in the session `id` if any.
pub fn request(method: Method, id: Option<&str>, body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::builder()
        .method(method)
        .uri("/mcp")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(id) = id {
        request = request.header("mcp-session-id", id);
    }
    request.body(Full::from(body)).unwrap()
}

/// The response with its body read to the end (an unreadable body reads as empty).
pub async fn collect<B: http_body::Body>(
    response: Response<B>,
) -> Result<Response<Bytes>, Infallible> {
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    Ok(Response::from_parts(parts, bytes))
}

/// The principal of `name`, a user of the client `app` at `https://issuer.test`.
pub fn principal(name: &str) -> Principal {
    Principal::new()
        .with_issuer("https://issuer.test")
        .with_subject(name)
        .with_client_id("app")
}

/// Who the sessions of [`principal`]`(name)` belong to.
pub fn owner(name: &str) -> Owner {
    principal(name).owner().clone()
}
